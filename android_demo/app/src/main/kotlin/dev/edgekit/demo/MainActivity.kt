package dev.edgekit.demo

import android.app.Activity
import android.os.Build
import android.os.Bundle as AndroidBundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import android.graphics.Color
import android.text.SpannableString
import android.text.Spanned
import android.text.style.BackgroundColorSpan
import edgekit.core.cosine
import java.io.File
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import kotlin.concurrent.thread

/** Four screens: similarity of two sentences, semantic search over a shipped list, named
 *  entities highlighted in typed text (the NER bundle), and an on-device benchmark writing
 *  the `edgekit.bench/1` report. Plain views, no layouts. */
class MainActivity : Activity() {
    private var encoder: Encoder? = null
    private var tagger: Tagger? = null
    private lateinit var content: LinearLayout
    private lateinit var status: TextView

    override fun onCreate(savedInstanceState: AndroidBundle?) {
        super.onCreate(savedInstanceState)
        val root = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; setPadding(24, 24, 24, 24) }
        val tabs = LinearLayout(this)
        tabs.addView(button("Similarity") { showSimilarity() })
        tabs.addView(button("Search") { showSearch() })
        tabs.addView(button("Entities") { showEntities() })
        tabs.addView(button("Benchmark") { showBenchmark() })
        status = TextView(this)
        content = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        root.addView(tabs)
        root.addView(status)
        root.addView(ScrollView(this).apply { addView(content) })
        setContentView(root)
        status.text = "Loading the bundle…"
        thread {
            val message = try {
                val e = Encoder.load(this)
                encoder = e
                "Bundle ready: ${e.bundle.manifest["teacher"]} → ${e.dim}-d, loaded in %.0f ms".format(e.loadMs)
            } catch (t: Throwable) {
                "Cannot use the bundle: ${t.message}"
            }
            runOnUiThread { status.text = message; showSimilarity() }
        }
    }

    private fun button(label: String, onClick: () -> Unit) =
        Button(this).apply { text = label; setOnClickListener { onClick() } }

    private fun ready(): Encoder? = encoder ?: run {
        status.text = status.text.toString().ifEmpty { "The bundle is not loaded." }
        null
    }

    /** Runs `work` off the UI thread and shows its result or its error, never crashes. */
    private fun background(out: TextView, work: () -> String) {
        out.text = "…"
        thread {
            val text = try { work() } catch (t: Throwable) { "Error: ${t.message}" }
            runOnUiThread { out.text = text }
        }
    }

    private fun showSimilarity() {
        content.removeAllViews()
        val a = EditText(this).apply { hint = "A sentence, any language" }
        val b = EditText(this).apply { hint = "Another sentence" }
        val result = TextView(this)
        content.addView(a); content.addView(b)
        content.addView(button("Compare") {
            val e = ready() ?: return@button
            val ta = a.text.toString(); val tb = b.text.toString()
            if (ta.isBlank() || tb.isBlank()) { result.text = "Type two sentences."; return@button }
            background(result) { "Similarity: %.3f".format(cosine(e.embed(ta), e.embed(tb))) }
        })
        content.addView(result)
    }

    private fun showSearch() {
        content.removeAllViews()
        val query = EditText(this).apply { hint = "Search the sentences below" }
        val result = TextView(this)
        val sentences = assets.open("demo_sentences.txt").bufferedReader().readLines().filter { it.isNotBlank() }
        var index: List<FloatArray>? = null
        content.addView(query)
        content.addView(button("Search") {
            val e = ready() ?: return@button
            val q = query.text.toString()
            if (q.isBlank()) { result.text = "Type a query."; return@button }
            background(result) {
                val vectors = index ?: sentences.map { e.embed(it) }.also { index = it }
                val qv = e.embed(q)
                sentences.indices.sortedByDescending { cosine(qv, vectors[it]) }
                    .joinToString("\n") { "%.3f  %s".format(cosine(qv, vectors[it]), sentences[it]) }
            }
        })
        content.addView(result)
        result.text = sentences.joinToString("\n")
    }

    private fun showEntities() {
        content.removeAllViews()
        val input = EditText(this).apply { hint = "Angela Merkel besuchte Paris und traf Vertreter von Siemens." }
        val result = TextView(this).apply { textSize = 18f }
        val list = TextView(this)
        content.addView(input)
        content.addView(button("Find entities") {
            val text = input.text.toString().ifBlank { input.hint.toString() }
            result.text = "…"
            thread {
                val shown: Pair<CharSequence, String> = try {
                    val t = tagger ?: Tagger.load(this).also { tagger = it }
                    val found = t.entities(text)
                    val spans = SpannableString(text)
                    for (e in found) spans.setSpan(BackgroundColorSpan(COLORS[e.type] ?: Color.LTGRAY),
                        e.start, e.end, Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
                    spans to (if (found.isEmpty()) "No entities found." else
                        found.joinToString("\n") { "${it.type}: ${text.substring(it.start, it.end)}" })
                } catch (t: Throwable) {
                    text to "Cannot tag: ${t.message}"
                }
                runOnUiThread { result.text = shown.first; list.text = shown.second }
            }
        })
        content.addView(result)
        content.addView(list)
    }

    private fun showBenchmark() {
        content.removeAllViews()
        val result = TextView(this)
        content.addView(button("Run benchmark") {
            val e = ready() ?: return@button
            background(result) { runBenchmark(e) }
        })
        content.addView(result)
    }

    /** The same measurements and report schema as `edgekit bench` (one "device" profile). */
    private fun runBenchmark(e: Encoder): String {
        val passage = assets.open("demo_sentences.txt").bufferedReader().readText().replace('\n', ' ')
        val ids = e.tokenize(passage)
        val runs = 50
        val latency = LinkedHashMap<String, Any>()
        var first = 0.0
        for (n in listOf(8, 32, 128).filter { it <= e.bundle.maxSeqLen }) {
            val seq = LongArray(n) { i -> if (i == n - 1) ids.last() else ids[minOf(i, ids.size - 2)] }
            val t0 = System.nanoTime(); e.embed(seq)
            if (n == 8) first = (System.nanoTime() - t0) / 1e6
            repeat(5) { e.embed(seq) }
            val ms = (1..runs).map { val t = System.nanoTime(); e.embed(seq); (System.nanoTime() - t) / 1e6 }.sorted()
            fun pct(p: Double) = ms[minOf(ms.size - 1, (p / 100 * (ms.size - 1)).toInt())]
            latency["$n"] = mapOf("p50" to pct(50.0), "p95" to pct(95.0), "p99" to pct(99.0), "runs" to runs)
        }
        val texts = passage.split(". ").filter { it.isNotBlank() }
        val t = System.nanoTime()
        texts.forEach { e.embed(it) }
        val perSecond = texts.size / ((System.nanoTime() - t) / 1e9)
        val pte = e.bundle.modelFile("executorch")!!
        val peakMb = Runtime.getRuntime().totalMemory() / 1e6
        val cores = Runtime.getRuntime().availableProcessors()
        val row = mapOf("profile" to "device", "role" to "student", "runtime" to "executorch",
            "precision" to precisionOf(e), "file" to pte.name, "file_mb" to pte.length() / 1e6,
            "status" to "ok", "load_ms" to e.loadMs, "first_inference_ms" to first,
            "latency_ms" to latency, "sentences_per_s" to perSecond, "peak_rss_mb" to peakMb,
            "model_rss_mb" to null)
        val report = mapOf("schema" to "edgekit.bench/1",
            "created" to SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ", Locale.ROOT).format(Date()),
            "host" to mapOf("platform" to "Android ${Build.VERSION.RELEASE} ${Build.MODEL}",
                "processor" to Build.HARDWARE, "cores_available" to cores, "python" to null),
            "note" to "Measured on the phone; peak_rss_mb is the Java heap, not the process RSS.",
            "runs_per_length" to runs,
            "profiles" to listOf(mapOf("name" to "device", "threads" to cores, "memory_mb" to null,
                "cores_used" to cores, "goals" to emptyMap<String, Any>())),
            "student" to mapOf("folder" to e.bundle.folder.path, "source" to e.bundle.manifest["source"],
                "parameters" to null, "quality" to e.bundle.manifest["quality"]),
            "teacher" to null, "results" to listOf(row), "ratios" to emptyList<Any>(),
            "goals" to emptyList<Any>(), "passed" to true)
        val file = File(getExternalFilesDir(null) ?: filesDir, "report.json")
        file.writeText(toJson(report))
        return latency.entries.joinToString("\n") { (n, v) -> "$n tokens: p50 %.1f ms".format((v as Map<*, *>)["p50"]) } +
            "\n%.0f sentences/s\nreport: ${file.path}".format(perSecond)
    }

    private fun precisionOf(e: Encoder): String = (e.bundle.manifest["models"] as List<*>)
        .map { it as Map<*, *> }.first { it["runtime"] == "executorch" }["precision"] as String

    private fun toJson(v: Any?): String = when (v) {
        null -> "null"
        is String -> "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""
        is Number, is Boolean -> v.toString()
        is Map<*, *> -> v.entries.joinToString(",", "{", "}") { toJson(it.key.toString()) + ":" + toJson(it.value) }
        is List<*> -> v.joinToString(",", "[", "]") { toJson(it) }
        else -> toJson(v.toString())
    }

    companion object {
        private val COLORS = mapOf("PER" to Color.rgb(255, 214, 102), "LOC" to Color.rgb(140, 220, 160),
            "ORG" to Color.rgb(150, 190, 255))
    }
}
