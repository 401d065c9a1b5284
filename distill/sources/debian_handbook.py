"""The Debian Administrator's Handbook (Debian's debian-handbook): the book in 26 languages,
including Arabic, as HTML whose `<div class="para">` paragraphs come in the same order in
every translation. Parallel."""

from __future__ import annotations

import re
from pathlib import Path

from distill.data import locale_language
from distill.sources import fetch
from distill.sources.clean import strip_markup
from distill.sources.rows import Rows

LICENCE = "GPL-2+ / CC-BY-SA-3.0"
KIND = "parallel"
_PARA = re.compile(r'<div class="para">(.*?)</div>', re.S)


def paragraphs(page: Path) -> list[str]:
    return [strip_markup(p) for p in _PARA.findall(page.read_text(encoding="utf-8"))]


def read(en_root: Path, xx_root: Path) -> list[tuple[str, str]]:
    """(en, xx) paragraph pairs of the chapters whose paragraph counts agree."""
    out = []
    for page in sorted(en_root.glob("*.html")):
        other = xx_root / page.name
        if other.is_file():
            en, xx = paragraphs(page), paragraphs(other)
            if len(en) == len(xx):
                out += list(zip(en, xx, strict=True))
    return out


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    html = fetch.debian("debian-handbook", cache) / "usr/share/doc/debian-handbook/html"
    folders = {locale_language(d.name.replace("-", "_")): d for d in sorted(html.iterdir())
               if d.is_dir() and d.name != "en-US" and "-" in d.name}
    for lang in langs:
        if lang in folders:
            rows.pairs[lang] += read(html / "en-US", folders[lang])
    return rows
