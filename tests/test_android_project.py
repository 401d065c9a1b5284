"""The Android project checked statically (no Android SDK here): tools/check-gradle passes on
the repository's project and names each defect planted in a copy of it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

CHECK = REPO / "android_demo" / "tools" / "check-gradle"


def check(root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)


def test_the_gradle_project_is_complete():
    p = check(REPO / "android_demo")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"


@pytest.mark.parametrize("file, old, new, message", [
    ("gradle.properties", "android.useAndroidX=true", "", "android.useAndroidX=true"),
    ("app/build.gradle.kts", "executorch-android:1.5.1", "executorch-android:0.6.0",
     "executorch-android 0.6.0 differs from the executorch wheel 1.5.1"),
    ("gradle/wrapper/gradle-wrapper.properties", "gradle-8.11.1-bin", "gradle-8.4-bin",
     "Gradle 8.4 is too old for the Android Gradle plugin 8.5.2 (needs 8.7)"),
    ("core/build.gradle.kts", "plugins {", "kotlin { jvmToolchain(17) }\nplugins {",
     "core/build.gradle.kts asks for a JVM toolchain"),
    (".gitignore", "local.properties\n", "", ".gitignore does not list local.properties"),
])
def test_each_defect_is_named(tmp_path, file, old, new, message):
    shutil.copytree(REPO / "android_demo", tmp_path / "android_demo",
                    ignore=shutil.ignore_patterns("build", "assets"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "android_demo" / file
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))
    p = check(tmp_path / "android_demo")
    assert p.returncode == 1 and message in p.stderr, p.stderr


def test_a_missing_wrapper_is_named(tmp_path):
    shutil.copytree(REPO / "android_demo", tmp_path / "android_demo",
                    ignore=shutil.ignore_patterns("build", "assets", "gradle-wrapper.jar"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    p = check(tmp_path / "android_demo")
    assert p.returncode == 1 and "gradle/wrapper/gradle-wrapper.jar is missing" in p.stderr
