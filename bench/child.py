"""One measurement in its own process, under a device profile's limits.

Reads a job (JSON) on stdin, prints the result (JSON) as the last line of stdout. The limits
are applied before the model is touched: CPU affinity to the profile's cores, the runtime's
thread count, and an address-space cap (RLIMIT_AS) of what the process already maps plus the
profile's memory budget, so the budget is what loading and running the model may add on top
of the Python runtime itself. Any failure is reported as an error; the parent re-runs the job
without the cap to tell "exceeds the memory budget" from a real error.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import numpy as np


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _runner(job: dict):
    """(load seconds, run(ids) -> embedding) for one model file under the job's threads."""
    threads, path = job["threads"], job["model_file"]
    if job["runtime"] == "executorch":
        from export.runtimes import executorch_bindings, executorch_runner

        executorch_bindings()._unsafe_reset_threadpool(threads)
        started = time.perf_counter()
        run = executorch_runner(path)
    else:
        from export.runtimes import onnx_runner

        started = time.perf_counter()
        run = onnx_runner(path, job["pad_id"], threads=threads)
    return time.perf_counter() - started, run


def measure(job: dict) -> dict:
    os.sched_setaffinity(0, job["cores"])
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(job["tokenizer"])
    # import the runtime's code before the cap: the budget is for the model, not for Python
    import export.runtimes

    if job["runtime"] == "executorch":
        export.runtimes.executorch_bindings()
    else:
        import onnxruntime  # noqa: F401
    base_rss = _status_kb("VmRSS")
    if job["memory_mb"] is not None:
        budget = job["memory_mb"] << 20
        resource.setrlimit(resource.RLIMIT_AS, (_status_kb("VmSize") * 1024 + budget,) * 2)

    load_s, run = _runner(job)
    sequences = {int(k): v for k, v in job["sequences"].items()}
    started = time.perf_counter()
    run([sequences[32]])
    first_s = time.perf_counter() - started
    latency = {}
    for length, ids in sorted(sequences.items()):
        for _ in range(job["warmup"]):
            run([ids])
        times = []
        for _ in range(job["runs"]):
            t = time.perf_counter()
            run([ids])
            times.append(time.perf_counter() - t)
        ms = np.array(times) * 1000
        latency[str(length)] = {q: round(float(np.percentile(ms, p)), 3)
                                for q, p in (("p50", 50), ("p95", 95), ("p99", 99))}
        latency[str(length)]["runs"] = len(times)
    # throughput as an app sees it: one sentence at a time, tokenisation included
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < job["throughput_seconds"] or done == 0:
        for text in job["texts"]:
            run([tokenizer.encode(job["text_prefix"] + text).ids])
            done += 1
    throughput = done / (time.perf_counter() - started)
    peak = _status_kb("VmHWM")
    return {"status": "ok", "load_ms": round(load_s * 1000, 2),
            "first_inference_ms": round(first_s * 1000, 2), "latency_ms": latency,
            "sentences_per_s": round(throughput, 1),
            "peak_rss_mb": round(peak / 1024, 1),
            "model_rss_mb": round((peak - base_rss) / 1024, 1)}


def main() -> None:
    job = json.loads(sys.stdin.read())
    try:
        result = measure(job)
    except Exception as e:  # the parent decides what a failure under the cap means
        result = {"status": "error", "detail": f"{type(e).__name__}: {e}"[-300:]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
