"""What can be exported: a student folder, or a teacher rewritten as a plain-PyTorch twin."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from distill.errors import EdgekitError
from distill.student import Student, StudentEncoder, is_student_folder, student_from_teacher


@dataclass
class Source:
    model: Student
    tokenizer_json: dict
    kind: str                  # "student" or "teacher"
    name: str
    teacher: str
    text_prefix: str = ""
    languages: list[str] = field(default_factory=list)
    training: dict = field(default_factory=dict)


def load_source(name_or_path: str | Path) -> Source:
    if not str(name_or_path).strip():
        raise EdgekitError("the model is empty; pass a student folder or a teacher name")
    path = Path(name_or_path)
    if is_student_folder(path):
        enc = StudentEncoder.load(path)
        training = enc.info.get("training", {})
        return Source(enc.model, json.loads((path / "tokenizer.json").read_text("utf-8")),
                      "student", str(path), enc.config.teacher,
                      languages=training.get("languages", []), training=training)
    from distill.teachers import Teacher

    teacher = Teacher(str(name_or_path))
    return Source(student_from_teacher(teacher),
                  json.loads((teacher.folder / "tokenizer.json").read_text("utf-8")),
                  "teacher", teacher.name, teacher.name, text_prefix=teacher.prefix)
