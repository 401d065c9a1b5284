"""Single words as teacher inputs: each language's most frequent words from `wordfreq`
(subtitles, Wikipedia, news, web; shipped inside its wheel, offline). Monolingual. The
student meets every frequent word of a language at least once."""

from __future__ import annotations

from pathlib import Path

from distill.sources.rows import Rows
from distill.vocab import word_list

LICENCE = "Apache-2.0 (code) / CC-BY-SA-4.0 (data)"
KIND = "mono"
WORDS = 5000
MIN_CHARS = 1  # a word is a text of its own


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    for lang in langs:
        rows.mono += [(lang, w) for w, _ in word_list(lang, WORDS) if any(c.isalpha() for c in w)]
    return rows
