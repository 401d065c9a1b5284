"""The public Python API: what the CLI calls, usable without it."""

from __future__ import annotations

from pathlib import Path

from distill.data import build_corpus
from distill.errors import EdgekitError
from distill.student import StudentEncoder, is_student_folder
from distill.teachers import Teacher
from distill.train import DistillConfig, TrainConfig
from distill.train import distill as run_distill
from edgekit.presets import load_preset


def load_encoder(name_or_path: str | Path) -> StudentEncoder | Teacher:
    """A student folder, or a teacher name / HF folder, as an encoder with `.encode(texts)`."""
    if not str(name_or_path).strip():
        raise EdgekitError("the model name is empty; pass a student folder or a teacher name")
    if is_student_folder(Path(name_or_path)):
        return StudentEncoder.load(Path(name_or_path))
    return Teacher(str(name_or_path))


def build_preset_corpus(preset: dict, out: Path, langs: list[str] | None = None, **extra):
    """The preset's corpus; `langs` overrides its gettext languages ([] reads no catalogs)."""
    data = preset["data"]
    return build_corpus(preset["languages"] if langs is None else langs, out,
                        dev_percent=data.get("dev_percent", 5.0),
                        max_per_lang=data.get("max_per_lang"), **extra)


def distill(preset: str = "default", out: str | Path = "build/student",
            corpus: str | Path | None = None, teacher: str | None = None,
            steps: int | None = None) -> Path:
    """Distil a student with a preset; builds the preset's corpus when none is given."""
    p = load_preset(preset)
    out = Path(out)
    if corpus is None:
        corpus = Path(f"{out}.corpus")
        if not (corpus / "train.tsv").is_file():
            build_preset_corpus(p, corpus)
    train = TrainConfig(**p["train"])
    if steps is not None:
        train.steps = steps
    run_distill(DistillConfig(teacher=teacher or p["teacher"], corpus=Path(corpus), out=out,
                              student=p["student"], train=train,
                              vocab_size=p["data"].get("vocab_size", 0)))
    return out
