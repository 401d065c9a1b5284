package dev.edgekit.demo

import android.content.Context
import edgekit.core.BenchReport
import edgekit.core.Bundle
import edgekit.core.PostProcess
import edgekit.core.Tokenizer
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor

/** The bundle from the app's assets, verified, with its tokenizer and ExecuTorch program. */
class Encoder private constructor(val bundle: Bundle, private val tokenizer: Tokenizer,
                                  private val module: Module,
                                  private val postProcess: PostProcess?, val loadMs: Double,
                                  val rssBeforeLoadMb: Double) {
    val dim: Int get() = bundle.embeddingDim

    fun tokenize(text: String): LongArray =
        tokenizer.encode(bundle.textPrefix + text).ids.map { it.toLong() }.toLongArray()

    /** The L2-normalised embedding of one text (the program has batch size 1), calibrated
     *  when the bundle has a post-processing step. */
    fun embed(ids: LongArray): FloatArray {
        val shape = longArrayOf(1, ids.size.toLong())
        val mask = LongArray(ids.size) { 1L }
        val out = module.forward(EValue.from(Tensor.fromBlob(ids, shape)),
                                 EValue.from(Tensor.fromBlob(mask, shape)))
        val embedding = out[0].toTensor().dataAsFloatArray
        return postProcess?.apply(embedding) ?: embedding
    }

    fun embed(text: String): FloatArray = embed(tokenize(text))

    /** Frees the native program now instead of at garbage collection. */
    fun close() = module.destroy()

    companion object {
        /** Loads the sentence-encoder bundle (`edgekit build --target android`). Throws with a
         *  message for the screen when the bundle is missing or damaged. */
        fun load(context: Context): Encoder {
            val bundle = bundleFromAssets(context, "edgekit",
                "Run `edgekit build --target android` and rebuild the app.")
            val pte = bundle.modelFile("executorch") ?: throw IllegalStateException(
                "The bundle has no ExecuTorch program (built with --target onnx?)")
            val tokenizer = bundle.tokenizer()
            val rss = BenchReport.statusMb(BenchReport.procStatus(), "VmRSS")
            val started = System.nanoTime()
            val module = Module.load(pte.path, Module.LOAD_MODE_MMAP)  // mapped, not read whole
            val loadMs = (System.nanoTime() - started) / 1e6
            return Encoder(bundle, tokenizer, module, bundle.postProcess(), loadMs, rss)
        }
    }
}
