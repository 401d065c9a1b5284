package dev.edgekit.demo

import android.app.Activity
import android.graphics.Color
import android.os.Build
import android.os.Bundle as AndroidBundle
import android.text.SpannableString
import android.text.Spanned
import android.text.style.BackgroundColorSpan
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import edgekit.core.BenchReport
import edgekit.core.JsonWriter
import edgekit.core.Measurement
import edgekit.core.Profile
import edgekit.core.cosine
import java.io.File
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale

/** Four screens: similarity of two sentences, semantic search over a shipped list, named
 *  entities highlighted in typed text (the NER bundle), and an on-device benchmark writing
 *  the `edgekit.bench/1` report. Plain views, no layouts. Models and results live in
 *  [Models] (once per process); this Activity only shows them, and keeps the open screen and
 *  what was typed across a rotation. */
class MainActivity : Activity() {
    private lateinit var content: LinearLayout
    private lateinit var status: TextView
    private var screen = "similarity"
    private val inputs = HashMap<String, EditText>()
    private val outputs = HashMap<String, TextView>()

    override fun onCreate(savedInstanceState: AndroidBundle?) {
        super.onCreate(savedInstanceState)
        val root = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; setPadding(24, 24, 24, 24) }
        val tabs = LinearLayout(this)
        for ((key, label) in SCREENS) tabs.addView(button(label) { show(key) })
        status = TextView(this)
        content = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL }
        root.addView(tabs)
        root.addView(status)
        root.addView(ScrollView(this).apply { addView(content) })
        setContentView(root)
        Models.observer = { key -> render(key) }
        show(savedInstanceState?.getString("screen") ?: "similarity", savedInstanceState)
        if ("status" !in Models.results) Models.run("status") {
            val e = Models.encoder(applicationContext)
            "Bundle ready: ${e.bundle.manifest["teacher"]} → ${e.dim}-d, loaded in %.0f ms".format(e.loadMs)
        } else render("status")
    }

    override fun onSaveInstanceState(out: AndroidBundle) {
        super.onSaveInstanceState(out)
        out.putString("screen", screen)
        for ((key, view) in inputs) out.putString("input.$key", view.text.toString())
    }

    override fun onDestroy() {
        if (Models.observer != null && isFinishing) Models.release()
        Models.observer = null
        super.onDestroy()
    }

    private fun render(key: String) {
        val text = Models.results[key] ?: return
        if (key == "status") status.text = text
        if (key == "entities") showEntities(text)
        else outputs[key]?.text = text
    }

    private fun button(label: String, onClick: () -> Unit) =
        Button(this).apply { text = label; setOnClickListener { onClick() } }

    private fun input(key: String, hint: String, saved: AndroidBundle?) = EditText(this).apply {
        this.hint = hint
        saved?.getString("input.$key")?.let { setText(it) }
        inputs[key] = this
    }

    private fun output(key: String) = TextView(this).apply { outputs[key] = this }

    private fun show(key: String, saved: AndroidBundle? = null) {
        screen = key
        content.removeAllViews()
        inputs.clear(); outputs.clear()
        when (key) {
            "similarity" -> showSimilarity(saved)
            "search" -> showSearch(saved)
            "entities" -> showEntitiesScreen(saved)
            else -> showBenchmark()
        }
        for (k in outputs.keys.toList()) render(k)
    }

    private fun showSimilarity(saved: AndroidBundle?) {
        val a = input("a", "A sentence, any language", saved)
        val b = input("b", "Another sentence", saved)
        content.addView(a); content.addView(b)
        content.addView(button("Compare") {
            val ta = a.text.toString(); val tb = b.text.toString()
            if (ta.isBlank() || tb.isBlank()) { outputs["similarity"]?.text = "Type two sentences."; return@button }
            val context = applicationContext
            Models.run("similarity") {
                val e = Models.encoder(context)
                "Similarity: %.3f".format(cosine(e.embed(ta), e.embed(tb)))
            }
        })
        content.addView(output("similarity"))
    }

    private fun showSearch(saved: AndroidBundle?) {
        val query = input("query", "Search the sentences below", saved)
        content.addView(query)
        content.addView(button("Search") {
            val q = query.text.toString()
            if (q.isBlank()) { outputs["search"]?.text = "Type a query."; return@button }
            val context = applicationContext
            Models.run("search") {
                val e = Models.encoder(context)
                val sentences = demoSentences(context)
                val vectors = searchIndex ?: sentences.map { e.embed(it) }.also { searchIndex = it }
                val qv = e.embed(q)
                sentences.indices.sortedByDescending { cosine(qv, vectors[it]) }
                    .joinToString("\n") { "%.3f  %s".format(cosine(qv, vectors[it]), sentences[it]) }
            }
        })
        content.addView(output("search"))
        if ("search" !in Models.results) outputs["search"]?.text = demoSentences(this).joinToString("\n")
    }

    private fun showEntitiesScreen(saved: AndroidBundle?) {
        val input = input("entities", "Angela Merkel besuchte Paris und traf Vertreter von Siemens.", saved)
        content.addView(input)
        content.addView(button("Find entities") {
            val text = input.text.toString().ifBlank { input.hint.toString() }
            val context = applicationContext
            Models.run("entities") {
                val found = Models.tagger(context).entities(text)
                // the text, then one line per entity: "TYPE start end"; drawn by showEntities
                (listOf(text) + found.map { "${it.type} ${it.start} ${it.end}" }).joinToString("\n")
            }
        })
        content.addView(output("entities-text").apply { textSize = 18f })
        content.addView(output("entities-list"))
        Models.results["entities"]?.let { showEntities(it) }
    }

    /** Highlights the entities of a tagging result (see showEntitiesScreen). */
    private fun showEntities(result: String) {
        val shown = outputs["entities-text"] ?: return
        val list = outputs["entities-list"] ?: return
        val lines = result.split("\n")
        if (lines.size == 1 || result.startsWith("Error: ")) { shown.text = ""; list.text = result; return }
        val text = lines[0]
        val spans = SpannableString(text)
        val names = ArrayList<String>()
        for (line in lines.drop(1)) {
            val (type, start, end) = line.split(" ")
            spans.setSpan(BackgroundColorSpan(COLORS[type] ?: Color.LTGRAY), start.toInt(), end.toInt(),
                Spanned.SPAN_EXCLUSIVE_EXCLUSIVE)
            names += "$type: ${text.substring(start.toInt(), end.toInt())}"
        }
        shown.text = spans
        list.text = if (names.isEmpty()) "No entities found." else names.joinToString("\n")
    }

    private fun showBenchmark() {
        content.addView(button("Run benchmark") {
            val context = applicationContext
            Models.run("benchmark") { runBenchmark(context) }
        })
        content.addView(output("benchmark"))
    }

    companion object {
        private val SCREENS = listOf("similarity" to "Similarity", "search" to "Search",
            "entities" to "Entities", "benchmark" to "Benchmark")
        private val COLORS = mapOf("PER" to Color.rgb(255, 214, 102), "LOC" to Color.rgb(140, 220, 160),
            "ORG" to Color.rgb(150, 190, 255))
        /** The host benchmark's mid-range profile (bench/profiles/mid-range.toml): its goals
         *  are what the phone's report checks. */
        private val PHONE = Profile("mid-range", 2, 512,
            mapOf("max_file_mb" to 16.0, "max_p95_ms_at_32" to 20.0, "max_p95_ms_at_128" to 80.0),
            mapOf("phone_class" to "this phone (${Build.MANUFACTURER} ${Build.MODEL})"))
        private const val RUNS = 50
        private var searchIndex: List<FloatArray>? = null

        private fun demoSentences(context: android.content.Context): List<String> =
            context.assets.open("demo_sentences.txt").bufferedReader().readLines().filter { it.isNotBlank() }

        /** The measurements of `bench/child.py` on the phone, written as `edgekit.bench/1`. */
        private fun runBenchmark(context: android.content.Context): String {
            val e = Models.encoder(context)
            val passage = demoSentences(context).joinToString(" ")
            val ids = e.tokenize(passage)
            fun sequence(n: Int) = LongArray(n) { i -> if (i == n - 1) ids.last() else ids[minOf(i, ids.size - 2)] }
            val t0 = System.nanoTime(); e.embed(sequence(minOf(32, e.bundle.maxSeqLen)))
            val first = (System.nanoTime() - t0) / 1e6
            val runs = LinkedHashMap<Int, List<Double>>()
            for (n in BenchReport.LENGTHS.filter { it <= e.bundle.maxSeqLen }) {
                val seq = sequence(n)
                repeat(5) { e.embed(seq) }
                runs[n] = (1..RUNS).map { val t = System.nanoTime(); e.embed(seq); (System.nanoTime() - t) / 1e6 }
            }
            val texts = BenchReport.sentences(passage)
            val t = System.nanoTime()
            texts.forEach { e.embed(it) }
            val perSecond = texts.size / ((System.nanoTime() - t) / 1e9)
            val peak = BenchReport.peakRssMb(BenchReport.procStatus())
            val m = Measurement(e.loadMs, first, runs, perSecond, e.rssBeforeLoadMb, peak)
            val cores = Runtime.getRuntime().availableProcessors()
            val report = BenchReport.report(e.bundle, PHONE, "executorch", m,
                SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ", Locale.ROOT).format(Date()),
                "Android ${Build.VERSION.RELEASE} ${Build.MODEL}", Build.HARDWARE, cores, RUNS)
            val file = File(context.getExternalFilesDir(null) ?: context.filesDir, "report.json")
            val partial = File(file.path + ".partial")
            partial.writeText(JsonWriter.write(report))
            partial.renameTo(file)
            @Suppress("UNCHECKED_CAST")
            val latency = (report["results"] as List<Map<String, Any?>>)[0]["latency_ms"] as Map<String, Map<String, Any?>>
            val goals = if (report["passed"] == true) "all goals met" else "goals failed"
            return latency.entries.joinToString("\n") { (n, v) -> "$n tokens: p50 %.1f ms".format(v["p50"]) } +
                "\n%.0f sentences/s, peak RSS %.0f MB\n$goals\nreport: ${file.path}".format(perSecond, peak)
        }
    }
}
