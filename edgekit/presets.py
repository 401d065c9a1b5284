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


TASKS = {"embedding": "sentence-embedding", "ner": "token-classification"}


def load_preset(name_or_path: str) -> dict:
    preset = load_named_toml(name_or_path, PRESET_DIR, "preset",
                             ("teacher", "languages", "recipe", "data", "student", "train"))
    preset.setdefault("task", "sentence-embedding")
    if preset["task"] not in TASKS.values():
        raise EdgekitError(f"preset {name_or_path}: task {preset['task']!r} is not one of "
                           f"{', '.join(TASKS.values())}")
    return preset


def preset_for_task(preset: str | None, task: str) -> dict:
    """The preset given, or the task's default (`default`, `ner`); it must be for the task."""
    preset = preset or ("ner" if task == "ner" else "default")
    p = load_preset(preset)
    if p["task"] != TASKS[task]:
        raise EdgekitError(f"preset {preset} is for {p['task']}, not --task {task}")
    return p


def recipe_names() -> list[str]:
    return toml_names(RECIPE_DIR)


def load_recipe(name_or_path: str, task: str = "sentence-embedding") -> list[dict]:
    """The recipe's stages, in order; each must be a stage of `task`."""
    stages = load_named_toml(name_or_path, RECIPE_DIR, "recipe", ("stage",))["stage"]
    if not isinstance(stages, list) or not stages:
        raise EdgekitError(f"recipe {name_or_path}: [[stage]] must list at least one stage")
    for d in stages:  # a mistake shows now, not after the corpus is built
        stage = Stage.from_dict(d)
        if stage.task != task:
            raise EdgekitError(f"recipe {name_or_path}: stage {stage.name} ({stage.kind}) is "
                               f"a {stage.task} stage; this model is for {task}")
    return stages
