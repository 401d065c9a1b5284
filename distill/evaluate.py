"""Evaluation shared by teacher and student: Tatoeba bitext retrieval, STS17 Spearman, and
retrieval on the corpus's own dev split. An encoder is anything with `encode(texts)` that
returns L2-normalised rows."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from distill.errors import EdgekitError

# the languages of the headline results (ISO 639-3, as Tatoeba names them)
TATOEBA_DEFAULT = ["deu", "fra", "spa", "ita", "nld", "por", "rus", "pol", "tur", "ara", "cmn",
                   "jpn"]
STS17_PAIRS = ["ar-ar", "en-ar", "en-de", "en-en", "en-tr", "es-en", "es-es", "fr-en", "it-en",
               "nl-en"]


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray: ...


def retrieval_accuracy(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Row i of `a` translates row i of `b`: accuracy of a->b and b->a nearest neighbours."""
    sim = a @ b.T
    gold = np.arange(len(a))
    return float((sim.argmax(1) == gold).mean()), float((sim.argmax(0) == gold).mean())


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    def ranks(v: np.ndarray) -> np.ndarray:
        order = v.argsort(kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for value in np.unique(v):  # average the ranks of ties
            tie = v == value
            r[tie] = r[tie].mean()
        return r
    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    return float(np.corrcoef(rx, ry)[0, 1])


def tatoeba_languages(tatoeba_dir: Path) -> list[str]:
    return sorted(p.name.split(".")[1].split("-")[0]
                  for p in Path(tatoeba_dir).glob("tatoeba.*-eng.eng"))


def tatoeba(encoder: Encoder, tatoeba_dir: Path, langs: Sequence[str] | None = None,
            progress: bool = False) -> dict:
    tatoeba_dir = Path(tatoeba_dir)
    available = tatoeba_languages(tatoeba_dir)
    if not available:
        raise EdgekitError(f"no Tatoeba files (tatoeba.xxx-eng.xxx) in {tatoeba_dir}")
    langs = available if langs in (None, ["all"]) else list(langs)
    unknown = [x for x in langs if x not in available]
    if unknown:
        raise EdgekitError(f"unknown Tatoeba language code {', '.join(unknown)}; "
                           f"available: {' '.join(available)} (or 'all')")
    per_lang = {}
    for lang in langs:
        xx = _lines(tatoeba_dir / f"tatoeba.{lang}-eng.{lang}")
        en = _lines(tatoeba_dir / f"tatoeba.{lang}-eng.eng")
        if len(xx) != len(en):
            raise EdgekitError(f"Tatoeba {lang}: the two files differ in length")
        x2e, e2x = retrieval_accuracy(encoder.encode(xx, progress=progress),
                                      encoder.encode(en, progress=progress))
        per_lang[lang] = {"xx2en": 100 * x2e, "en2xx": 100 * e2x, "mean": 50 * (x2e + e2x)}
    return {"languages": per_lang, "mean": float(np.mean([v["mean"] for v in
                                                          per_lang.values()]))}


def sts17_rows(path: Path) -> list[dict[str, str]]:
    """One STS17 file's rows: sentence1, sentence2, score."""
    with Path(path).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def sts17(encoder: Encoder, sts_dir: Path, progress: bool = False) -> dict:
    files = sorted(Path(sts_dir).glob("STS17.*.tsv"))
    if not files:
        raise EdgekitError(f"no STS17 files (STS17.xx-yy.tsv) in {sts_dir}")
    per_pair = {}
    for f in files:
        rows = sts17_rows(f)
        a = encoder.encode([r["sentence1"] for r in rows], progress=progress)
        b = encoder.encode([r["sentence2"] for r in rows], progress=progress)
        per_pair[f.stem.split(".")[1]] = 100 * spearman((a * b).sum(1),
                                                        [float(r["score"]) for r in rows])
    return {"pairs": per_pair, "mean": float(np.mean(list(per_pair.values())))}


def dev_retrieval(encoder: Encoder, dev: Sequence[tuple[str, str, str]],
                  max_per_lang: int = 500) -> dict:
    """Retrieval accuracy (mean of both directions, %) on the corpus's dev pairs."""
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for lang, en, xx in dev:
        if len(by_lang[lang]) < max_per_lang:
            by_lang[lang].append((en, xx))
    per_lang = {}
    for lang, pairs in sorted(by_lang.items()):
        if len(pairs) < 2:
            continue
        a2b, b2a = retrieval_accuracy(encoder.encode([x for _, x in pairs]),
                                      encoder.encode([e for e, _ in pairs]))
        per_lang[lang] = 50 * (a2b + b2a)
    mean = float(np.mean(list(per_lang.values()))) if per_lang else float("nan")
    return {"languages": per_lang, "mean": mean}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")
