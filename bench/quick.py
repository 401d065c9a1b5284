"""The quick benchmark `edgekit build` ends with: sentences per second of each runtime in a
bundle on its golden texts, tokenisation included. The full device-profile benchmarks are
`edgekit bench` (issue #5); this is a smoke figure, measured on the host as it is."""

from __future__ import annotations

import json
import time

from export.bundle import Bundle


def quick_bench(bundle: Bundle, seconds: float = 3.0) -> dict:
    items = json.loads((bundle.folder / "golden.json").read_text("utf-8"))["items"]
    # the over-long golden text would log a truncation warning on every pass
    texts = [item["text"] for item in items if len(item["ids"]) < bundle.max_len]
    result = {}
    for model in bundle.models:
        runtime, precision = model["runtime"], model["precision"]
        run = bundle.tag if bundle.labels else bundle.encode  # tagger or encoder
        run(texts[:4], runtime, precision)  # load and warm up
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            run(texts, runtime, precision)
            done += len(texts)
        elapsed = time.perf_counter() - started
        result[f"{runtime}-{precision}"] = {"sentences_per_s": round(done / elapsed, 1),
                                            "ms_per_sentence": round(1000 * elapsed / done, 2)}
    return result
