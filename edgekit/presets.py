"""Presets are data: TOML files naming the teacher, languages, corpus limits, student shape
and training settings. `--preset NAME` picks one shipped here; `--preset FILE.toml` a user's."""

from __future__ import annotations

import tomllib
from pathlib import Path

from distill.errors import EdgekitError

PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_preset(name_or_path: str) -> dict:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise EdgekitError(f"unknown preset {name_or_path!r}: use one of "
                           f"{', '.join(preset_names())} or a path to a .toml file")
    try:
        preset = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise EdgekitError(f"preset {path} is not valid TOML: {e}") from None
    for key in ("teacher", "languages", "data", "student", "train"):
        if key not in preset:
            raise EdgekitError(f"preset {path} lacks the [{key}] entry")
    return preset
