package edgekit.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.Locale

/** The benchmark screen's report pieces: the JSON writer, numpy's percentiles, VmHWM, the
 *  sentence splitter and the goals, independent of the phone's locale. */
class ReportTest {
    @Test
    fun everyControlCharacterIsEscapedAndReadsBack() {
        val all = (0 until 0x80).map { it.toChar() }.joinToString("") + "\u2028\u2029é漢\"\\"
        val text = JsonWriter.write(mapOf("s" to all))
        assertTrue(text.none { it < ' ' || it == '\u2028' || it == '\u2029' }, text)
        assertEquals(all, Json.parse(text).obj()["s"])
    }

    @Test
    fun nonFiniteNumbersAreRefused() {
        for (bad in listOf(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Float.NaN)) {
            assertThrows(JsonException::class.java) { JsonWriter.write(listOf(1.0, bad)) }
        }
    }

    @Test
    fun numbersIgnoreThePhonesLocale() {
        val saved = Locale.getDefault()
        try {
            Locale.setDefault(Locale.GERMANY)
            val text = JsonWriter.write(mapOf("a" to 0.873, "b" to 3.0, "c" to 12, "d" to 1.5e-7, "e" to null))
            assertEquals("{\"a\":0.873,\"b\":3.0,\"c\":12,\"d\":1.5E-7,\"e\":null}", text)
            assertEquals(1.5e-7, Json.parse(text).obj()["d"])
        } finally {
            Locale.setDefault(saved)
        }
    }

    @Test
    fun percentilesInterpolateLikeNumpy() {
        val v = listOf(4.0, 1.0, 3.0, 2.0)  // numpy.percentile([1,2,3,4], [50, 95, 99])
        assertEquals(2.5, BenchReport.percentile(v, 50.0), 1e-12)
        assertEquals(3.85, BenchReport.percentile(v, 95.0), 1e-12)
        assertEquals(3.97, BenchReport.percentile(v, 99.0), 1e-12)
        assertEquals(7.0, BenchReport.percentile(listOf(7.0), 95.0), 1e-12)
    }

    @Test
    fun peakRssIsVmHwm() {
        val status = "Name:\tapp\nVmPeak:\t 2000000 kB\nVmSize:\t 1900000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t  102400 kB\n"
        assertEquals(150.0, BenchReport.peakRssMb(status), 1e-9)
        assertEquals(100.0, BenchReport.statusMb(status, "VmRSS"), 1e-9)
        if (java.io.File("/proc/self/status").isFile)
            assertTrue(BenchReport.peakRssMb(BenchReport.procStatus()) > 1.0)
    }

    @Test
    fun sentencesSplitOnMoreThanDotSpace() {
        assertEquals(listOf("It opens at 3.30 p.m. today.", "Did he?", "Yes!"),
            BenchReport.sentences("It opens at 3.30 p.m. today. Did he? Yes!"))
        assertEquals(listOf("今天下雨。", "明天晴。"), BenchReport.sentences("今天下雨。明天晴。"))
    }

    @Test
    fun goalsAreCheckedAsTheHostBenchChecksThem() {
        val profile = Profile("mid-range", 2, 512, mapOf("max_file_mb" to 16.0, "max_p95_ms_at_32" to 20.0,
            "max_p95_ms_at_128" to 80.0))
        val fast = Measurement(100.0, 5.0, mapOf(8 to listOf(1.0, 2.0), 32 to listOf(3.0, 4.0),
            128 to listOf(10.0, 90.0)), 500.0, 50.0, 80.0)
        val row = BenchReport.row(profile, "executorch", "int8", "model.pte", 13_900_000, fast)
        assertEquals(30.0, row["model_rss_mb"])
        assertEquals(13.9, row["file_mb"])
        val goals = BenchReport.goals(profile, row, 128)
        assertEquals(listOf(true, true, true, false), goals.map { it["ok"] })
        assertEquals("p95 latency at 128 tokens (ms)", goals.last()["goal"])
        assertEquals(86.0, goals.last()["value"])
        assertFalse(BenchReport.goals(profile, row, 64).any { it["goal"] == "p95 latency at 128 tokens (ms)" })
    }

    private fun bundleWith(dir: java.io.File, files: Map<String, String>, listed: Map<String, String>): java.io.File {
        dir.mkdirs()
        for ((name, text) in files) java.io.File(dir, name).also { it.parentFile.mkdirs() }.writeText(text)
        val entries = listed.entries.joinToString(",") { (name, text) ->
            val bytes = text.toByteArray()
            val sha = java.security.MessageDigest.getInstance("SHA-256").digest(bytes)
                .joinToString("") { String.format(Locale.ROOT, "%02x", it) }
            "\"$name\": {\"size\": ${bytes.size}, \"sha256\": \"$sha\"}"
        }
        java.io.File(dir, "manifest.json").writeText("""{"schema": "edgekit.bundle/1", "max_seq_len": 8,
            "tokenizer": {"file": "t.json", "kind": "unigram"},
            "models": [{"runtime": "executorch", "file": "m.pte"}, {"runtime": "onnx", "file": "m.onnx"}],
            "files": {$entries}}""")
        return dir
    }

    @Test
    fun aBundleIsConfinedToItsFolderAndMayLackOtherRuntimes() {
        val tmp = java.nio.file.Files.createTempDirectory("bundle").toFile()
        try {
            val files = mapOf("t.json" to "{}", "m.pte" to "program", "m.onnx" to "graph")
            val whole = bundleWith(java.io.File(tmp, "whole"), files, files)
            Bundle.load(whole)
            java.io.File(whole, "m.onnx").delete()  // the app copies only what it runs
            assertThrows(BundleException::class.java) { Bundle.load(whole) }
            Bundle.load(whole, runtime = "executorch")
            val outside = java.io.File(tmp, "outside").also { it.mkdirs(); java.io.File(it, "secret").writeText("x") }
            val sneaky = bundleWith(java.io.File(tmp, "sneaky"), files, files + ("sub/secret" to "x"))
            java.nio.file.Files.createSymbolicLink(java.io.File(sneaky, "sub").toPath(), outside.toPath())
            val e = assertThrows(BundleException::class.java) { Bundle.load(sneaky) }
            assertTrue(e.message!!.contains("outside the bundle: sub/secret"), e.message)
        } finally {
            tmp.deleteRecursively()
        }
    }
}
