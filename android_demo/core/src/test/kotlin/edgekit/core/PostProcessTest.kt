package edgekit.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import java.io.File

/** The calibration the app applies after the program, against what Python wrote in the
 *  bundle's golden.json (-Dedgekit.bundle=DIR, a calibrated encoder). */
class PostProcessTest {
    @Test
    fun goldenEmbeddingsPostProcessAsInPython() {
        val folder = System.getProperty("edgekit.bundle")?.let { File(it) }
        assumeTrue(folder != null, "no -Dedgekit.bundle given")
        val post = Bundle.load(folder!!).postProcess()
        assertNotNull(post, "the bundle has no post_process.json")
        val items = Json.parse(File(folder, "golden.json").readText()).obj()["items"].arr()
        for (item in items.map { it.obj() }) {
            fun floats(key: String) = item[key].arr().map { (it as Double).toFloat() }.toFloatArray()
            val got = post!!.apply(floats("embedding"))
            assertTrue(cosine(got, floats("post_processed")) > 0.99999f, "text: ${item["text"]}")
        }
    }

    @Test
    fun centreAndDirectionsAreRemovedAndTheResultIsUnitLength() {
        val post = PostProcess(floatArrayOf(1f, 0f, 0f), listOf(floatArrayOf(0f, 1f, 0f)))
        val got = post.apply(floatArrayOf(3f, 5f, 4f))  // (2, 5, 4) -> (2, 0, 4) -> unit
        val n = Math.sqrt(20.0).toFloat()
        assertEquals(2f / n, got[0], 1e-6f)
        assertEquals(0f, got[1], 1e-6f)
        assertEquals(4f / n, got[2], 1e-6f)
        assertThrows(BundleException::class.java) { post.apply(floatArrayOf(1f, 2f)) }
    }

    @Test
    fun aMalformedFileIsAMessageNotACrash() {
        for (text in listOf("[1, 2]", """{"center": [1, 2]}""", """{"center": [1], "directions": [[1, 2]]}""", "{"))
            assertThrows(BundleException::class.java) { PostProcess.fromJson(text) }
    }
}
