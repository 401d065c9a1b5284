"""General-domain training text from this machine's package archives, one module per source.

Each module has `load(langs, cache) -> Rows` (fetch the files, read them) beside a plain
`read...` function from the unpacked files to rows, plus its `LICENCE` and `KIND`.
`gather` cleans what they give the same way for every source: sentences cut where that
keeps pairs aligned, length limits, a language check, de-duplication across sources, the
contamination filter against the evaluation sets; at most `max_per_source` rows per source
and language, the first clean ones in a fixed-seed random order (the rest are not examined).
It counts what each step dropped.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from types import ModuleType

from distill.errors import EdgekitError
from distill.progress import progress_bar
from distill.sources import (
    debian_handbook,
    fortunes,
    gnome_user_docs,
    libreoffice_help,
    nlp_corpus,
    trans_de_en,
    udhr,
    wordfreq_words,
)
from distill.sources.clean import (
    MAX_CHARS,
    aligned_sentences,
    is_language,
    length_problem,
    split_sentences,
)
from distill.sources.contamination import EvalIndex, normalise

SOURCES: dict[str, ModuleType] = {
    "fortunes": fortunes, "trans-de-en": trans_de_en, "libreoffice-help": libreoffice_help,
    "debian-handbook": debian_handbook, "gnome-user-docs": gnome_user_docs,
    "wordfreq": wordfreq_words, "nlp-corpus": nlp_corpus, "udhr": udhr,
}


def check_sources(names: Iterable[str]) -> None:
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise EdgekitError(f"unknown source {', '.join(map(repr, unknown))}; choose from "
                           f"{', '.join(SOURCES)}")


class Gathered:
    """Cleaned rows of every source, and per source and language what was kept and why the
    rest was dropped."""

    def __init__(self) -> None:
        self.pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.mono: list[tuple[str, str]] = []
        self.stats: dict[str, dict[str, dict]] = defaultdict(dict)
        self._seen: set[tuple[str, str]] = set()

    def count(self, source: str, lang: str) -> dict:
        return self.stats[source].setdefault(
            lang, {"kept": 0, "characters": 0, "dropped": Counter()})

    def first_time(self, lang: str, text: str) -> bool:
        key = (lang, normalise(text))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def gather(names: Iterable[str], langs: list[str], cache: Path,
           exclude: EvalIndex | None = None, max_per_source: int | None = None,
           progress: Callable[[str], None] = lambda name: None) -> Gathered:
    """Every source in `names` read for `langs` (and English, for the monolingual ones)."""
    names = list(dict.fromkeys(names))
    check_sources(names)
    out = Gathered()
    wanted = sorted(set(langs) | {"en"})
    for name in progress_bar(names, desc="sources", unit="source"):
        progress(name)
        module = SOURCES[name]
        rows = module.load(wanted, cache)
        min_chars = getattr(module, "MIN_CHARS", None)
        for lang in sorted(rows.pairs):
            out.pairs[lang] += _take(out, name, lang, rows.pairs[lang], max_per_source,
                                     partial(_clean_pair, out, name, lang, exclude))
        by_lang: dict[str, list[str]] = defaultdict(list)
        for lang, text in rows.mono:
            by_lang[lang].append(text)
        for lang in sorted(by_lang):
            out.mono += [(lang, t) for t in _take(
                out, name, lang, by_lang[lang], max_per_source,
                partial(_clean_mono, out, name, lang, exclude, min_chars))]
    for source in out.stats.values():
        for c in source.values():
            c["dropped"] = dict(sorted(c["dropped"].items()))
    return out


def _clean_pair(out: Gathered, source: str, lang: str, exclude: EvalIndex | None,
                pair: tuple[str, str]) -> list[tuple[str, str]]:
    en, xx = pair
    c = out.count(source, lang)
    if en.casefold() == xx.casefold():
        c["dropped"]["untranslated"] += 1
        return []
    if not is_language(xx, lang):
        c["dropped"]["not the language"] += 1
        return []
    kept = []
    for a, b in aligned_sentences(en, xx):
        reason = length_problem(a) or length_problem(b)
        if reason is None and not out.first_time(lang, b):
            reason = "duplicate"
        if reason is None and exclude is not None and (exclude.contains(a)
                                                       or exclude.contains(b)):
            reason = "evaluation overlap"
        if reason:
            c["dropped"][reason] += 1
        else:
            kept.append((a, b))
    return kept


def _clean_mono(out: Gathered, source: str, lang: str, exclude: EvalIndex | None,
                min_chars: int | None, text: str) -> list[str]:
    c = out.count(source, lang)
    kept = []
    for s in [text] if len(text) <= MAX_CHARS else split_sentences(text):
        reason = length_problem(s) if min_chars is None or len(s) > MAX_CHARS else None
        if reason is None and not is_language(s, lang):
            reason = "not the language"
        if reason is None and not out.first_time(lang, s):
            reason = "duplicate"
        if reason is None and exclude is not None and exclude.contains(s):
            reason = "evaluation overlap"
        if reason:
            c["dropped"][reason] += 1
        else:
            kept.append(s)
    return kept


def _take(out: Gathered, source: str, lang: str, raw: list, limit: int | None,
          clean: Callable[[object], list]) -> list:
    """Clean the raw rows in a fixed-seed random order until `limit` rows are kept; the rows
    never reached are counted as over the limit."""
    raw = list(raw)
    random.Random(f"{source}/{lang}").shuffle(raw)
    c = out.count(source, lang)
    kept: list = []
    for n, row in enumerate(raw):
        if limit and len(kept) >= limit:
            c["dropped"]["over max_per_source"] += len(raw) - n
            break
        kept += clean(row)[: (limit - len(kept)) if limit else None]
    c["kept"] += len(kept)
    c["characters"] += sum(len(r) if isinstance(r, str) else len(r[0]) + len(r[1])
                           for r in kept)
    return kept
