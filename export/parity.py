"""Parity between the PyTorch reference and the exported models, and the thresholds that fail
the export when it is broken."""

from __future__ import annotations

import numpy as np

from distill.errors import EdgekitError

# minimum cosine per text, and mean over texts, each exported model must reach
THRESHOLDS = {"fp32": (0.9999, 0.9999), "int8": (0.99, 0.995)}


def cosines(reference: np.ndarray | list[np.ndarray], outputs: np.ndarray | list[np.ndarray]
            ) -> dict:
    """Cosine per item (an embedding, or a text's whole logits matrix) and the largest
    absolute difference; for logits also how often the per-token argmax agrees."""
    if len(outputs) != len(reference) or any(
            np.shape(o) != np.shape(r) for o, r in zip(outputs, reference, strict=True)):
        raise EdgekitError(f"exported model returned shapes {[np.shape(o) for o in outputs]}, "
                           f"expected {[np.shape(r) for r in reference]}")
    cos = np.array([float(np.dot(r.ravel(), o.ravel()) / max(
        np.linalg.norm(r) * np.linalg.norm(o), 1e-12)) for r, o in zip(reference, outputs,
                                                                      strict=True)])
    figures = {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6),
               "max_abs_diff": max(float(np.abs(r - o).max()) for r, o in
                                   zip(reference, outputs, strict=True))}
    if np.ndim(reference[0]) == 2:
        same = np.concatenate([r.argmax(-1) == o.argmax(-1) for r, o in
                               zip(reference, outputs, strict=True)])
        figures["tag_agreement"] = round(float(same.mean()), 6)
    return figures


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
