"""How closely students' embeddings follow the teacher's, per language of STS17's sentences:
the mean cosine between student and teacher, and between their directions from the
teacher's mean over those sentences (what tells sentences apart once the shared component
is gone). Raw embeddings: the students' calibration is left out.

    python -m bench.teacher_fit STUDENT [STUDENT ...] --sts17 DIR

Writes a markdown table to stdout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from distill.evaluate import sts17_rows
from distill.student import StudentEncoder
from distill.teachers import Teacher

TEXTS_PER_LANGUAGE = 600


def sts17_sentences(sts_dir: Path) -> dict[str, list[str]]:
    """Each language's distinct STS17 sentences (at most TEXTS_PER_LANGUAGE, sorted)."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(sts_dir).glob("STS17.*.tsv")):
        first, second = path.stem.split(".")[1].split("-")
        rows = sts17_rows(path)
        found.setdefault(first, set()).update(r["sentence1"] for r in rows)
        found.setdefault(second, set()).update(r["sentence2"] for r in rows)
    return {lang: sorted(texts)[:TEXTS_PER_LANGUAGE] for lang, texts in found.items()}


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("students", nargs="+", type=Path)
    ap.add_argument("--sts17", type=Path, required=True)
    ap.add_argument("--teacher", default="intfloat/multilingual-e5-small")
    args = ap.parse_args()
    texts = sts17_sentences(args.sts17)
    teacher = Teacher(args.teacher)
    target = {lang: unit(teacher.views(t, ["embedding"])["embedding"])
              for lang, t in texts.items()}
    centre = np.concatenate(list(target.values())).mean(0)
    langs = list(texts)
    print("| student | measure | " + " | ".join(langs) + " |")
    print("|---|---|" + "---:|" * len(langs))
    for folder in args.students:
        encoder = StudentEncoder.load(folder)
        encoder.model.clear_calibration()
        own = {lang: unit(encoder.encode(t)) for lang, t in texts.items()}
        plain = [(own[g] * target[g]).sum(1).mean() for g in langs]
        centred = [(unit(own[g] - centre) * unit(target[g] - centre)).sum(1).mean()
                   for g in langs]
        for name, row in (("cosine", plain), ("cosine from the teacher's mean", centred)):
            print(f"| {folder.name} | {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")


if __name__ == "__main__":
    main()
