package edgekit.core

import java.io.File
import java.security.MessageDigest

class BundleException(message: String) : Exception(message)

/** A bundle folder checked the way `edgekit.bundle/1` promises: the schema, every listed
 *  file's size and sha256. Errors are messages for a person, never a crash. */
class Bundle private constructor(val folder: File, val manifest: Map<String, Any?>) {
    val task: String = manifest["task"] as? String ?: "sentence-embedding"
    /** A sentence encoder's output width (0 for a tagger). */
    val embeddingDim: Int = (manifest["embedding_dim"] as? Double)?.toInt() ?: 0
    /** A tagger's tag set, in the order of its logits (empty for an encoder). */
    val labels: List<String> = (manifest["labels"] as? List<*>)?.map { it as String } ?: emptyList()
    val maxSeqLen: Int = (manifest["max_seq_len"] as Double).toInt()
    val textPrefix: String = manifest["text_prefix"] as? String ?: ""
    val tokenizerFile: File = File(folder, manifest["tokenizer"].obj()["file"] as String)
    val tokenizerKind: String = manifest["tokenizer"].obj()["kind"] as String

    /** The model file for a runtime ("executorch" or "onnx"), the first the manifest lists. */
    fun modelFile(runtime: String): File? = manifest["models"].arr().map { it.obj() }
        .firstOrNull { it["runtime"] == runtime }?.let { File(folder, it["file"] as String) }

    /** A calibrated encoder's post-processing (`post_process.json`), applied to every output
     *  of the model; null when the bundle has none. */
    fun postProcess(): PostProcess? {
        val spec = manifest["post_process"]?.obj() ?: return null
        if (spec["kind"] != "all-but-the-top")
            throw BundleException("post-processing ${spec["kind"]} is not supported by this app")
        return PostProcess.fromJson(File(folder, spec["file"] as String).readText(Charsets.UTF_8))
    }

    fun tokenizer(): Tokenizer {
        if (tokenizerKind != "unigram" && tokenizerKind != "wordpiece")
            throw BundleException("tokenizer kind $tokenizerKind is not supported by this app")
        return Tokenizer.fromFile(tokenizerFile.path)
    }

    companion object {
        const val SCHEMA = "edgekit.bundle/1"

        /** Loads and checks the bundle in `folder`. With `runtime`, the model files of other
         *  runtimes may be absent (an app copies only what it runs); `verifyHashes = false`
         *  checks sizes only, for files this app verified when it copied them. */
        fun load(folder: File, runtime: String? = null, verifyHashes: Boolean = true): Bundle {
            val manifestFile = File(folder, "manifest.json")
            if (!manifestFile.isFile) throw BundleException(
                "no edgekit bundle in $folder (manifest.json is missing)")
            val manifest = try {
                Json.parse(manifestFile.readText(Charsets.UTF_8)).obj()
            } catch (e: JsonException) {
                throw BundleException("manifest.json is not valid JSON: ${e.message}")
            }
            val schema = manifest["schema"] as? String
            if (schema == null || !schema.startsWith("edgekit.bundle/"))
                throw BundleException("$folder is not an edgekit bundle (schema $schema)")
            if (schema != SCHEMA)
                throw BundleException("bundle schema $schema is not supported; this app reads $SCHEMA")
            val rule = manifest["word_rule"] as? String
            if (rule != null && rule != Ner.WORD_RULE)
                throw BundleException("word rule $rule is not supported; this app splits words by ${Ner.WORD_RULE}")
            val root = folder.canonicalPath + File.separator
            for ((name, meta) in manifest["files"].obj()) {
                if (name in otherRuntimes(manifest, runtime)) continue
                val f = File(folder, name)
                // canonical: symlinks followed, so no name leads out of the bundle
                if (!f.canonicalPath.startsWith(root))
                    throw BundleException("the manifest names a file outside the bundle: $name")
                if (!f.isFile) throw BundleException("the bundle is incomplete: $name is missing")
                val m = meta.obj()
                if (f.length() != (m["size"] as Double).toLong() || (verifyHashes && sha256(f) != m["sha256"]))
                    throw BundleException("the bundle is corrupted: $name does not match its sha256")
            }
            return Bundle(folder, manifest)
        }

        /** The files of `manifest`'s models for runtimes other than `runtime` (none without one). */
        fun otherRuntimes(manifest: Map<String, Any?>, runtime: String?): Set<String> =
            if (runtime == null) emptySet() else manifest["models"].arr().map { it.obj() }
                .filter { it["runtime"] != runtime }.map { it["file"] as String }.toSet()

        fun sha256(f: File): String = f.inputStream().use { sha256(it) }

        fun sha256(bytes: ByteArray): String = sha256(bytes.inputStream())

        fun sha256(input: java.io.InputStream): String {
            val digest = MessageDigest.getInstance("SHA-256")
            val buffer = ByteArray(1 shl 16)
            while (true) {
                val n = input.read(buffer)
                if (n < 0) break
                digest.update(buffer, 0, n)
            }
            return digest.digest().joinToString("") { String.format(java.util.Locale.ROOT, "%02x", it) }
        }
    }
}

/** Cosine similarity of two embeddings (the bundle's are L2-normalised: a dot product). */
fun cosine(a: FloatArray, b: FloatArray): Float {
    var dot = 0f; var na = 0f; var nb = 0f
    for (i in a.indices) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
    return if (na == 0f || nb == 0f) 0f else dot / Math.sqrt((na * nb).toDouble()).toFloat()
}

/** All-but-the-top, as the bundle stores it: subtract the centre, remove the components along
 *  the directions (common ones, and those that tell languages apart), L2-normalise. Done in
 *  float after the (possibly int8) program. */
class PostProcess(val center: FloatArray, val directions: List<FloatArray>) {
    init {
        require(directions.all { it.size == center.size }) { "directions and centre differ in width" }
    }

    fun apply(embedding: FloatArray): FloatArray {
        if (embedding.size != center.size) throw BundleException(
            "the model returned ${embedding.size} values; post_process.json expects ${center.size}")
        val e = FloatArray(center.size) { embedding[it] - center[it] }
        for (d in directions) {
            var coord = 0f
            for (i in e.indices) coord += e[i] * d[i]
            for (i in e.indices) e[i] -= coord * d[i]
        }
        var norm = 0f
        for (v in e) norm += v * v
        val scale = 1f / Math.max(Math.sqrt(norm.toDouble()).toFloat(), 1e-12f)
        return FloatArray(e.size) { e[it] * scale }
    }

    companion object {
        fun fromJson(text: String): PostProcess {
            val o = try { Json.parse(text).obj() } catch (e: JsonException) {
                throw BundleException("post_process.json is not valid JSON: ${e.message}")
            }
            fun floats(v: Any?): FloatArray = v.arr().map { (it as Double).toFloat() }.toFloatArray()
            return try {
                PostProcess(floats(o["center"]), o["directions"].arr().map { floats(it) })
            } catch (e: Exception) {  // a missing key, a string for a number, widths apart
                throw BundleException("post_process.json is not a centre and a list of directions")
            }
        }
    }
}
