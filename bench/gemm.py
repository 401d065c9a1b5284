"""One int8 Linear, alone, in each runtime: is ExecuTorch's gap to ONNX Runtime in the GEMM
kernel or around it?

    python -m bench.gemm --threads 1 2

Each of the student's Linear shapes (hidden 384, FFN 1536) at 32 and 128 tokens is lowered
the way the bundle lowers the student: dynamic int8 activations with per-channel int8
weights, through XNNPACK for ExecuTorch and `quantize_dynamic` for ONNX Runtime. Both are
timed in this process (median of `--runs` calls after a warm-up) and checked to compute the
same function. Prints a Markdown table; run it with the cores quiet.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

SHAPES = [(384, 384), (384, 1536), (1536, 384)]   # attention projections, FFN in, FFN out
TOKENS = [32, 128]


def _export(linear: nn.Module, x: torch.Tensor):
    return torch.export.export(linear, (x,), strict=False)


def linear_pte(linear: nn.Module, x: torch.Tensor, path: Path) -> None:
    """`linear` as the bundle's int8 .pte lowers it: XNNPACK, QD8 activations."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    from export.to_pte import dynamic_int8_quantizer

    prepared = prepare_pt2e(_export(linear, x).module(), dynamic_int8_quantizer())
    prepared(x)
    program = to_edge_transform_and_lower(_export(convert_pt2e(prepared), x),
                                          partitioner=[XnnpackPartitioner()])
    path.write_bytes(program.to_executorch().buffer)


def linear_onnx(linear: nn.Module, x: torch.Tensor, path: Path) -> None:
    """`linear` as the bundle's int8 .onnx lowers it: dynamic int8 MatMul."""
    from export.to_onnx import quantize_int8

    fp32 = path.with_suffix(".fp32.onnx")
    torch.onnx.export(linear, (x,), str(fp32), input_names=["x"], dynamo=True, verbose=False)
    quantize_int8(fp32, path, ["MatMul"])


def median_ms(call: Callable[[], object], runs: int) -> float:
    for _ in range(max(10, runs // 10)):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3)


def measure(threads: int, runs: int, folder: Path, shapes: list[tuple[int, int]] = SHAPES,
            token_counts: list[int] = TOKENS) -> list[dict]:
    """One row per (tokens, shape): both runtimes' median ms and their outputs' cosine."""
    import onnxruntime as ort
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime

    portable_lib._unsafe_reset_threadpool(threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    rows = []
    torch.manual_seed(0)
    for tokens in token_counts:
        for fan_in, fan_out in shapes:
            linear = nn.Sequential(nn.Linear(fan_in, fan_out)).eval()
            x = torch.randn(1, tokens, fan_in)
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                linear_pte(linear, x, folder / "linear.pte")
                linear_onnx(linear, x, folder / "linear.onnx")
            method = Runtime.get().load_program(folder / "linear.pte").load_method("forward")
            session = ort.InferenceSession(str(folder / "linear.onnx"), options)
            feed = {"x": x.numpy()}
            a = method.execute([x])[0].numpy().ravel()
            b = session.run(None, feed)[0].ravel()
            rows.append({
                "threads": threads, "tokens": tokens, "in": fan_in, "out": fan_out,
                "executorch_ms": median_ms(lambda m=method, x=x: m.execute([x]), runs),
                "onnx_ms": median_ms(lambda s=session, f=feed: s.run(None, f), runs),
                "cosine": float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| threads | tokens × in → out | ExecuTorch ms | ONNX Runtime ms | ExecuTorch / ORT |",
             "|---:|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['threads']} | {r['tokens']} × {r['in']} → {r['out']} | "
                     f"{r['executorch_ms']:.3f} | {r['onnx_ms']:.3f} | "
                     f"{r['executorch_ms'] / r['onnx_ms']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for threads in args.threads:
            rows += measure(threads, args.runs, Path(tmp))
    print(table(rows))


if __name__ == "__main__":
    main()
