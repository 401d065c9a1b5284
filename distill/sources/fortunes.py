"""Debian's fortune cookies: quotations, jokes, proverbs and dialogues, the most everyday text
on this machine. Monolingual. Files between `%` lines; `off/` (offensive) is skipped; the
Chinese files colour their titles with terminal codes (stripped by the reader)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from distill.data import ANSI_ESCAPE
from distill.sources import fetch
from distill.sources.rows import Rows

LICENCE = "GPL / BSD / public domain (per package)"
KIND = "mono"
# language -> (package, files or folders under usr/share/games/fortunes)
PACKAGES = {
    "en": [("fortunes-min", ""), ("fortunes", "")],
    "de": [("fortunes-de", "de")], "es": [("fortunes-es", "es")],
    "it": [("fortunes-it", "it")], "pl": [("fortunes-pl", "pl")], "ru": [("fortunes-ru", "ru")],
    "pt": [("fortunes-br", "brasil")], "zh": [("fortunes-zh", "")],
}
_ATTRIBUTION = re.compile(r"^\s*(--|—|~)\s", re.M)


def read(folder: Path, lang: str) -> list[tuple[str, str]]:
    """(lang, text) for every fortune under `folder`, attributions ("-- Author") cut.
    Links, `.dat` indexes and `off/` are skipped; text that is not UTF-8 is dropped."""
    out = []
    for f in _fortune_files(folder):
        raw = ANSI_ESCAPE.sub("", f.read_bytes().decode("utf-8", errors="replace"))
        for entry in re.split(r"^%$", raw, flags=re.M):
            text = " ".join(_ATTRIBUTION.split(entry, maxsplit=1)[0].split())
            if text and "\ufffd" not in text:
                out.append((lang, text))
    return out


def _fortune_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    found = []
    for top, dirs, files in os.walk(folder):  # links to folders are not followed
        dirs[:] = sorted(d for d in dirs if d != "off")
        found += [Path(top) / f for f in sorted(files)
                  if not (Path(top) / f).is_symlink() and not f.endswith((".dat", ".u8"))]
    return found


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    wanted = [(lang, package, sub) for lang in langs for package, sub in PACKAGES.get(lang, [])]
    roots = fetch.debian_packages([package for _, package, _ in wanted], cache) if wanted else {}
    for lang, package, sub in wanted:
        root = roots[package] / "usr/share/games/fortunes"
        rows.mono += read(root / sub if sub else root, lang)
    return rows
