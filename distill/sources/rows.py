"""What a source reader returns: parallel pairs per language and monolingual texts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Rows:
    pairs: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list))  # lang -> (en, xx)
    mono: list[tuple[str, str]] = field(default_factory=list)  # (lang, text)


def pages(root: Path, pattern: str, paragraphs: Callable[[Path], T]) -> dict[Path, T]:
    """Page path under `root` -> its paragraphs: the English side, read once and paired
    with every language."""
    return {page.relative_to(root): paragraphs(page) for page in sorted(root.rglob(pattern))}


def pages_paired(english: dict[Path, list[str]], xx_root: Path,
                 paragraphs: Callable[[Path], list[str]]) -> list[tuple[str, str]]:
    """(en, xx) paragraphs of the pages at the same place in both trees, paired by
    position, from the pages whose paragraph counts agree (a translation that added or
    lost a paragraph would shift every pair after it)."""
    out = []
    for page, en in english.items():
        other = xx_root / page
        if other.is_file():
            xx = paragraphs(other)
            if len(en) == len(xx):
                out += list(zip(en, xx, strict=True))
    return out
