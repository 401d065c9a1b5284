// Plain Kotlin, no Android APIs: the same sources are compiled and tested on this repository's
// CI with Debian's kotlinc (tools/build-core, tools/test-core).
plugins { id("org.jetbrains.kotlin.jvm") }

kotlin { jvmToolchain(17) }

dependencies {
    testImplementation("org.junit.jupiter:junit-jupiter:5.9.2")
}

tasks.test {
    useJUnitPlatform()
    // -Pbundle=PATH -Pparity=FILE pass the data the tests check against
    project.findProperty("bundle")?.let { systemProperty("edgekit.bundle", it) }
    project.findProperty("parity")?.let { systemProperty("edgekit.parity", it) }
}
