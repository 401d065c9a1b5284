"""Presets and recipes are data.

A preset (TOML) names the teacher, languages, corpus limits, student shape, training settings
and its recipe; a recipe (TOML) lists the stages of the distillation (`distill.stages`).
`--preset NAME` / `--recipe NAME` pick one shipped here; `FILE.toml` a user's."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from distill.errors import EdgekitError
from distill.fsutil import load_named_toml, toml_names, value_fits
from distill.sources import SOURCES
from distill.stages import Stage

PRESET_DIR = Path(__file__).parent / "presets"
RECIPE_DIR = Path(__file__).parent / "recipes"


def preset_names() -> list[str]:
    return toml_names(PRESET_DIR)


TASKS = {"embedding": "sentence-embedding", "ner": "token-classification"}


# what a preset may hold: table -> key -> type; a dataclass's fields are its table's keys
_DATA = {"max_per_lang": "int", "dev_percent": "float", "vocab_size": "int",
         "vocab_words": "int", "sources": "list", "max_per_source": "int"}
_AT_LEAST_ONE = {"steps", "batch_size", "embed_dim", "hidden_size", "num_layers",
                 "num_recurrences", "num_heads", "intermediate_size", "max_len",
                 "checkpoint_every"}


def _fields_of(cls, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {f.name: f.type for f in fields(cls) if f.name not in skip
            and f.type in ("int", "float", "str")}


def check_preset(preset: dict, where: str) -> None:
    """Types, ranges and unknown keys of a preset, each refused in one line naming the key."""
    from distill.ner_train import TeacherTuning
    from distill.student import StudentConfig, teacher_layers_fit
    from distill.train import TrainConfig

    top = {"teacher": "str", "languages": "list", "recipe": "str", "task": "str",
           "data": "dict", "student": "dict", "train": "dict", "ner_teacher": "dict"}
    tables = {"data": _DATA, "train": _fields_of(TrainConfig),
              "student": {**_fields_of(StudentConfig, ("vocab_size", "pad_id", "teacher")),
                          "teacher_layers": "list"},
              "ner_teacher": _fields_of(TeacherTuning)}

    def check(key: str, value, kind: str) -> None:
        if not value_fits(value, kind):
            raise EdgekitError(f"preset {where}: {key} must be {_KIND_NAMES[kind]}, not "
                               f"{value!r}")
        if kind in ("int", "float") and value < (1 if key.split(".")[-1] in _AT_LEAST_ONE else 0):
            raise EdgekitError(f"preset {where}: {key} = {value} is out of range")

    for key, value in preset.items():
        if key not in top:
            raise EdgekitError(f"preset {where}: unknown key {key!r} (known: "
                               f"{', '.join(top)})")
        check(key, value, top[key])
        for sub, sub_value in (value.items() if key in tables else ()):
            if sub not in tables[key]:
                raise EdgekitError(f"preset {where}: unknown key {key}.{sub} (known: "
                                   f"{', '.join(tables[key])})")
            check(f"{key}.{sub}", sub_value, tables[key][sub])
    if not all(isinstance(x, str) and x for x in preset["languages"]):
        raise EdgekitError(f"preset {where}: languages must be language codes")
    student = preset.get("student", {})
    chosen = student.get("teacher_layers", [])
    if not teacher_layers_fit(chosen, student.get("num_layers")):
        raise EdgekitError(f"preset {where}: student.teacher_layers {chosen} must name "
                           f"num_layers = {student.get('num_layers')} distinct teacher layers")
    if student.get("embedding_bits", 0) not in (0, 4, 8):
        raise EdgekitError(f"preset {where}: student.embedding_bits must be 4 or 8, not "
                           f"{student['embedding_bits']}")
    sources = preset.get("data", {}).get("sources", [])
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise EdgekitError(f"preset {where}: data.sources has unknown {unknown[0]!r} (known: "
                           f"{', '.join(SOURCES)})")


_KIND_NAMES = {"int": "a whole number", "float": "a number", "str": "a string",
               "list": "a list", "dict": "a table"}


def load_preset(name_or_path: str) -> dict:
    preset = load_named_toml(name_or_path, PRESET_DIR, "preset",
                             ("teacher", "languages", "recipe", "data", "student", "train"))
    check_preset(preset, name_or_path)
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
