"""Frank Richter's German-English dictionary (Debian's trans-de-en): `de :: en` entries whose
aligned sub-entries are separated by `|`. Parallel, de only: its example sentences and its
multi-word phrases (the first of `;`-separated synonyms), annotations ({f}, [geol.], <...>)
removed. Single words are left to the vocabulary."""

from __future__ import annotations

import re
from pathlib import Path

from distill.sources import fetch
from distill.sources.rows import Rows

LICENCE = "GPL-2+"
KIND = "parallel"
_NOTE = re.compile(r"\{[^}]*\}|\[[^\]]*\]|<[^>]*>")


def _plain(entry: str) -> str:
    return " ".join(_NOTE.sub("", entry.split(";")[0]).split())


def read(path: Path) -> list[tuple[str, str]]:
    """(en, de) pairs from the dictionary file."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("#") or " :: " not in line:
                continue
            de_side, en_side = line.rstrip("\n").split(" :: ", 1)
            de_parts, en_parts = de_side.split(" | "), en_side.split(" | ")
            if len(de_parts) != len(en_parts):
                continue
            for de, en in zip(de_parts, en_parts, strict=True):
                de, en = _plain(de), _plain(en)
                if len(de.split()) >= 2 and len(en.split()) >= 2:
                    out.append((en, de))
    return out


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    if "de" in langs:
        rows.pairs["de"] += read(fetch.debian("trans-de-en", cache) / "usr/share/trans/de-en")
    return rows
