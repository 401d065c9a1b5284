"""Presets are data: TOML files naming the teacher, languages, corpus limits, student shape
and training settings. `--preset NAME` picks one shipped here; `--preset FILE.toml` a user's."""

from __future__ import annotations

from pathlib import Path

from distill.fsutil import load_named_toml, toml_names

PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> list[str]:
    return toml_names(PRESET_DIR)


def load_preset(name_or_path: str) -> dict:
    return load_named_toml(name_or_path, PRESET_DIR, "preset",
                           ("teacher", "languages", "data", "student", "train"))
