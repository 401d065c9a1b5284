package edgekit.core

import java.io.File
import kotlin.system.exitProcess

/** `tokenize TOKENIZER_JSON TEXT_FILE`: one JSON array of token ids per input line. */
fun main(args: Array<String>) {
    if (args.size != 2) {
        System.err.println("usage: tokenize TOKENIZER_JSON TEXT_FILE")
        exitProcess(2)
    }
    val tokenizer = try {
        Tokenizer.fromFile(args[0])
    } catch (e: Exception) {
        System.err.println("tokenize: error: cannot read ${args[0]}: ${e.message}")
        exitProcess(2)
    }
    val file = File(args[1])
    if (!file.isFile) {
        System.err.println("tokenize: error: no such file ${args[1]}")
        exitProcess(2)
    }
    val out = System.out.bufferedWriter()
    file.forEachLine(Charsets.UTF_8) { line ->
        out.write(tokenizer.encode(line).ids.joinToString(",", "[", "]"))
        out.newLine()
    }
    out.flush()
}
