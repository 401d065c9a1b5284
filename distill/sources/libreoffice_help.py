"""LibreOffice's help (Debian's libreoffice-help-XX): the same HTML pages in each language,
paragraphs aligned by file path and `id="par_id..."`. Parallel."""

from __future__ import annotations

import re
from pathlib import Path

from distill.sources import fetch
from distill.sources.clean import strip_markup
from distill.sources.rows import Rows, pages

LICENCE = "MPL-2.0"
KIND = "parallel"
_CODES = {"zh": "zh-cn", "pt": "pt", "en": "en-us"}  # language -> package suffix
_FOLDERS = {"zh-cn": "zh-CN", "en-us": "en-US"}       # package suffix -> help folder
_HELP = "usr/share/libreoffice/help"
_PARA = re.compile(r'<(p|h\d|td)\b[^>]*\bid="(par_id[^"]*)"[^>]*>(.*?)</\1>', re.S)


def paragraphs(page: Path) -> dict[str, str]:
    """id -> text of the page's identified paragraphs."""
    text = page.read_text(encoding="utf-8", errors="replace")
    return {pid: strip_markup(body) for _, pid, body in _PARA.findall(text)}


def read(en_root: Path, xx_root: Path,
         english: dict[Path, dict[str, str]] | None = None) -> list[tuple[str, str]]:
    """(en, xx) for every paragraph both help folders have, by page path and id."""
    out = []
    for page, en_paragraphs in (english or pages(en_root, "*.html", paragraphs)).items():
        other = xx_root / page
        if not other.is_file():
            continue
        xx = paragraphs(other)
        out += [(en, xx[pid]) for pid, en in en_paragraphs.items() if xx.get(pid)]
    return out


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    codes = {lang: _CODES.get(lang, lang) for lang in langs if lang != "en"}
    packages = {lang: f"libreoffice-help-{c}" for lang, c in codes.items()}
    known = fetch.known_debian_packages(list(packages.values()))
    packages = {lang: name for lang, name in packages.items() if name in known}
    if packages:
        roots = fetch.debian_packages([f"libreoffice-help-{_CODES['en']}",
                                       *packages.values()], cache)
        folder = {lang: roots[name] / _HELP / _FOLDERS.get(codes[lang], codes[lang])
                  for lang, name in packages.items()}
        en_root = roots[f"libreoffice-help-{_CODES['en']}"] / _HELP / _FOLDERS["en-us"]
        english = pages(en_root, "*.html", paragraphs)
        for lang in packages:
            rows.pairs[lang] += read(en_root, folder[lang], english)
    return rows
