plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.edgekit.demo"
    compileSdk = 34
    defaultConfig {
        applicationId = "dev.edgekit.demo"
        minSdk = 26
        targetSdk = 34
        versionCode = 1
        versionName = "0.1"
        ndk { abiFilters += listOf("arm64-v8a", "x86_64") }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    // the model must stay a plain file: Module.load needs a path, and compression would copy it
    androidResources { noCompress += listOf("pte", "onnx", "json") }
}

dependencies {
    implementation(project(":core"))
    // keep this equal to the `executorch` wheel that exported the .pte (pyproject.toml;
    // tools/check-gradle checks it). It brings its own fbjni and soloader's nativeloader.
    implementation("org.pytorch:executorch-android:1.5.1")
}
