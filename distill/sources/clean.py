"""Cleaning every source's text the same way: markup and colour codes out, spaces squeezed,
length limits, a language check, and paragraphs cut into sentences where that keeps them
aligned."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

from distill.data import ANSI_ESCAPE, split_sentences

MIN_CHARS, MAX_CHARS = 8, 300
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[^\W\d_]+")
# scripts a language is written in, for languages wordfreq cannot tell from English by words
_SCRIPTS = {"ar": ("ARABIC",), "fa": ("ARABIC",), "ru": ("CYRILLIC",), "uk": ("CYRILLIC",),
            "bg": ("CYRILLIC",), "el": ("GREEK",), "he": ("HEBREW",), "hi": ("DEVANAGARI",),
            "ko": ("HANGUL",), "zh": ("CJK",), "ja": ("CJK", "HIRAGANA", "KATAKANA")}


def strip_markup(text: str) -> str:
    """Tags, entities and terminal colour codes out; whitespace squeezed to single spaces."""
    text = ANSI_ESCAPE.sub("", _TAG.sub(" ", text))
    return " ".join(html.unescape(text).split())


def length_problem(text: str) -> str | None:
    """'too short' / 'too long' / None: a training text is a sentence or a short paragraph."""
    if len(text) < MIN_CHARS or sum(ch.isalpha() for ch in text) < 2:
        return "too short"
    return "too long" if len(text) > MAX_CHARS else None


@lru_cache(maxsize=64)
def _frequencies(lang: str) -> dict[str, float]:
    import wordfreq

    if lang not in wordfreq.available_languages():
        return {}
    return wordfreq.get_frequency_dict(lang)


def _script_share(text: str, scripts: tuple[str, ...]) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    hits = sum(any(s in unicodedata.name(ch, "") for s in scripts) for ch in letters)
    return hits / len(letters)


def is_language(text: str, lang: str) -> bool:
    """Whether `text` reads as `lang` rather than as English: by script for the languages
    of `_SCRIPTS`, otherwise by which of the two word lists knows its words better. A
    language wordfreq does not cover passes (only a copy of the English is caught, by the
    readers)."""
    if lang in _SCRIPTS:
        return _script_share(text, _SCRIPTS[lang]) >= 0.5
    words = [w.casefold() for w in _WORD.findall(text)]
    if lang == "en" or not words:
        return True
    xx, en = _frequencies(lang), _frequencies("en")
    if not xx:
        return True
    votes = sum((xx.get(w, 0.0) > en.get(w, 0.0)) - (en.get(w, 0.0) > xx.get(w, 0.0))
                for w in words)
    return votes >= 0


def aligned_sentences(en: str, xx: str) -> list[tuple[str, str]]:
    """A translated paragraph as sentence pairs when both sides cut into the same number of
    sentences; otherwise the paragraph whole."""
    a, b = split_sentences(en), split_sentences(xx)
    return list(zip(a, b, strict=True)) if len(a) == len(b) else [(en, xx)]
