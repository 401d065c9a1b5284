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
        private const val ASSET_DIR = "edgekit"

        /** Copies the bundle out of the APK (ExecuTorch loads from a path), checks it, loads it.
         *  Throws with a message for the screen when the bundle is missing or damaged. */
        fun load(context: Context): Encoder {
            val names = context.assets.list(ASSET_DIR)
            if (names.isNullOrEmpty()) throw IllegalStateException(
                "No bundle in the app's assets. Run `edgekit build --target android` and rebuild the app.")
            val dir = File(context.filesDir, ASSET_DIR)
            dir.mkdirs()
            for (name in names) {
                context.assets.open("$ASSET_DIR/$name").use { input ->
                    File(dir, name).outputStream().use { input.copyTo(it) }
                }
            }
            val bundle = Bundle.load(dir)
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
