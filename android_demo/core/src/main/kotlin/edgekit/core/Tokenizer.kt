package edgekit.core

import java.io.File
import java.text.Normalizer as JavaNormalizer
import java.util.Locale
import java.util.regex.Pattern

/** Token ids and attention mask for one text, special tokens included. */
class Encoding(val ids: IntArray) {
    val attentionMask: IntArray get() = IntArray(ids.size) { 1 }
}

/** Words encoded one by one (HF's `is_pretokenized`): the ids, and where each word's first
 *  sub-token sits (-1: cut off by truncation, or a word with no token). */
class WordEncoding(val ids: IntArray, val firstToken: IntArray)

class UnsupportedTokenizerException(message: String) : Exception(message)

/**
 * A reader of Hugging Face `tokenizer.json` for the kinds edgekit bundles use: Unigram
 * (SentencePiece: Precompiled normaliser, Metaspace, Viterbi) and WordPiece (BERT), with added
 * tokens, the post-processor's special tokens and truncation. It follows HF `tokenizers`
 * step by step so that ids match exactly: split on added tokens, normalise, pre-tokenise,
 * model, truncate, add special tokens.
 */
class Tokenizer(json: Map<String, Any?>) {
    private val added: List<AddedToken>
    private val normalizer: ((String) -> String)?
    private val preTokenizer: PreTokenizer?
    private val model: Model
    private val template: List<Any>   // Int (special id) or "A" (the sequence)
    private val maxLength: Int?
    val kind: String

    init {
        val modelJson = json["model"].obj()
        kind = when (modelJson["type"]) {
            "Unigram" -> "unigram"
            "WordPiece" -> "wordpiece"
            else -> throw UnsupportedTokenizerException(
                "tokenizer model ${modelJson["type"]} is not supported (Unigram, WordPiece)")
        }
        model = if (kind == "unigram") Unigram(modelJson) else WordPiece(modelJson)
        added = (json["added_tokens"] as? List<Any?> ?: emptyList()).map {
            val t = it.obj()
            AddedToken(t["content"] as String, (t["id"] as Double).toInt(),
                t["lstrip"] == true, t["rstrip"] == true)
        }.sortedByDescending { it.content.length }
        normalizer = json["normalizer"]?.let { buildNormalizer(it.obj()) }
        preTokenizer = json["pre_tokenizer"]?.let { buildPreTokenizer(it.obj()) }
        template = json["post_processor"]?.let { buildTemplate(it.obj()) } ?: listOf("A")
        maxLength = (json["truncation"] as? Map<*, *>)?.let { (it["max_length"] as Double).toInt() }
    }

    companion object {
        fun fromFile(path: String): Tokenizer = fromJson(File(path).readText(Charsets.UTF_8))
        fun fromJson(text: String): Tokenizer = Tokenizer(Json.parse(text).obj())
    }

    fun encode(text: String): Encoding = Encoding(withSpecials(tokens(text)))

    fun encodeWords(words: List<String>): WordEncoding {
        val all = ArrayList<Int>()
        val first = IntArray(words.size) { -1 }
        val lead = template.indexOf("A")  // special tokens before the sequence
        val kept = maxLength?.let { it - template.count { t -> t is Int } } ?: Int.MAX_VALUE
        for ((i, word) in words.withIndex()) {
            val t = tokens(word)
            if (t.isNotEmpty() && all.size < kept) first[i] = lead + all.size
            all.addAll(t)
        }
        return WordEncoding(withSpecials(all), first)
    }

    /** Split on added tokens, normalise, pre-tokenise, run the model: ids without specials. */
    private fun tokens(text: String): List<Int> {
        val tokens = ArrayList<Int>()
        var first = true
        for (segment in splitOnAdded(text)) {
            if (segment.addedId != null) {
                tokens.add(segment.addedId)
            } else {
                val normalized = normalizer?.invoke(segment.text) ?: segment.text
                val words = preTokenizer?.split(normalized, first && segment.start == 0)
                    ?: listOf(normalized)
                for (w in words) if (w.isNotEmpty()) tokens.addAll(model.tokenize(w))
            }
            first = false
        }
        return tokens
    }

    /** Truncate to the file's max length, then add the post-processor's special tokens. */
    private fun withSpecials(tokens: List<Int>): IntArray {
        val specials = template.count { it is Int }
        val body = if (maxLength != null && tokens.size > maxLength - specials)
            tokens.subList(0, maxOf(0, maxLength - specials)) else tokens
        val out = ArrayList<Int>()
        for (item in template) if (item is Int) out.add(item) else out.addAll(body)
        return out.toIntArray()
    }

    // ------------------------------------------------------------ added tokens

    private class AddedToken(val content: String, val id: Int, val lstrip: Boolean,
                             val rstrip: Boolean)

    private class Segment(val text: String, val start: Int, val addedId: Int?)

    /** Leftmost-longest matches of the added tokens on the raw text, as HF does. */
    private fun splitOnAdded(text: String): List<Segment> {
        val out = ArrayList<Segment>()
        var segStart = 0
        var i = 0
        while (i < text.length) {
            val tok = added.firstOrNull { it.content.isNotEmpty() && text.startsWith(it.content, i) }
            if (tok == null) { i++; continue }
            var before = i
            if (tok.lstrip) while (before > segStart && isWhitespace(text.codePointBefore(before)))
                before -= Character.charCount(text.codePointBefore(before))
            if (before > segStart) out.add(Segment(text.substring(segStart, before), segStart, null))
            out.add(Segment(tok.content, i, tok.id))
            i += tok.content.length
            if (tok.rstrip) while (i < text.length && isWhitespace(text.codePointAt(i)))
                i += Character.charCount(text.codePointAt(i))
            segStart = i
        }
        if (segStart < text.length) out.add(Segment(text.substring(segStart), segStart, null))
        return out
    }
}

// ---------------------------------------------------------------- normalisers

internal fun buildNormalizer(j: Map<String, Any?>): (String) -> String = when (j["type"]) {
    "Sequence" -> {
        val parts = j["normalizers"].arr().map { buildNormalizer(it.obj()) }
        val f: (String) -> String = { s -> parts.fold(s) { acc, n -> n(acc) } }
        f
    }
    "Precompiled" -> Precompiled(j["precompiled_charsmap"] as String)::normalize
    "Replace" -> {
        val pattern = j["pattern"].obj()
        val content = j["content"] as String
        val regex = if (pattern.containsKey("Regex")) Pattern.compile(pattern["Regex"] as String)
        else Pattern.compile(Pattern.quote(pattern["String"] as String))
        val f: (String) -> String = { s -> regex.matcher(s).replaceAll(
            java.util.regex.Matcher.quoteReplacement(content)) }
        f
    }
    "NFC" -> { s: String -> JavaNormalizer.normalize(s, JavaNormalizer.Form.NFC) }
    "NFD" -> { s: String -> JavaNormalizer.normalize(s, JavaNormalizer.Form.NFD) }
    "NFKC" -> { s: String -> JavaNormalizer.normalize(s, JavaNormalizer.Form.NFKC) }
    "NFKD" -> { s: String -> JavaNormalizer.normalize(s, JavaNormalizer.Form.NFKD) }
    "Lowercase" -> ::lowercase
    "StripAccents" -> ::stripAccents
    "BertNormalizer" -> {
        val clean = j["clean_text"] != false
        val chinese = j["handle_chinese_chars"] != false
        val lower = j["lowercase"] != false
        val strip = (j["strip_accents"] as? Boolean) ?: lower
        val f: (String) -> String = { s ->
            var t = s
            if (clean) t = cleanText(t)
            if (chinese) t = padChinese(t)
            if (strip) t = stripAccents(t)
            if (lower) t = lowercase(t)
            t
        }
        f
    }
    else -> throw UnsupportedTokenizerException("normalizer ${j["type"]} is not supported")
}

/** Per code point, like Rust's char::to_lowercase (no context such as Greek final sigma). */
internal fun lowercase(s: String): String {
    val b = StringBuilder(s.length)
    var i = 0
    while (i < s.length) {
        val cp = s.codePointAt(i)
        b.append(String(Character.toChars(cp)).toLowerCase(Locale.ROOT))
        i += Character.charCount(cp)
    }
    return b.toString()
}

internal fun stripAccents(s: String): String {
    val d = JavaNormalizer.normalize(s, JavaNormalizer.Form.NFD)
    val b = StringBuilder(d.length)
    var i = 0
    while (i < d.length) {
        val cp = d.codePointAt(i)
        if (Character.getType(cp) != Character.NON_SPACING_MARK.toInt()) b.appendCodePoint(cp)
        i += Character.charCount(cp)
    }
    return b.toString()
}

/** Rust's char::is_whitespace: the Unicode White_Space property. */
internal fun isWhitespace(cp: Int): Boolean = when (cp) {
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F,
    0x3000 -> true
    else -> cp in 0x2000..0x200A
}

private fun isOther(cp: Int): Boolean = when (Character.getType(cp)) {
    Character.CONTROL.toInt(), Character.FORMAT.toInt(), Character.UNASSIGNED.toInt(),
    Character.PRIVATE_USE.toInt(), Character.SURROGATE.toInt() -> true
    else -> false
}

/** Rebuild `s` code point by code point: `emit` appends what each one becomes. */
private inline fun mapCodePoints(s: String, emit: (Int, StringBuilder) -> Unit): String {
    val b = StringBuilder(s.length)
    var i = 0
    while (i < s.length) {
        val cp = s.codePointAt(i)
        i += Character.charCount(cp)
        emit(cp, b)
    }
    return b.toString()
}

private fun cleanText(s: String): String = mapCodePoints(s) { cp, b ->
    val control = cp != 0x09 && cp != 0x0A && cp != 0x0D && isOther(cp)
    when {
        cp == 0 || cp == 0xFFFD || control -> Unit  // dropped
        isWhitespace(cp) -> b.append(' ')
        else -> b.appendCodePoint(cp)
    }
}

private fun isChinese(cp: Int): Boolean = cp in 0x4E00..0x9FFF || cp in 0x3400..0x4DBF ||
    cp in 0x20000..0x2A6DF || cp in 0x2A700..0x2B73F || cp in 0x2B740..0x2B81F ||
    cp in 0x2B920..0x2CEAF || cp in 0xF900..0xFAFF || cp in 0x2F800..0x2FA1F

private fun padChinese(s: String): String = mapCodePoints(s) { cp, b ->
    if (isChinese(cp)) b.append(' ').appendCodePoint(cp).append(' ') else b.appendCodePoint(cp)
}

// ---------------------------------------------------------------- pre-tokenisers

internal interface PreTokenizer {
    /** `first`: this segment starts the text (Metaspace's prepend_scheme "first"). */
    fun split(s: String, first: Boolean): List<String>
}

internal fun buildPreTokenizer(j: Map<String, Any?>): PreTokenizer = when (j["type"]) {
    "Metaspace" -> Metaspace(j)
    "BertPreTokenizer" -> BertPreTokenizer
    "WhitespaceSplit" -> object : PreTokenizer {
        override fun split(s: String, first: Boolean) = splitWhitespace(s)
    }
    "Sequence" -> {
        val parts = j["pretokenizers"].arr().map { buildPreTokenizer(it.obj()) }
        object : PreTokenizer {
            override fun split(s: String, first: Boolean): List<String> =
                parts.fold(listOf(s)) { words, p -> words.flatMap { p.split(it, first) } }
        }
    }
    else -> throw UnsupportedTokenizerException("pre-tokenizer ${j["type"]} is not supported")
}

internal class Metaspace(j: Map<String, Any?>) : PreTokenizer {
    private val replacement = (j["replacement"] as String)
    private val scheme = (j["prepend_scheme"] as? String)
        ?: if (j["add_prefix_space"] == false) "never" else "always"
    private val splits = j["split"] != false

    override fun split(s: String, first: Boolean): List<String> {
        var t = s.replace(" ", replacement)
        val prepend = scheme == "always" || (scheme == "first" && first)
        if (prepend && !t.startsWith(replacement)) t = replacement + t
        if (!splits) return listOf(t)
        // split before every replacement character, keeping it with what follows
        val out = ArrayList<String>()
        var start = 0
        var i = t.indexOf(replacement, 1)
        while (i >= 0) {
            if (i > start) out.add(t.substring(start, i))
            start = i
            i = t.indexOf(replacement, i + replacement.length)
        }
        if (start < t.length) out.add(t.substring(start))
        return out
    }
}

/** Split on code points: `drop` ones end a word and vanish, `isolate` ones become words. */
private fun splitOn(s: String, drop: (Int) -> Boolean, isolate: (Int) -> Boolean): List<String> {
    val out = ArrayList<String>()
    val b = StringBuilder()
    var i = 0
    while (i < s.length) {
        val cp = s.codePointAt(i)
        i += Character.charCount(cp)
        if (drop(cp) || isolate(cp)) {
            if (b.isNotEmpty()) { out.add(b.toString()); b.setLength(0) }
            if (!drop(cp)) out.add(String(Character.toChars(cp)))
        } else b.appendCodePoint(cp)
    }
    if (b.isNotEmpty()) out.add(b.toString())
    return out
}

private fun splitWhitespace(s: String): List<String> = splitOn(s, ::isWhitespace) { false }

private fun isBertPunctuation(cp: Int): Boolean {
    if (cp in 33..47 || cp in 58..64 || cp in 91..96 || cp in 123..126) return true
    return when (Character.getType(cp)) {
        Character.CONNECTOR_PUNCTUATION.toInt(), Character.DASH_PUNCTUATION.toInt(),
        Character.END_PUNCTUATION.toInt(), Character.FINAL_QUOTE_PUNCTUATION.toInt(),
        Character.INITIAL_QUOTE_PUNCTUATION.toInt(), Character.OTHER_PUNCTUATION.toInt(),
        Character.START_PUNCTUATION.toInt() -> true
        else -> false
    }
}

internal object BertPreTokenizer : PreTokenizer {
    override fun split(s: String, first: Boolean): List<String> =
        splitOn(s, ::isWhitespace, ::isBertPunctuation)
}

// ---------------------------------------------------------------- post-processor

private fun buildTemplate(j: Map<String, Any?>): List<Any> = when (j["type"]) {
    "TemplateProcessing" -> {
        val specials = j["special_tokens"].obj()
        j["single"].arr().flatMap { piece ->
            val p = piece.obj()
            if (p.containsKey("Sequence")) listOf<Any>("A")
            else {
                val name = p["SpecialToken"].obj()["id"] as String
                specials[name].obj()["ids"].arr().map { (it as Double).toInt() }
            }
        }
    }
    "BertProcessing", "RobertaProcessing" -> listOf(
        (j["cls"].arr()[1] as Double).toInt(), "A", (j["sep"].arr()[1] as Double).toInt())
    else -> throw UnsupportedTokenizerException("post-processor ${j["type"]} is not supported")
}
