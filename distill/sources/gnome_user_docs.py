"""GNOME's desktop help (Debian's gnome-user-docs): Mallard `.page` files per language, their
`<p>` paragraphs in page order (C/ is the English original). Parallel."""

from __future__ import annotations

import re
from pathlib import Path

from distill.data import locale_language
from distill.sources import fetch
from distill.sources.clean import strip_markup
from distill.sources.rows import Rows, pages, pages_paired

LICENCE = "CC-BY-SA-3.0"
KIND = "parallel"
_PARA = re.compile(r"<p(?:\s[^>]*)?>(.*?)</p>", re.S)


def paragraphs(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8", errors="replace")
    body = text.split("</info>", 1)[-1]  # credits and links live in <info>
    return [strip_markup(p) for p in _PARA.findall(body)]


def read(en_root: Path, xx_root: Path,
         english: dict[Path, list[str]] | None = None) -> list[tuple[str, str]]:
    """(en, xx) paragraph pairs of the pages whose paragraph counts agree."""
    if english is None:
        english = pages(en_root, "*.page", paragraphs)
    return pages_paired(english, xx_root, paragraphs)


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    help_dir = fetch.debian("gnome-user-docs", cache) / "usr/share/help"
    english = pages(help_dir / "C", "*.page", paragraphs)
    for d in sorted(help_dir.iterdir()):
        lang = locale_language(d.name)
        if d.name != "C" and lang in langs and "@" not in d.name:
            rows.pairs[lang] += read(help_dir / "C", d, english)
    return rows
