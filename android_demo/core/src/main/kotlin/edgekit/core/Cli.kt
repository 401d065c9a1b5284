package edgekit.core

import java.io.File
import kotlin.system.exitProcess

private fun fail(message: String): Nothing {
    System.err.println(message)
    exitProcess(2)
}

/** `tokenize TOKENIZER_JSON TEXT_FILE`: one JSON array of token ids per input line.
 *  `bench-report BUNDLE MEASUREMENT_JSON OUT_JSON`: the app's benchmark report for a
 *  measurement (`{"profile": {...}, "runtime", "load_ms", "first_inference_ms", "runs_ms":
 *  {"8": [...]}, "sentences_per_s", "base_rss_mb", "peak_rss_mb"}`), as the app writes it. */
fun main(args: Array<String>) {
    when {
        args.size == 4 && args[0] == "bench-report" -> benchReport(File(args[1]), File(args[2]), File(args[3]))
        args.size == 2 -> tokenize(args[0], args[1])
        else -> fail("usage: tokenize TOKENIZER_JSON TEXT_FILE | bench-report BUNDLE MEASUREMENT_JSON OUT_JSON")
    }
}

private fun tokenize(tokenizerJson: String, textFile: String) {
    val tokenizer = try {
        Tokenizer.fromFile(tokenizerJson)
    } catch (e: Exception) {
        fail("tokenize: error: cannot read $tokenizerJson: ${e.message}")
    }
    val file = File(textFile)
    if (!file.isFile) fail("tokenize: error: no such file $textFile")
    val out = System.out.bufferedWriter()
    file.forEachLine(Charsets.UTF_8) { line ->
        out.write(tokenizer.encode(line).ids.joinToString(",", "[", "]"))
        out.newLine()
    }
    out.flush()
}

private fun benchReport(bundleDir: File, measurementFile: File, out: File) {
    val bundle = try { Bundle.load(bundleDir) } catch (e: BundleException) { fail("bench-report: error: ${e.message}") }
    val m = Json.parse(measurementFile.readText()).obj()
    val p = m["profile"].obj()
    fun num(map: Map<String, Any?>, key: String) = map[key] as Double
    val profile = Profile(p["name"] as String, num(p, "threads").toInt(), (p["memory_mb"] as Double?)?.toInt(),
        p["goals"].obj().mapValues { it.value as Double },
        p.filterKeys { it !in setOf("name", "threads", "memory_mb", "goals", "cores_used") })
    val runs = m["runs_ms"].obj().entries.associate { (k, v) -> k.toInt() to v.arr().map { it as Double } }
    val measurement = Measurement(num(m, "load_ms"), num(m, "first_inference_ms"), runs,
        num(m, "sentences_per_s"), num(m, "base_rss_mb"), num(m, "peak_rss_mb"))
    val report = BenchReport.report(bundle, profile, m["runtime"] as String, measurement,
        "2026-01-01T00:00:00+0000", "JVM ${System.getProperty("java.version")}", "jvm",
        Runtime.getRuntime().availableProcessors(), runs.values.first().size)
    out.writeText(JsonWriter.write(report), Charsets.UTF_8)
}
