package edgekit.core

/** A named entity in the typed text: its type (PER, LOC, ORG) and UTF-16 offsets. */
data class Entity(val type: String, val start: Int, val end: Int)

/**
 * The tagging pipeline around the model, as `distill/ner.py` defines it (manifest
 * `word_rule` edgekit.words/1): cut the text into words, encode each word on its own, read
 * each word's tag at its first sub-token, join B-/I- tags into entities.
 */
object Ner {
    const val WORD_RULE = "edgekit.words/1"

    private val CJK = arrayOf(0x3040..0x30FF, 0x3400..0x4DBF, 0x4E00..0x9FFF, 0xF900..0xFAFF,
        0xAC00..0xD7AF, 0x20000..0x2FA1F)
    private val SPACE = intArrayOf(0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85)

    private fun charClass(cp: Int): Char {
        val type = Character.getType(cp)
        val separator = type == Character.SPACE_SEPARATOR.toInt() ||
            type == Character.LINE_SEPARATOR.toInt() || type == Character.PARAGRAPH_SEPARATOR.toInt()
        if (cp in SPACE || separator) return 's'
        if (CJK.any { cp in it }) return 'c'
        val word = when (type) {
            Character.UPPERCASE_LETTER.toInt(), Character.LOWERCASE_LETTER.toInt(),
            Character.TITLECASE_LETTER.toInt(), Character.MODIFIER_LETTER.toInt(),
            Character.OTHER_LETTER.toInt(), Character.NON_SPACING_MARK.toInt(),
            Character.ENCLOSING_MARK.toInt(), Character.COMBINING_SPACING_MARK.toInt(),
            Character.DECIMAL_DIGIT_NUMBER.toInt(), Character.LETTER_NUMBER.toInt(),
            Character.OTHER_NUMBER.toInt() -> true
            else -> cp == '_'.toInt()
        }
        return if (word) 'w' else 'o'
    }

    /** Word spans (start, end) in UTF-16 units: runs of letters, marks and numbers, each CJK
     *  character, each other non-space character. */
    fun splitWords(text: String): List<IntRange> {
        val spans = ArrayList<IntRange>()
        var run = -1
        var i = 0
        while (i < text.length) {
            val cp = text.codePointAt(i)
            val next = i + Character.charCount(cp)
            val kind = charClass(cp)
            if (kind == 'w') {
                if (run < 0) run = i
            } else {
                if (run >= 0) { spans.add(run until i); run = -1 }
                if (kind != 's') spans.add(i until next)
            }
            i = next
        }
        if (run >= 0) spans.add(run until text.length)
        return spans
    }

    /** Each word's tag: the label with the highest logit at its first sub-token ("O" when the
     *  word was cut off). `logits[t]` is the row of token t. */
    fun wordTags(logits: Array<FloatArray>, firstToken: IntArray, labels: List<String>): List<String> =
        firstToken.map { pos ->
            if (pos < 0) "O" else {
                val row = logits[pos]
                labels[row.indices.maxBy { row[it] }!!]
            }
        }

    /** (first word, end word, type) spans, seqeval-style: an I- that does not continue an
     *  entity of its type starts one. */
    fun entitySpans(tags: List<String>): List<Triple<Int, Int, String>> {
        val out = ArrayList<Triple<Int, Int, String>>()
        var start = -1
        var kind: String? = null
        for ((i, tag) in (tags + "O").withIndex()) {
            val prefix = tag.substringBefore('-')
            val type = tag.substringAfter('-', "")
            if (kind != null && (prefix != "I" || type != kind)) {
                out.add(Triple(start, i, kind))
                kind = null
            }
            if ((prefix == "B" || prefix == "I") && kind == null) { start = i; kind = type }
        }
        return out
    }

    /** Everything before the model: words and their encoding. */
    class Prepared(val text: String, val words: List<IntRange>, val encoding: WordEncoding)

    fun prepare(tokenizer: Tokenizer, text: String): Prepared {
        val words = splitWords(text)
        return Prepared(text, words, tokenizer.encodeWords(words.map { text.substring(it.first, it.last + 1) }))
    }

    /** Everything after it: entities with their character offsets in the text. */
    fun entities(prepared: Prepared, logits: Array<FloatArray>, labels: List<String>): List<Entity> {
        val tags = wordTags(logits, prepared.encoding.firstToken, labels)
        return entitySpans(tags).map { (a, b, type) ->
            Entity(type, prepared.words[a].first, prepared.words[b - 1].last + 1)
        }
    }
}
