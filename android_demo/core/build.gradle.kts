// Plain Kotlin, no Android APIs: the same sources are compiled and tested on this repository's
// CI with Debian's kotlinc (tools/build-core, tools/test-core).
import org.jetbrains.kotlin.gradle.tasks.KotlinCompile

plugins { id("org.jetbrains.kotlin.jvm") }

// a JVM target, not a toolchain: any JDK >= 17 running Gradle (Android Studio's is 21)
// builds it, without a resolver to download JDK 17
java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}
tasks.withType<KotlinCompile>().configureEach { kotlinOptions.jvmTarget = "17" }

dependencies {
    testImplementation(platform("org.junit:junit-bom:5.9.2"))
    testImplementation("org.junit.jupiter:junit-jupiter")
    testRuntimeOnly("org.junit.platform:junit-platform-launcher")
}

tasks.test {
    useJUnitPlatform()
    // -Pbundle=PATH -Pparity=FILE pass the data the tests check against
    project.findProperty("bundle")?.let { systemProperty("edgekit.bundle", it) }
    project.findProperty("parity")?.let { systemProperty("edgekit.parity", it) }
}
