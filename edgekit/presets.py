"""Presets and recipes are data.

A preset (TOML) names the teacher, languages, corpus limits, student shape, training settings
and its recipe; a recipe (TOML) lists the stages of the distillation (`distill.stages`).
`--preset NAME` / `--recipe NAME` pick one shipped here; `FILE.toml` a user's."""

from __future__ import annotations

from pathlib import Path

from distill.errors import EdgekitError
from distill.fsutil import load_named_toml, toml_names
from distill.stages import Stage

PRESET_DIR = Path(__file__).parent / "presets"
RECIPE_DIR = Path(__file__).parent / "recipes"


def preset_names() -> list[str]:
    return toml_names(PRESET_DIR)


def load_preset(name_or_path: str) -> dict:
    return load_named_toml(name_or_path, PRESET_DIR, "preset",
                           ("teacher", "languages", "recipe", "data", "student", "train"))


def recipe_names() -> list[str]:
    return toml_names(RECIPE_DIR)


def load_recipe(name_or_path: str) -> list[dict]:
    """The recipe's stages, in order."""
    stages = load_named_toml(name_or_path, RECIPE_DIR, "recipe", ("stage",))["stage"]
    if not isinstance(stages, list) or not stages:
        raise EdgekitError(f"recipe {name_or_path}: [[stage]] must list at least one stage")
    for stage in stages:  # a mistake shows now, not after the corpus is built
        Stage.from_dict(stage)
    return stages
