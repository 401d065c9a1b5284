package edgekit.core

import java.util.Base64
import java.util.regex.Pattern

internal interface Model {
    fun tokenize(word: String): List<Int>
}

private fun codePoints(s: String): IntArray = s.codePoints().toArray()

private fun fromCodePoints(cps: IntArray, start: Int, end: Int): String = String(cps, start, end - start)

/** SentencePiece Unigram: the best segmentation by Viterbi over the pieces' log-probabilities,
 *  exactly as HF's lattice does it (node order, tie-breaking, unknown penalty, fused unknowns). */
internal class Unigram(j: Map<String, Any?>) : Model {
    private val ids = HashMap<String, Int>()
    private val scores: DoubleArray
    private val unkId: Int
    private val maxLen: Int
    private val unkScore: Double

    init {
        val vocab = j["vocab"].arr()
        scores = DoubleArray(vocab.size)
        var longest = 1
        var minScore = Double.POSITIVE_INFINITY
        vocab.forEachIndexed { id, entry ->
            val e = entry.arr()
            val piece = e[0] as String
            if (!ids.containsKey(piece)) ids[piece] = id
            scores[id] = e[1] as Double
            minScore = minOf(minScore, scores[id])
            longest = maxOf(longest, piece.codePointCount(0, piece.length))
        }
        if (j["byte_fallback"] == true)
            throw UnsupportedTokenizerException("Unigram byte_fallback is not supported")
        unkId = (j["unk_id"] as? Double)?.toInt()
            ?: throw UnsupportedTokenizerException("Unigram without unk_id is not supported")
        maxLen = longest
        unkScore = minScore - 10.0
    }

    private class Node(val id: Int, val begin: Int, val length: Int, val score: Double) {
        var prev: Node? = null
        var backtrace = 0.0
    }

    override fun tokenize(word: String): List<Int> {
        val cps = codePoints(word)
        val n = cps.size
        if (n == 0) return emptyList()
        val beginNodes = Array(n + 1) { ArrayList<Node>() }
        val endNodes = Array(n + 1) { ArrayList<Node>() }
        endNodes[0].add(Node(-1, 0, 0, 0.0))
        beginNodes[n].add(Node(-1, n, 0, 0.0))
        for (begin in 0 until n) {
            var single = false
            for (len in 1..minOf(maxLen, n - begin)) {
                val id = ids[fromCodePoints(cps, begin, begin + len)] ?: continue
                val node = Node(id, begin, len, scores[id])
                beginNodes[begin].add(node)
                endNodes[begin + len].add(node)
                if (len == 1) single = true
            }
            if (!single) {
                val node = Node(unkId, begin, 1, unkScore)
                beginNodes[begin].add(node)
                endNodes[begin + 1].add(node)
            }
        }
        for (pos in 0..n) {
            for (right in beginNodes[pos]) {
                var best: Node? = null
                var bestScore = 0.0
                for (left in endNodes[pos]) {
                    val score = left.backtrace + right.score
                    if (best == null || score > bestScore) { best = left; bestScore = score }
                }
                right.prev = best
                right.backtrace = bestScore
            }
        }
        val path = ArrayList<Int>()
        var node = beginNodes[n][0].prev
        while (node != null && node.id >= 0) { path.add(node.id); node = node.prev }
        path.reverse()
        // consecutive unknown pieces become one unknown token
        val fused = ArrayList<Int>(path.size)
        for (id in path) if (!(id == unkId && fused.isNotEmpty() && fused.last() == unkId)) fused.add(id)
        return fused
    }
}

/** BERT WordPiece: greedy longest match from the left, "##" on continuations. */
internal class WordPiece(j: Map<String, Any?>) : Model {
    private val vocab = j["vocab"].obj().mapValues { (it.value as Double).toInt() }
    private val unk = vocab[j["unk_token"] as String]
        ?: throw UnsupportedTokenizerException("WordPiece unk_token is not in the vocabulary")
    private val prefix = (j["continuing_subword_prefix"] as? String) ?: "##"
    private val maxChars = (j["max_input_chars_per_word"] as? Double)?.toInt() ?: 100

    override fun tokenize(word: String): List<Int> {
        val cps = codePoints(word)
        if (cps.size > maxChars) return listOf(unk)
        val out = ArrayList<Int>()
        var start = 0
        while (start < cps.size) {
            var end = cps.size
            var found: Int? = null
            while (start < end) {
                val piece = fromCodePoints(cps, start, end)
                found = vocab[if (start > 0) prefix + piece else piece]
                if (found != null) break
                end--
            }
            if (found == null) return listOf(unk)
            out.add(found)
            start = end
        }
        return out
    }
}

/**
 * SentencePiece's precompiled normaliser: a Darts double-array trie over UTF-8 bytes and a
 * blob of replacement strings. Like spm_precompiled, it replaces each grapheme cluster
 * (under 6 bytes) whole when the trie matches it, else each character on its own.
 */
internal class Precompiled(charsmap: String) {
    private val trie: IntArray
    private val normalized: ByteArray

    init {
        val bytes = Base64.getDecoder().decode(charsmap)
        val trieSize = u32(bytes, 0)
        trie = IntArray(trieSize / 4) { u32(bytes, 4 + it * 4) }
        normalized = bytes.copyOfRange(4 + trieSize, bytes.size)
    }

    private fun u32(b: ByteArray, at: Int): Int = (b[at].toInt() and 0xFF) or
        ((b[at + 1].toInt() and 0xFF) shl 8) or ((b[at + 2].toInt() and 0xFF) shl 16) or
        ((b[at + 3].toInt() and 0xFF) shl 24)

    /** The value of the shortest key that is a prefix of `key`, or -1 (Darts, first hit). */
    private fun firstPrefixValue(key: ByteArray): Int {
        var pos = 0
        var unit = trie[pos]
        pos = pos xor offset(unit)
        for (byte in key) {
            val c = byte.toInt() and 0xFF
            if (c == 0) break
            pos = pos xor c
            unit = trie[pos]
            if (label(unit) != c) return -1
            pos = pos xor offset(unit)
            if (hasLeaf(unit)) return trie[pos] and 0x7FFFFFFF
        }
        return -1
    }

    private fun offset(unit: Int): Int = (unit ushr 10) shl ((unit and (1 shl 9)) ushr 6)
    private fun label(unit: Int): Int = unit and ((1 shl 31) or 0xFF)
    private fun hasLeaf(unit: Int): Boolean = ((unit ushr 8) and 1) == 1

    private fun transform(chunk: String): String? {
        val at = firstPrefixValue(chunk.toByteArray(Charsets.UTF_8))
        if (at < 0) return null
        var end = at
        while (end < normalized.size && normalized[end].toInt() != 0) end++
        return String(normalized, at, end - at, Charsets.UTF_8)
    }

    fun normalize(s: String): String {
        val b = StringBuilder(s.length)
        val graphemes = GRAPHEME.matcher(s)
        while (graphemes.find()) {
            val g = graphemes.group()
            if (g.toByteArray(Charsets.UTF_8).size < 6) {
                val whole = transform(g)
                if (whole != null) { b.append(whole); continue }
            }
            var i = 0
            while (i < g.length) {
                val cp = g.codePointAt(i)
                val c = String(Character.toChars(cp))
                b.append(transform(c) ?: c)
                i += Character.charCount(cp)
            }
        }
        return b.toString()
    }

    companion object {
        private val GRAPHEME: Pattern = Pattern.compile("\\X")
    }
}
