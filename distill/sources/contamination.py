"""The contamination filter: no training text may equal, or nearly equal, a sentence of an
evaluation set. Texts are compared normalised (case-folded, punctuation and spaces
squeezed); "nearly" is a Jaccard similarity of character 5-grams of at least 0.8.

Near-duplicates are found with prefix filtering: order every 5-gram the same way (rarest in
the evaluation sets first); two sets with Jaccard >= t must share one of the first
|x| - ceil(t|x|) + 1 grams of each, so only sentences sharing such a gram are compared.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from distill.errors import EdgekitError

THRESHOLD, N = 0.8, 5
_PUNCT = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def grams(norm: str) -> frozenset[str]:
    if len(norm) <= N:
        return frozenset([norm])
    return frozenset(norm[i : i + N] for i in range(len(norm) - N + 1))


def _prefix_length(size: int) -> int:
    return size - math.ceil(THRESHOLD * size) + 1


class EvalIndex:
    """Every sentence of the evaluation sets, ready for `contains`."""

    def __init__(self, sentences: Iterable[str]):
        self.exact = {normalise(s) for s in sentences}
        self.exact.discard("")
        self.sets = [grams(s) for s in self.exact]
        freq = Counter(g for gs in self.sets for g in gs)
        # the global order: rarest first; a gram no evaluation sentence has goes before all
        self.order = {g: i for i, g in enumerate(sorted(freq, key=lambda g: (freq[g], g)))}
        self.by_gram: dict[int, list[int]] = defaultdict(list)
        for i, gs in enumerate(self.sets):
            for g in sorted(self.order[g] for g in gs)[: _prefix_length(len(gs))]:
                self.by_gram[g].append(i)

    def __len__(self) -> int:
        return len(self.exact)

    def contains(self, text: str) -> bool:
        norm = normalise(text)
        if norm in self.exact:
            return True
        gs = grams(norm)
        known = [self.order[g] for g in gs if g in self.order]
        room = _prefix_length(len(gs)) - (len(gs) - len(known))  # unknown grams come first
        if room <= 0:
            return False
        candidates = {i for g in heapq.nsmallest(room, known) for i in self.by_gram.get(g, ())}
        return any(len(gs & self.sets[i]) >= THRESHOLD * len(gs | self.sets[i])
                   for i in candidates)

    @classmethod
    def from_dirs(cls, dirs: Iterable[Path]) -> EvalIndex:
        return cls(s for d in dirs for s in eval_sentences(Path(d)))


def eval_sentences(folder: Path) -> Iterator[str]:
    """The sentences of the evaluation files under `folder`: Tatoeba's `tatoeba.*` (one per
    line), STS `*.tsv` (every text column), Universal NER `*.iob2` / `*.conllu` (`# text`)."""
    if not folder.is_dir():
        raise EdgekitError(f"--exclude {folder}: no such folder (give the folder of the "
                           "Tatoeba, STS17 or UNER files)")
    found = False
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        lines = _lines(f)
        if f.name.startswith("tatoeba."):
            yield from lines
        elif f.suffix == ".tsv":
            yield from (col for line in lines for col in line.split("\t")
                        if sum(ch.isalpha() for ch in col) >= 2)
        elif f.suffix in (".iob2", ".conllu"):
            yield from (line.split("=", 1)[1].strip() for line in lines
                        if line.startswith("# text") and "=" in line)
        else:
            continue
        found = True
    if not found:
        raise EdgekitError(f"--exclude {folder}: no evaluation files in it (tatoeba.*, "
                           "*.tsv, *.iob2 or *.conllu)")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()
