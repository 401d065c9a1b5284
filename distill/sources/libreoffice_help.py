"""LibreOffice's help (Debian's libreoffice-help-XX): the same HTML pages in each language,
paragraphs aligned by file path and `id="par_id..."`. Parallel."""

from __future__ import annotations

import re
from pathlib import Path

from distill.sources import fetch
from distill.sources.clean import strip_markup
from distill.sources.rows import Rows

LICENCE = "MPL-2.0"
KIND = "parallel"
_CODES = {"zh": "zh-cn", "pt": "pt", "en": "en-us"}  # language -> package suffix
_FOLDERS = {"zh-cn": "zh-CN", "en-us": "en-US"}       # package suffix -> help folder
_PARA = re.compile(r'<(p|h\d|td)\b[^>]*\bid="(par_id[^"]*)"[^>]*>(.*?)</\1>', re.S)


def paragraphs(page: Path) -> dict[str, str]:
    """id -> text of the page's identified paragraphs."""
    text = page.read_text(encoding="utf-8", errors="replace")
    return {pid: strip_markup(body) for _, pid, body in _PARA.findall(text)}


def read(en_root: Path, xx_root: Path) -> list[tuple[str, str]]:
    """(en, xx) for every paragraph both help folders have, by page path and id."""
    out = []
    for page in sorted(en_root.rglob("*.html")):
        other = xx_root / page.relative_to(en_root)
        if not other.is_file():
            continue
        xx = paragraphs(other)
        out += [(en, xx[pid]) for pid, en in paragraphs(page).items() if xx.get(pid)]
    return out


def _help_folder(code: str, cache: Path) -> Path:
    return (fetch.debian(f"libreoffice-help-{code}", cache) / "usr/share/libreoffice/help"
            / _FOLDERS.get(code, code))


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    codes = {lang: _CODES.get(lang, lang) for lang in langs if lang != "en"}
    codes = {lang: c for lang, c in codes.items()
             if fetch.debian_package_exists(f"libreoffice-help-{c}")}
    if codes:
        en_root = _help_folder("en-us", cache)
        for lang, code in codes.items():
            rows.pairs[lang] += read(en_root, _help_folder(code, cache))
    return rows
