"""Parity between the PyTorch reference and the exported models, and the thresholds that fail
the export when it is broken."""

from __future__ import annotations

import numpy as np

from distill.errors import EdgekitError

# minimum cosine per text, and mean over texts, each exported model must reach
THRESHOLDS = {"fp32": (0.9999, 0.9999), "int8": (0.99, 0.995)}


def cosines(reference: np.ndarray, outputs: np.ndarray) -> dict:
    if outputs.shape != reference.shape:
        raise EdgekitError(f"exported model returned shape {outputs.shape}, expected "
                           f"{reference.shape}")
    ref = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    out = outputs / np.maximum(np.linalg.norm(outputs, axis=1, keepdims=True), 1e-12)
    cos = (ref * out).sum(1)
    return {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6),
            "max_abs_diff": float(np.abs(reference - outputs).max())}


def check(figures: dict[str, dict]) -> None:
    """figures: {"executorch-int8": cosines(...), ...}; raises when one is under its bar."""
    failures = []
    for key, f in figures.items():
        least, mean = THRESHOLDS[key.rsplit("-", 1)[1]]
        if f["min"] < least or f["mean"] < mean:
            failures.append(f"{key}: cosine min {f['min']:.5f} (needs {least}), mean "
                            f"{f['mean']:.5f} (needs {mean})")
    if failures:
        raise EdgekitError("parity check failed against PyTorch: " + "; ".join(failures))
