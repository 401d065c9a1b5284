package edgekit.core

import java.text.BreakIterator
import java.util.Locale

/** A device profile as a TOML file of `bench/profiles/` writes one: threads, memory budget, goals
 *  (`max_file_mb`, `max_p95_ms_at_<length>`). */
data class Profile(val name: String, val threads: Int, val memoryMb: Int?,
                   val goals: Map<String, Double>, val extra: Map<String, Any?> = emptyMap())

/** One model measured on the phone, the way `bench/child.py` measures on a host: the times
 *  of every run at each sequence length, first inference at 32 tokens, one-at-a-time
 *  throughput with tokenisation, and the process's resident memory before loading and at
 *  its peak (`VmHWM`). */
data class Measurement(val loadMs: Double, val firstInferenceMs: Double,
                       val runsMs: Map<Int, List<Double>>, val sentencesPerS: Double,
                       val baseRssMb: Double, val peakRssMb: Double)

/** The `edgekit.bench/1` report, exactly as `bench/run.py` writes it, for the app's
 *  benchmark screen: the same keys and types, so `bench/report.py` renders it. */
object BenchReport {
    const val SCHEMA = "edgekit.bench/1"
    val LENGTHS = listOf(8, 32, 128)

    /** numpy's default percentile: linear interpolation between the closest ranks. */
    fun percentile(values: List<Double>, p: Double): Double {
        require(values.isNotEmpty()) { "no values" }
        val sorted = values.sorted()
        val rank = p / 100.0 * (sorted.size - 1)
        val lo = Math.floor(rank).toInt()
        val hi = Math.ceil(rank).toInt()
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
    }

    /** This process's /proc/self/status (read as a stream: /proc files report length 0). */
    fun procStatus(): String = java.io.File("/proc/self/status").bufferedReader().use { it.readText() }

    /** The process's peak resident set (MB) from the text of /proc/self/status. */
    fun peakRssMb(procStatus: String): Double = statusMb(procStatus, "VmHWM")

    fun statusMb(procStatus: String, field: String): Double =
        procStatus.lineSequence().firstOrNull { it.startsWith("$field:") }
            ?.split(Regex("\\s+"))?.getOrNull(1)?.toDoubleOrNull()?.div(1024.0)
            ?: throw IllegalArgumentException("no $field line in /proc/self/status")

    /** Sentences of a text for the throughput run, split by the JDK's rules (". ", "。", "?",
     *  abbreviations), independent of the phone's language. */
    fun sentences(text: String): List<String> {
        val it = BreakIterator.getSentenceInstance(Locale.ROOT)
        it.setText(text)
        val out = ArrayList<String>()
        var start = it.first()
        var end = it.next()
        while (end != BreakIterator.DONE) {
            text.substring(start, end).trim().takeIf { s -> s.isNotEmpty() }?.let(out::add)
            start = end
            end = it.next()
        }
        return out
    }

    private fun round(v: Double, digits: Int): Double {
        val f = Math.pow(10.0, digits.toDouble())
        return Math.round(v * f) / f
    }

    /** The result row of one model (`bench.run.measure` + `bench.child.measure`). */
    fun row(profile: Profile, runtime: String, precision: String, file: String, fileBytes: Long,
            m: Measurement): Map<String, Any?> {
        val latency = LinkedHashMap<String, Any?>()
        for ((length, runs) in m.runsMs.toSortedMap()) {
            latency["$length"] = linkedMapOf("p50" to round(percentile(runs, 50.0), 3),
                "p95" to round(percentile(runs, 95.0), 3), "p99" to round(percentile(runs, 99.0), 3),
                "runs" to runs.size)
        }
        return linkedMapOf("profile" to profile.name, "role" to "student", "runtime" to runtime,
            "precision" to precision, "file" to file, "file_mb" to round(fileBytes / 1e6, 2),
            "status" to "ok", "load_ms" to round(m.loadMs, 2),
            "first_inference_ms" to round(m.firstInferenceMs, 2), "latency_ms" to latency,
            "sentences_per_s" to round(m.sentencesPerS, 1), "peak_rss_mb" to round(m.peakRssMb, 1),
            "model_rss_mb" to round(m.peakRssMb - m.baseRssMb, 1))
    }

    /** The profile's goals for the row (`bench.run.check_goals`). */
    fun goals(profile: Profile, row: Map<String, Any?>, maxLen: Int): List<Map<String, Any?>> {
        val name = "${row["runtime"]}-${row["precision"]}"
        val out = ArrayList<Map<String, Any?>>()
        out += linkedMapOf("goal" to "fits the memory budget", "limit" to "${profile.memoryMb} MB",
            "value" to row["model_rss_mb"], "ok" to (row["status"] == "ok"))
        profile.goals["max_file_mb"]?.let { limit ->
            val mb = row["file_mb"] as Double
            out += linkedMapOf("goal" to "file size (MB)", "limit" to limit, "value" to mb, "ok" to (mb <= limit))
        }
        @Suppress("UNCHECKED_CAST") val latency = row["latency_ms"] as Map<String, Map<String, Any?>>
        for (length in LENGTHS) {
            val limit = profile.goals["max_p95_ms_at_$length"] ?: continue
            if (length > maxLen) continue
            val value = latency["$length"]?.get("p95") as Double?
            out += linkedMapOf("goal" to "p95 latency at $length tokens (ms)", "limit" to limit,
                "value" to value, "ok" to (value != null && value <= limit))
        }
        return out.map { it + mapOf("profile" to profile.name, "model" to name) }
    }

    /** The whole report: one profile, the student alone (no teacher on the phone). */
    fun report(bundle: Bundle, profile: Profile, runtime: String, m: Measurement, created: String,
               platform: String, processor: String, coresAvailable: Int, runsPerLength: Int
    ): Map<String, Any?> {
        val model = bundle.manifest["models"].arr().map { it.obj() }.first { it["runtime"] == runtime }
        val file = model["file"] as String
        val fileBytes = (bundle.manifest["files"].obj()[file].obj()["size"] as Double).toLong()
        val row = row(profile, runtime, model["precision"] as String, file, fileBytes, m)
        val goals = goals(profile, row, bundle.maxSeqLen)
        val size = bundle.manifest["size"].obj()
        val profileJson = linkedMapOf<String, Any?>("name" to profile.name) + profile.extra +
            linkedMapOf("threads" to profile.threads, "memory_mb" to profile.memoryMb,
                "goals" to profile.goals, "cores_used" to minOf(profile.threads, coresAvailable))
        return linkedMapOf(
            "schema" to SCHEMA, "created" to created,
            "host" to linkedMapOf("platform" to platform, "processor" to processor,
                "cores_available" to coresAvailable, "python" to null),
            "note" to "Measured on the phone by the edgekit demo app, one thread per profile thread.",
            "runs_per_length" to runsPerLength,
            "profiles" to listOf(profileJson),
            "student" to linkedMapOf("folder" to bundle.folder.path,
                "source" to bundle.manifest["source"].obj()["name"],
                "parameters" to (size["parameters"] as Double).toLong(),
                "quality" to (bundle.manifest["quality"] ?: emptyMap<String, Any?>())),
            "teacher" to null, "results" to listOf(row), "ratios" to emptyList<Any?>(),
            "emulated_note" to "No emulated rows: measured on the phone itself.",
            "emulated" to emptyList<Any?>(), "goals" to goals, "passed" to goals.all { it["ok"] == true })
    }
}
