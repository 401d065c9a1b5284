package edgekit.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import java.io.File

/** The tagging pipeline against an NER bundle's golden.json (-Dedgekit.nerBundle=DIR): words,
 *  ids, first sub-tokens, tags from the reference logits and entities, as Python made them. */
class NerTest {
    private fun ints(v: Any?): IntArray = v.arr().map { (it as Double).toInt() }.toIntArray()

    @Test
    fun goldenWordsIdsTagsAndEntities() {
        val folder = System.getProperty("edgekit.nerBundle")?.let { File(it) }
        assumeTrue(folder != null, "no -Dedgekit.nerBundle given")
        val bundle = Bundle.load(folder!!)
        assertEquals("token-classification", bundle.task)
        val tokenizer = bundle.tokenizer()
        val items = Json.parse(File(folder, "golden.json").readText()).obj()["items"].arr()
        for (item in items.map { it.obj() }) {
            val text = item["text"] as String
            val prepared = Ner.prepare(tokenizer, text)
            assertEquals(item["words"].arr(), prepared.words.map { text.substring(it.first, it.last + 1) },
                "words of: $text")
            assertArrayEquals(ints(item["ids"]), prepared.encoding.ids, "ids of: $text")
            assertArrayEquals(ints(item["first_token"]), prepared.encoding.firstToken, "first of: $text")
            // the reference logits sit at the words' first sub-tokens: rebuild a token matrix
            val logits = Array(prepared.encoding.ids.size) { FloatArray(bundle.labels.size) }
            for ((w, row) in item["word_logits"].arr().withIndex()) {
                if (row == null) continue
                logits[prepared.encoding.firstToken[w]] = row.arr().map { (it as Double).toFloat() }.toFloatArray()
            }
            val tags = Ner.wordTags(logits, prepared.encoding.firstToken, bundle.labels)
            assertEquals(item["tags"].arr(), tags, "tags of: $text")
            val want = item["entities"].arr().map { it.obj() }.map {
                Triple((it["start"] as Double).toInt(), (it["end"] as Double).toInt(), it["type"] as String)
            }
            assertEquals(want, Ner.entitySpans(tags), "entities of: $text")
            for (e in Ner.entities(prepared, logits, bundle.labels))
                assertEquals(e.type, bundle.labels.first { it.endsWith("-" + e.type) }.substringAfter('-'))
        }
    }

    @Test
    fun wordsFollowTheRule() {
        val text = "Angela Merkel, 北京 e\u0301cole 😀!"
        val words = Ner.splitWords(text).map { text.substring(it.first, it.last + 1) }
        assertEquals(listOf("Angela", "Merkel", ",", "北", "京", "e\u0301cole", "😀", "!"), words)
        assertEquals(listOf(Triple(0, 2, "PER"), Triple(3, 4, "LOC"), Triple(4, 5, "ORG")),
            Ner.entitySpans(listOf("B-PER", "I-PER", "O", "I-LOC", "B-ORG")))
    }
}
