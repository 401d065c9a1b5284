"""What a source reader returns: parallel pairs per language and monolingual texts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Rows:
    pairs: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list))  # lang -> (en, xx)
    mono: list[tuple[str, str]] = field(default_factory=list)  # (lang, text)
