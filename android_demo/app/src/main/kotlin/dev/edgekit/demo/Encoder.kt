package dev.edgekit.demo

import android.content.Context
import edgekit.core.Bundle
import edgekit.core.Tokenizer
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.File

/** The bundle from the app's assets, verified, with its tokenizer and ExecuTorch program. */
class Encoder private constructor(val bundle: Bundle, private val tokenizer: Tokenizer,
                                  private val module: Module, val loadMs: Double) {
    val dim: Int get() = bundle.embeddingDim

    fun tokenize(text: String): LongArray =
        tokenizer.encode(bundle.textPrefix + text).ids.map { it.toLong() }.toLongArray()

    /** The L2-normalised embedding of one text (the program has batch size 1). */
    fun embed(ids: LongArray): FloatArray {
        val shape = longArrayOf(1, ids.size.toLong())
        val mask = LongArray(ids.size) { 1L }
        val out = module.forward(EValue.from(Tensor.fromBlob(ids, shape)),
                                 EValue.from(Tensor.fromBlob(mask, shape)))
        return out[0].toTensor().dataAsFloatArray
    }

    fun embed(text: String): FloatArray = embed(tokenize(text))

    companion object {
        /** Loads the sentence-encoder bundle (`edgekit build --target android`). Throws with a
         *  message for the screen when the bundle is missing or damaged. */
        fun load(context: Context): Encoder {
            val bundle = bundleFromAssets(context, "edgekit",
                "Run `edgekit build --target android` and rebuild the app.")
            val pte = bundle.modelFile("executorch") ?: throw IllegalStateException(
                "The bundle has no ExecuTorch program (built with --target onnx?)")
            val tokenizer = bundle.tokenizer()
            val started = System.nanoTime()
            val module = Module.load(pte.path)
            val loadMs = (System.nanoTime() - started) / 1e6
            return Encoder(bundle, tokenizer, module, loadMs)
        }
    }
}

/** Copies a bundle out of the APK's assets (ExecuTorch loads from a path) and verifies it. */
fun bundleFromAssets(context: Context, assetDir: String, howToBuild: String): Bundle {
    val names = context.assets.list(assetDir)
    if (names.isNullOrEmpty()) throw IllegalStateException(
        "No bundle in the app's assets/$assetDir. $howToBuild")
    val dir = File(context.filesDir, assetDir)
    dir.mkdirs()
    for (name in names) {
        context.assets.open("$assetDir/$name").use { input ->
            File(dir, name).outputStream().use { input.copyTo(it) }
        }
    }
    return Bundle.load(dir)
}
