package dev.edgekit.demo

import android.content.Context
import android.os.Handler
import android.os.Looper
import edgekit.core.Bundle
import java.io.File
import java.util.concurrent.Executors

/** The app's models and the screens' results, once per process: an Activity recreated by a
 *  rotation finds them here instead of copying, hashing and loading again.
 *
 *  All model work runs in order on one background thread, so two taps never start two
 *  loaders and a `Module` is never used by two threads. Jobs hold the application context
 *  only; their results go into [results] and to the one [observer] a live Activity sets (and
 *  clears when it is destroyed), so a job never keeps a destroyed Activity alive. */
object Models {
    private val worker = Executors.newSingleThreadExecutor { r -> Thread(r, "edgekit-models") }
    private val main = Handler(Looper.getMainLooper())
    private var encoder: Encoder? = null
    private var tagger: Tagger? = null

    /** The last result of each screen (key: the screen's name), read again after a rotation. */
    val results = HashMap<String, String>()
    /** Called on the main thread with the key of a result that changed. */
    var observer: ((String) -> Unit)? = null

    /** Runs `work` on the model thread; its text (or its error) becomes `results[key]`. */
    fun run(key: String, work: () -> String) {
        results[key] = "…"
        observer?.invoke(key)
        worker.execute {
            val text = try { work() } catch (t: Throwable) { "Error: ${t.message}" }
            main.post { results[key] = text; observer?.invoke(key) }
        }
    }

    /** The sentence encoder, loaded on first use (call from a job). */
    fun encoder(context: Context): Encoder = encoder ?: Encoder.load(context).also { encoder = it }

    fun tagger(context: Context): Tagger = tagger ?: Tagger.load(context).also { tagger = it }

    /** Frees the native programs (the system is short of memory); the next use loads again. */
    fun release() = worker.execute {
        encoder?.close(); encoder = null
        tagger?.close(); tagger = null
    }
}

/** The bundle in the APK's `assets/<assetDir>`, as files ExecuTorch can map: copied once per
 *  bundle. Only what the app runs is copied (not the ONNX model). A stamp holding the sha256
 *  of the APK's manifest.json is written last, after every file was verified: a later start
 *  with the same stamp checks sizes only, and an interrupted copy has no stamp, so it is
 *  redone. */
fun bundleFromAssets(context: Context, assetDir: String, howToBuild: String): Bundle {
    val names = context.assets.list(assetDir)
    if (names.isNullOrEmpty() || "manifest.json" !in names) throw IllegalStateException(
        "No bundle in the app's assets/$assetDir. $howToBuild")
    val manifestBytes = context.assets.open("$assetDir/manifest.json").use { it.readBytes() }
    val want = Bundle.sha256(manifestBytes)
    val dir = File(context.filesDir, assetDir)
    val stamp = File(dir, ".copied-from")
    if (stamp.isFile && stamp.readText() == want)
        return Bundle.load(dir, runtime = "executorch", verifyHashes = false)
    stamp.delete()
    dir.mkdirs()
    File(dir, "manifest.json").writeBytes(manifestBytes)
    val manifest = edgekit.core.Json.parse(String(manifestBytes, Charsets.UTF_8)) as Map<*, *>
    val skip = Bundle.otherRuntimes(@Suppress("UNCHECKED_CAST") (manifest as Map<String, Any?>), "executorch")
    val needed = (manifest["files"] as Map<*, *>).keys.map { it as String }.filter { it !in skip }
    dir.listFiles()?.filter { it.name != "manifest.json" && it.name !in needed }?.forEach { it.delete() }
    for (name in needed) {
        val target = File(dir, name)
        val partial = File(dir, "$name.partial")
        context.assets.open("$assetDir/$name").use { input -> partial.outputStream().use { input.copyTo(it) } }
        if (!partial.renameTo(target)) throw IllegalStateException("cannot write $target")
    }
    val bundle = Bundle.load(dir, runtime = "executorch")  // every hash, once
    stamp.writeText(want)
    return bundle
}
