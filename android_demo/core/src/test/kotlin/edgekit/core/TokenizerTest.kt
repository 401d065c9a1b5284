package edgekit.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.file.Files

/** Exact token-id equality with what Python wrote: the bundle's golden.json
 *  (-Dedgekit.bundle=DIR) and a parity set from HF tokenizers (-Dedgekit.parity=FILE). */
class TokenizerTest {
    private fun property(name: String): File? = System.getProperty(name)?.let { File(it) }

    @Test
    fun goldenIdsMatchForEveryText() {
        val folder = property("edgekit.bundle")
        assumeTrue(folder != null, "no -Dedgekit.bundle given")
        val bundle = Bundle.load(folder!!)
        val tokenizer = bundle.tokenizer()
        val items = Json.parse(File(folder, "golden.json").readText()).obj()["items"].arr()
        assertTrue(items.size >= 32)
        for (item in items.map { it.obj() }) {
            val want = item["ids"].arr().map { (it as Double).toInt() }.toIntArray()
            val got = tokenizer.encode(bundle.textPrefix + item["text"] as String)
            assertArrayEquals(want, got.ids, "text: ${item["text"]}")
            assertArrayEquals(item["attention_mask"].arr().map { (it as Double).toInt() }
                .toIntArray(), got.attentionMask)
        }
    }

    @Test
    fun paritySetMatchesHuggingFace() {
        val file = property("edgekit.parity")
        assumeTrue(file != null, "no -Dedgekit.parity given")
        val parity = Json.parse(file!!.readText()).obj()
        var checked = 0
        for (set in parity["sets"].arr().map { it.obj() }) {
            val tokenizer = Tokenizer.fromFile(set["tokenizer"] as String)
            val mismatches = ArrayList<String>()
            for (item in set["items"].arr().map { it.obj() }) {
                val want = item["ids"].arr().map { (it as Double).toInt() }.toIntArray()
                val got = tokenizer.encode(item["text"] as String).ids
                if (!want.contentEquals(got)) mismatches.add("${item["lang"]}: ${item["text"]}")
                checked++
            }
            assertEquals(emptyList<String>(), mismatches.take(10),
                "${mismatches.size} mismatches with ${set["name"]}")
        }
        assertTrue(checked >= 1000, "only $checked texts checked")
    }

    @Test
    fun corruptedAndForeignBundlesAreRefusedWithAMessage() {
        val folder = property("edgekit.bundle")
        assumeTrue(folder != null, "no -Dedgekit.bundle given")
        val copy = Files.createTempDirectory("bundle").toFile()
        folder!!.copyRecursively(copy, overwrite = true)
        val tok = File(copy, "tokenizer.json")
        tok.writeText(tok.readText().replaceFirst("\"Unigram\"", "\"Unigramx\""))
        val e = assertThrows(BundleException::class.java) { Bundle.load(copy) }
        assertTrue(e.message!!.contains("tokenizer.json does not match its sha256"), e.message)
        File(copy, "golden.json").delete()
        val missing = assertThrows(BundleException::class.java) { Bundle.load(copy) }
        assertTrue(missing.message!!.contains("missing"), missing.message)
        File(copy, "manifest.json").writeText("{\"schema\": \"other/1\"}")
        val foreign = assertThrows(BundleException::class.java) { Bundle.load(copy) }
        assertTrue(foreign.message!!.contains("not an edgekit bundle"), foreign.message)
        copy.deleteRecursively()
    }

    @Test
    fun wordPieceFromAHandWrittenTokenizer() {
        val json = """{"added_tokens": [{"id": 1, "content": "[CLS]"}, {"id": 2, "content": "[SEP]"}],
            "normalizer": {"type": "BertNormalizer", "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1], "sep": ["[SEP]", 2]},
            "truncation": {"max_length": 6},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab":
              {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "un": 3, "##aff": 4, "##able": 5, "!": 6,
               "cafe": 7, "中": 8}}}"""
        val t = Tokenizer.fromJson(json)
        assertEquals("wordpiece", t.kind)
        assertArrayEquals(intArrayOf(1, 3, 4, 5, 6, 2), t.encode("UnAffable!").ids)
        assertArrayEquals(intArrayOf(1, 7, 8, 0, 2), t.encode("Café中x").ids)
        assertArrayEquals(intArrayOf(1, 3, 4, 5, 6, 2), t.encode("unaffable! cafe cafe").ids)
        assertArrayEquals(intArrayOf(1, 2), t.encode("").ids)
    }

    @Test
    fun unsupportedKindsAreNamed() {
        val e = assertThrows(UnsupportedTokenizerException::class.java) {
            Tokenizer.fromJson("""{"model": {"type": "BPE", "vocab": {}, "merges": []}}""")
        }
        assertTrue(e.message!!.contains("BPE"))
    }

    @Test
    fun jsonReaderHandlesEscapesAndSurrogates() {
        val v = Json.parse("""{"a": "x\"\\\u00e9\ud83d\ude00", "b": [1, -2.5e3, true, null]}""").obj()
        assertEquals("x\"\\é😀", v["a"])
        assertEquals(listOf(1.0, -2500.0, true, null), v["b"])
    }
}
