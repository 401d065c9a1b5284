package dev.edgekit.demo

import android.content.Context
import edgekit.core.Bundle
import edgekit.core.Entity
import edgekit.core.Ner
import edgekit.core.Tokenizer
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor

/** The NER bundle (`edgekit build --target android --task ner`): typed text -> entities. */
class Tagger private constructor(val bundle: Bundle, private val tokenizer: Tokenizer,
                                 private val module: Module) {
    fun entities(text: String): List<Entity> {
        val prepared = Ner.prepare(tokenizer, text)
        val ids = prepared.encoding.ids.map { it.toLong() }.toLongArray()
        val shape = longArrayOf(1, ids.size.toLong())
        val mask = LongArray(ids.size) { 1L }
        val out = module.forward(EValue.from(Tensor.fromBlob(ids, shape)),
                                 EValue.from(Tensor.fromBlob(mask, shape)))
        val flat = out[0].toTensor().dataAsFloatArray  // (1, tokens, labels), row-major
        val n = bundle.labels.size
        val logits = Array(ids.size) { t -> FloatArray(n) { flat[t * n + it] } }
        return Ner.entities(prepared, logits, bundle.labels)
    }

    fun close() = module.destroy()

    companion object {
        fun load(context: Context): Tagger {
            val bundle = bundleFromAssets(context, "edgekit-ner",
                "Run `edgekit build --target android --task ner --ner-train DIR` and rebuild the app.")
            if (bundle.labels.isEmpty()) throw IllegalStateException(
                "The bundle in assets/edgekit-ner is not a tagger (task ${bundle.task})")
            val pte = bundle.modelFile("executorch") ?: throw IllegalStateException(
                "The NER bundle has no ExecuTorch program (built with --target onnx?)")
            return Tagger(bundle, bundle.tokenizer(), Module.load(pte.path, Module.LOAD_MODE_MMAP))
        }
    }
}
