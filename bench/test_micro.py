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
