"""The static baseline: the teacher distilled into a lookup table by Model2Vec (each piece
through the teacher, PCA, Zipf weights; no corpus, no training), evaluated by the same code
as our students and timed the same way, one sentence at a time on one core.

    python -m bench.static_baseline --tatoeba DIR --sts17 DIR --out build/static-baseline

Needs `model2vec==0.10.0` and `skeletoken` (the `baseline` extra; installed without
model2vec's own `[distill]` extra, which pins an older transformers). Writes the model
(OUT/model/) and OUT/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from distill.evaluate import TATOEBA_DEFAULT, sts17, tatoeba
from distill.teachers import DEFAULT_TEACHER, resolve_teacher
from export.golden import GOLDEN_TEXTS


class StaticEncoder:
    """A Model2Vec model with the evaluation's `encode`: rows L2-normalised."""

    def __init__(self, model):
        self.model = model

    def encode(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = self.model.encode(list(texts), batch_size=batch_size)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def one_core_speed(model, texts: list[str], seconds: float = 5.0) -> float:
    """Sentences/s one at a time, tokeniser included, pinned to one core."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for t in texts:
        model.encode([t])
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            model.encode([t])
            n += 1
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tatoeba", type=Path, required=True)
    ap.add_argument("--sts17", type=Path, required=True)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER)
    ap.add_argument("--pca-dims", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path("build/static-baseline"))
    args = ap.parse_args(argv)
    from model2vec import StaticModel
    from model2vec.distill import distill

    folder = args.out / "model"
    started = time.time()
    if (folder / "config.json").is_file():
        model, distil_s = StaticModel.from_pretrained(str(folder)), None
    else:
        model = distill(model_name=str(resolve_teacher(args.teacher)), pca_dims=args.pca_dims)
        distil_s = round(time.time() - started, 1)
        model.save_pretrained(str(folder))
    encoder = StaticEncoder(model)
    tat = tatoeba(encoder, args.tatoeba, TATOEBA_DEFAULT)
    sts = sts17(encoder, args.sts17)
    texts = [t for _, t in GOLDEN_TEXTS if t.strip()]
    result = {"teacher": args.teacher, "pca_dims": args.pca_dims, "distil_seconds": distil_s,
              "parameters": int(model.embedding.size),
              "tatoeba": tat, "sts17": sts,
              "sentences_per_s_one_core": round(one_core_speed(model, texts), 1)}
    (args.out / "results.json").write_text(json.dumps(result, indent=2))
    print(f"Tatoeba {tat['mean']:.1f}  STS17 {sts['mean']:.1f}  "
          f"{result['sentences_per_s_one_core']} sentences/s (one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
