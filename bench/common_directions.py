"""How to centre a trained student's embeddings: centred on its training text, cleared of its
top k principal directions and of the top m directions that tell its languages apart
(`Student.calibrate`), for several k and m, on Tatoeba (the 12 default languages) and STS17.

    python -m bench.common_directions build/student --corpus build/corpus \
        --tatoeba DIR --sts17 DIR [--k 0 1 2 4 8 16] [--languages 4 8 12]

The student's raw embeddings are computed once per text; each row is the same calibration
`edgekit distill` runs, on the same sample of the corpus (`--languages m`: after each k, m
language directions from the mean embeddings of each language's training text). Writes a
markdown table to stdout.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from distill.evaluate import TATOEBA_DEFAULT, sts17, tatoeba
from distill.student import Student, StudentEncoder
from distill.train import calibration_texts, language_texts


class PostProcessed:
    """An encoder over a student's raw embeddings (computed once per text), post-processed
    by `post`, a student that holds only a calibration."""

    def __init__(self, encoder: StudentEncoder):
        self.encoder, self.raw, self.post = encoder, {}, None

    def raw_of(self, texts: list[str]) -> torch.Tensor:
        todo = [t for t in dict.fromkeys(texts) if t not in self.raw]
        if todo:
            self.raw.update(zip(todo, self.encoder.encode(todo), strict=True))
        return torch.from_numpy(np.stack([self.raw[t] for t in texts]))

    def encode(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        raw = self.raw_of(list(texts))
        return raw.numpy() if self.post is None else self.post.post_process(raw).numpy()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("student", type=Path)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--tatoeba", type=Path, required=True)
    ap.add_argument("--sts17", type=Path, required=True)
    ap.add_argument("--k", type=int, nargs="+", default=[0, 1, 2, 4, 8, 16])
    ap.add_argument("--languages", type=int, nargs="*", default=[],
                    help="also rows that remove m language directions after each k")
    ap.add_argument("--seed", type=int, default=0, help="the distillation's seed")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    encoder = StudentEncoder.load(args.student)
    encoder.model.clear_calibration()
    cached = PostProcessed(encoder)
    sample = cached.raw_of(calibration_texts(args.corpus, args.seed))
    rows = ([("uncentred", None, 0)] + [(f"centred, {k} directions removed", k, 0)
                                       for k in args.k]
            + [(f"centred, {k} + {m} language directions removed", k, m)
               for k in args.k for m in args.languages])
    by_language = [cached.raw_of(texts) for texts in language_texts(args.corpus).values()
                   ] if args.languages else []
    print("| embedding | Tatoeba | STS17 | " + " | ".join(_pairs(args.sts17)) + " |")
    print("|---|---:|---:|" + "---:|" * len(_pairs(args.sts17)))
    for name, k, m in rows:
        cached.post = None
        if k is not None:
            cached.post = Student(replace(encoder.config, common_directions=k,
                                          language_directions=m)).eval()
            cached.post.calibrate(sample, by_language)
        t = tatoeba(cached, args.tatoeba, TATOEBA_DEFAULT)
        s = sts17(cached, args.sts17)
        pairs = " | ".join(f"{v:.1f}" for v in s["pairs"].values())
        print(f"| {name} | {t['mean']:.1f} | {s['mean']:.1f} | {pairs} |", flush=True)
    return 0


def _pairs(sts_dir: Path) -> list[str]:
    return [f.stem.split(".")[1] for f in sorted(sts_dir.glob("STS17.*.tsv"))]


if __name__ == "__main__":
    raise SystemExit(main())
