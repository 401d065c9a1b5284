"""Shared fixtures. The real teacher is materialised once per test session into a temporary
edgekit cache (about 20 s), so the tests never depend on the user's cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# evaluation data beside the checkout; tests that need it skip when it is absent
SHARED_DATA = Path(os.environ.get("EDGEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def edgekit_cache(tmp_path_factory) -> Path:
    cache = Path(os.environ.get("EDGEKIT_TEST_CACHE") or tmp_path_factory.mktemp("cache"))
    os.environ["EDGEKIT_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def teacher(edgekit_cache):
    from distill.teachers import Teacher

    return Teacher("intfloat/multilingual-e5-small")


@pytest.fixture(scope="session")
def student_dir(tmp_path_factory, edgekit_cache):
    """A real tiny student (fr, de; 10 steps)."""
    from edgekit.api import distill

    out = tmp_path_factory.mktemp("student") / "student"
    return distill(preset="tiny", out=out, steps=10)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory, student_dir):
    """The tiny student as a linux bundle: every runtime and precision, and torch/."""
    from export.bundle import export_bundle

    out = tmp_path_factory.mktemp("bundle") / "linux"
    export_bundle(student_dir, out, target="linux")
    return out


@pytest.fixture(scope="session")
def bundle(bundle_dir):
    from export.bundle import Bundle

    return Bundle.load(bundle_dir)
