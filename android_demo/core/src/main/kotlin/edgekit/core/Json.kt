package edgekit.core

/** A small JSON reader (objects -> Map, arrays -> List, numbers -> Double, true/false, null):
 *  enough for tokenizer.json, manifest.json and golden.json without a dependency. */
class Json private constructor(private val s: String) {
    private var i = 0

    companion object {
        fun parse(text: String): Any? {
            val p = Json(text)
            p.ws()
            // a file cut short runs the reader off the end: a message, not a crash
            val v = try { p.value() } catch (e: IndexOutOfBoundsException) {
                throw JsonException("unexpected end")
            }
            p.ws()
            if (p.i != p.s.length) throw JsonException("trailing data at ${p.i}")
            return v
        }
    }

    private fun ws() {
        while (i < s.length && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++
    }

    private fun value(): Any? {
        if (i >= s.length) throw JsonException("unexpected end")
        return when (s[i]) {
            '{' -> obj()
            '[' -> arr()
            '"' -> str()
            't' -> lit("true", true)
            'f' -> lit("false", false)
            'n' -> lit("null", null)
            else -> num()
        }
    }

    private fun lit(word: String, v: Any?): Any? {
        if (!s.startsWith(word, i)) throw JsonException("bad literal at $i")
        i += word.length
        return v
    }

    private fun obj(): Map<String, Any?> {
        val m = LinkedHashMap<String, Any?>()
        i++
        ws()
        if (s[i] == '}') { i++; return m }
        while (true) {
            ws()
            val k = str()
            ws()
            if (s[i] != ':') throw JsonException("expected : at $i")
            i++
            ws()
            m[k] = value()
            ws()
            when (s[i]) {
                ',' -> i++
                '}' -> { i++; return m }
                else -> throw JsonException("expected , or } at $i")
            }
        }
    }

    private fun arr(): List<Any?> {
        val a = ArrayList<Any?>()
        i++
        ws()
        if (s[i] == ']') { i++; return a }
        while (true) {
            ws()
            a.add(value())
            ws()
            when (s[i]) {
                ',' -> i++
                ']' -> { i++; return a }
                else -> throw JsonException("expected , or ] at $i")
            }
        }
    }

    private fun str(): String {
        if (s[i] != '"') throw JsonException("expected string at $i")
        i++
        val b = StringBuilder()
        while (true) {
            val c = s[i++]
            when (c) {
                '"' -> return b.toString()
                '\\' -> {
                    val e = s[i++]
                    when (e) {
                        '"' -> b.append('"'); '\\' -> b.append('\\'); '/' -> b.append('/')
                        'b' -> b.append('\b'); 'f' -> b.append('\u000C'); 'n' -> b.append('\n')
                        'r' -> b.append('\r'); 't' -> b.append('\t')
                        'u' -> { b.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                        else -> throw JsonException("bad escape at $i")
                    }
                }
                else -> b.append(c)
            }
        }
    }

    private fun num(): Double {
        val start = i
        while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
        if (start == i) throw JsonException("unexpected character '${s[i]}' at $i")
        return s.substring(start, i).toDouble()
    }
}

class JsonException(message: String) : Exception(message)

@Suppress("UNCHECKED_CAST")
fun Any?.obj(): Map<String, Any?> = this as? Map<String, Any?> ?: throw JsonException("expected an object")

@Suppress("UNCHECKED_CAST")
fun Any?.arr(): List<Any?> = this as? List<Any?> ?: throw JsonException("expected an array")

/** JSON text of maps, lists, strings, numbers, booleans and null. Every control character is
 *  escaped and a non-finite number is refused (JSON has no NaN or Infinity): a report that
 *  cannot be read back is never written. Numbers are written without the phone's locale. */
object JsonWriter {
    fun write(v: Any?): String = StringBuilder().also { append(it, v) }.toString()

    private fun append(b: StringBuilder, v: Any?) {
        when (v) {
            null -> b.append("null")
            is String -> string(b, v)
            is Boolean -> b.append(v)
            is Int, is Long, is Short, is Byte -> b.append(v)
            is Double, is Float -> {
                val d = (v as Number).toDouble()
                if (!d.isFinite()) throw JsonException("cannot write $d: JSON has no NaN or Infinity")
                b.append(if (d == Math.rint(d) && Math.abs(d) < 1e15) d.toLong().toString() + ".0" else d.toString())
            }
            is Map<*, *> -> {
                b.append('{')
                v.entries.forEachIndexed { i, (k, value) ->
                    if (i > 0) b.append(',')
                    string(b, k as? String ?: throw JsonException("object keys must be strings, not $k"))
                    b.append(':')
                    append(b, value)
                }
                b.append('}')
            }
            is List<*> -> {
                b.append('[')
                v.forEachIndexed { i, item -> if (i > 0) b.append(','); append(b, item) }
                b.append(']')
            }
            else -> throw JsonException("cannot write a ${v::class.simpleName} as JSON")
        }
    }

    private fun string(b: StringBuilder, s: String) {
        b.append('"')
        for (c in s) {
            when {
                c == '"' -> b.append("\\\"")
                c == '\\' -> b.append("\\\\")
                c == '\n' -> b.append("\\n")
                c == '\t' -> b.append("\\t")
                c == '\r' -> b.append("\\r")
                // the other controls, and the two line separators JavaScript reads as newlines
                c < ' ' || c == '\u2028' || c == '\u2029' || c == '\u007f' ->
                    b.append("\\u").append(String.format(java.util.Locale.ROOT, "%04x", c.toInt()))
                else -> b.append(c)
            }
        }
        b.append('"')
    }
}
