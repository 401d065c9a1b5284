"""The Debian Administrator's Handbook (Debian's debian-handbook): the book in 26 languages,
including Arabic, as HTML whose `<div class="para">` paragraphs come in the same order in
every translation. Parallel."""

from __future__ import annotations

import re
from pathlib import Path

from distill.data import locale_language
from distill.sources import fetch
from distill.sources.clean import strip_markup
from distill.sources.rows import Rows, pages, pages_paired

LICENCE = "GPL-2+ / CC-BY-SA-3.0"
KIND = "parallel"
_PARA = re.compile(r'<div class="para">(.*?)</div>', re.S)


def paragraphs(page: Path) -> list[str]:
    return [strip_markup(p) for p in _PARA.findall(page.read_text(encoding="utf-8"))]


def read(en_root: Path, xx_root: Path,
         english: dict[Path, list[str]] | None = None) -> list[tuple[str, str]]:
    """(en, xx) paragraph pairs of the chapters whose paragraph counts agree."""
    if english is None:
        english = pages(en_root, "*.html", paragraphs)
    return pages_paired(english, xx_root, paragraphs)


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    html = fetch.debian("debian-handbook", cache) / "usr/share/doc/debian-handbook/html"
    folders = {locale_language(d.name.replace("-", "_")): d for d in sorted(html.iterdir())
               if d.is_dir() and d.name != "en-US" and "-" in d.name}
    english = pages(html / "en-US", "*.html", paragraphs)
    for lang in langs:
        if lang in folders:
            rows.pairs[lang] += read(html / "en-US", folders[lang], english)
    return rows
