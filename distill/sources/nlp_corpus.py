"""Conversational English (npm `nlp-corpus`): SMS, transcripts, reviews and fiction, 100
JSON files of sentences. Monolingual, en only."""

from __future__ import annotations

import json
from pathlib import Path

from distill.sources import fetch
from distill.sources.rows import Rows

LICENCE = "MIT"
KIND = "mono"


def read(builds: Path) -> list[tuple[str, str]]:
    out = []
    for f in sorted(builds.glob("doc-*.json"), key=lambda p: int(p.stem.split("-")[1])):
        out += [("en", " ".join(str(t).split())) for t in json.loads(f.read_text("utf-8"))]
    return out


def load(langs: list[str], cache: Path) -> Rows:
    rows = Rows()
    if "en" in langs:
        rows.mono += read(fetch.npm("nlp-corpus", cache) / "builds")
    return rows
