"""The public Python API: what the CLI calls, usable without it."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.quick import quick_bench
from distill.data import build_corpus
from distill.errors import EdgekitError
from distill.fsutil import atomic_dir
from distill.ner_train import (
    NerDistillConfig,
    NerTeacher,
    TeacherTuning,
    distill_ner,
    finetune_teacher,
    student_logits,
)
from distill.ner_train import default_teacher as default_ner_teacher
from distill.progress import progress_bar
from distill.student import StudentEncoder, is_student_folder
from distill.teachers import Teacher
from distill.train import DistillConfig, TrainConfig
from distill.train import distill as run_distill
from edgekit.presets import load_preset, load_recipe, preset_for_task
from export.bundle import Bundle, check_options, export_bundle, is_bundle_folder

log = logging.getLogger("edgekit")


class BundleEncoder:
    """One of a bundle's programs as an encoder, post-processing included: what the app
    computes, scored by the same code as the student it was exported from."""

    def __init__(self, folder: str | Path, runtime: str | None = None,
                 precision: str | None = None):
        self.bundle = Bundle.load(folder)
        self.runtime = runtime or self.bundle.models[0]["runtime"]
        self.precision = precision
        self.bundle.runner(self.runtime, precision)  # a missing program fails here, early
        shown = self.runtime  # the PyTorch weights have no precision of their own
        if self.runtime != "torch":
            shown += f"-{self.bundle.program(self.runtime, precision)['precision']}"
        self.name = f"{folder} ({shown})"

    def num_parameters(self) -> int:
        return int(self.bundle.manifest["size"]["parameters"])

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        texts = list(texts)
        chunks = range(0, len(texts), batch_size)
        out = [self.bundle.encode(texts[i: i + batch_size], self.runtime, self.precision)
               for i in progress_bar(chunks, disable=not progress, desc=self.runtime,
                                     unit="batch", leave=False)]
        return np.concatenate(out) if out else self.bundle.encode([])

    def logits(self, ids: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Per-piece logits of a token-classification bundle (`distill.ner.Logits`)."""
        return self.bundle.runner(self.runtime, self.precision)(ids)


def load_encoder(name_or_path: str | Path, runtime: str | None = None,
                 precision: str | None = None) -> StudentEncoder | Teacher | BundleEncoder:
    """A student folder, a bundle folder (its `runtime` / `precision` program, default its
    first), or a teacher name / HF folder, as an encoder with `.encode(texts)`."""
    if not str(name_or_path).strip():
        raise EdgekitError("the model name is empty; pass a student folder or a teacher name")
    path = Path(name_or_path)
    if is_bundle_folder(path):
        return BundleEncoder(path, runtime, precision)
    if runtime or precision:
        raise EdgekitError(f"{name_or_path} is not a bundle: a runtime or precision chooses "
                           "one of a bundle's programs (a folder with manifest.json)")
    if is_student_folder(path):
        return StudentEncoder.load(path)
    return Teacher(str(name_or_path))


def build_preset_corpus(preset: dict, out: Path, langs: list[str] | None = None,
                        gettext: bool = True, sources: Sequence[str] | None = None,
                        exclude: Sequence[str | Path] = (), **extra):
    """The preset's corpus for its languages or `langs`: gettext catalogs unless `gettext`
    is false, and the general-domain `sources` (default: the preset's), none of whose
    training text repeats a sentence of the evaluation folders in `exclude`."""
    data = preset["data"]
    langs = preset["languages"] if langs is None else list(langs)
    return build_corpus(langs if gettext else [], out,
                        dev_percent=data.get("dev_percent", 5.0),
                        max_per_lang=data.get("max_per_lang"),
                        sources=data.get("sources", []) if sources is None else sources,
                        source_langs=langs, max_per_source=data.get("max_per_source"),
                        exclude=[Path(d) for d in exclude], **extra)


def distill(preset: str | None = None, out: str | Path = "build/student",
            corpus: str | Path | None = None, teacher: str | None = None,
            steps: int | None = None, recipe: str | None = None, task: str = "embedding",
            ner_train: str | Path | None = None, langs: list[str] | None = None) -> Path:
    """Distil a student with a preset (the task's default: `default` or `ner`) and its
    recipe, or `recipe`; builds the preset's corpus when none is given. `task="ner"` needs
    `ner_train`, a folder of IOB2 files; without `teacher` the preset's teacher is
    fine-tuned on it first (once, cached)."""
    p = preset_for_task(preset, task)
    if langs:  # the corpus and the vocabulary are built for these languages
        p["languages"] = list(langs)
    stages = load_recipe(recipe or p["recipe"], p["task"])
    if task == "ner" and not ner_train:
        raise EdgekitError("--task ner needs --ner-train DIR: Universal NER IOB2 files")
    check_folders(ner_train=ner_train)
    out = Path(out)
    if corpus is None:
        corpus = Path(f"{out}.corpus")
        if not (corpus / "train.tsv").is_file():
            build_preset_corpus(p, corpus)
    train = TrainConfig(**p["train"])
    if steps is not None:
        train.steps = steps
    common = {"out": out, "student": p["student"], "train": train, "stages": stages,
              "vocab_size": p["data"].get("vocab_size", 0)}
    if task == "ner":
        teacher = teacher or str(ner_teacher(ner_train, preset=p))
        distill_ner(NerDistillConfig(teacher=teacher, train_dir=Path(ner_train),
                                     corpus=Path(corpus), **common))
    else:
        run_distill(DistillConfig(teacher=teacher or p["teacher"], corpus=Path(corpus),
                                  vocab_languages=["en", *p["languages"]],
                                  vocab_words=p["data"].get("vocab_words", 0), **common))
    return out


def ner_teacher(train: str | Path, out: str | Path | None = None, base: str | None = None,
                steps: int | None = None, preset: str | dict = "ner") -> Path:
    """A token-classification teacher fine-tuned from `base` (default: the preset's
    teacher) on the IOB2 files in `train`: into `out`, or once into the edgekit cache."""
    p = preset if isinstance(preset, dict) else load_preset(preset)
    tuning = TeacherTuning(**p.get("ner_teacher", {}))
    if steps is not None:
        tuning.steps = steps
    base = base or p["teacher"]
    if out is None:
        return default_ner_teacher(train, tuning, base)
    finetune_teacher(train, out, base, tuning)
    return Path(out)


def evaluate_ner(model: str | Path, uner_pud: str | Path, runtime: str | None = None,
                 precision: str | None = None) -> dict:
    """Entity-level F1 per language on Universal NER PUD: a student folder side by side with
    its teacher, a token-classification teacher alone, or a bundle's program (`runtime`,
    `precision`: which one; default its first)."""
    from distill.ner import evaluate_pud

    check_folders(uner_pud=uner_pud)
    result = {"model": str(model)}
    teacher = str(model)
    if is_bundle_folder(Path(model)):
        return {**result, "program": _bundle_ner(model, uner_pud, runtime, precision)}
    if is_student_folder(Path(model)):
        enc = StudentEncoder.load(Path(model))
        if not enc.config.labels:
            raise EdgekitError(f"{model} is a sentence encoder; --uner-pud evaluates NER "
                               "students (built with --task ner)")
        result["student"] = {"parameters": enc.num_parameters(), **evaluate_pud(
            student_logits(enc.model), enc.tokenizer, uner_pud, enc.max_len, enc.config.labels)}
        teacher = enc.config.teacher
    t = NerTeacher(teacher)
    result["teacher"] = {"parameters": t.num_parameters(), "name": teacher,
                         **evaluate_pud(t.logits, t.tokenizer, uner_pud, t.max_len, t.labels)}
    return result


def _bundle_ner(folder: str | Path, uner_pud: str | Path, runtime: str | None,
                precision: str | None) -> dict:
    from distill.ner import evaluate_pud

    enc = BundleEncoder(folder, runtime, precision)
    if not enc.bundle.labels:
        raise EdgekitError(f"{folder} is a sentence-embedding bundle; --uner-pud evaluates "
                           "NER bundles (built with --task ner)")
    return {"parameters": enc.num_parameters(), "name": enc.name,
            **evaluate_pud(enc.logits, enc.bundle.tokenizer, uner_pud, enc.bundle.max_len,
                           enc.bundle.labels)}


def check_folders(**flags: str | Path | None) -> None:
    """Fail on a given but missing folder, before any slow work: check_folders(sts17=...)."""
    for flag, path in flags.items():
        if path and not Path(path).is_dir():
            raise EdgekitError(f"--{flag.replace('_', '-')} {path}: no such folder")


def evaluate_model(encoder, tatoeba: str | Path | None = None, sts17: str | Path | None = None,
                   corpus: str | Path | None = None, langs: list[str] | None = None) -> dict:
    """Tatoeba, STS17 and dev-split retrieval of an encoder, for whichever data is given."""
    from distill import evaluate
    from distill.data import load_dev

    check_folders(tatoeba=tatoeba, sts17=sts17, corpus=corpus)
    result = {"model": encoder.name, "parameters": encoder.num_parameters()}
    if tatoeba:
        result["tatoeba"] = evaluate.tatoeba(encoder, Path(tatoeba),
                                             langs or evaluate.TATOEBA_DEFAULT, progress=True)
    if sts17:
        result["sts17"] = evaluate.sts17(encoder, Path(sts17), progress=True)
    if corpus:
        result["dev_retrieval"] = evaluate.dev_retrieval(encoder, load_dev(corpus))
    return result


def quality_figures(result: dict) -> dict:
    """The means a bundle manifest records, from an `evaluate_model` result."""
    return {f"{k}_mean": result[k]["mean"] for k in ("tatoeba", "sts17") if k in result}


def export(model: str | Path, out: str | Path, target: str = "linux", precision: str = "int8",
           embedding_bits: int | None = None, quality: dict | None = None) -> Path:
    """Export a student folder or a teacher to a verified bundle folder. `embedding_bits`
    None: 4 for a factorised table of E >= 256, else 8."""
    export_bundle(model, out, target, precision, embedding_bits, quality)
    return Path(out)


ANDROID_ASSETS = {"embedding": Path("app/src/main/assets/edgekit"),
                  "ner": Path("app/src/main/assets/edgekit-ner")}


def build(target: str = "android", preset: str | None = None, out: str | Path = "build",
          teacher: str | None = None, precision: str = "int8",
          embedding_bits: int | None = None,
          tatoeba: str | Path | None = None, sts17: str | Path | None = None,
          android_dir: str | Path = "android_demo", steps: int | None = None,
          task: str = "embedding", ner_train: str | Path | None = None,
          uner_pud: str | Path | None = None, mono: Sequence[str] = (),
          langs: list[str] | None = None, sources: Sequence[str] | None = None,
          exclude: Sequence[str | Path] = ()) -> Path:
    """data -> distill -> (eval) -> export + parity -> bundle -> quick benchmark, and for
    target android a copy into the demo app's assets. `mono`: LANG=PATH monolingual text
    added to the corpus; `langs`: the languages instead of the preset's; `sources`: the
    general-domain text instead of the preset's; `exclude`: evaluation folders no training
    text may repeat. Returns the bundle folder."""
    check_options(target, precision, embedding_bits)  # fail before the long work
    p = preset_for_task(preset, task)
    if task == "ner" and not ner_train:
        raise EdgekitError("--task ner needs --ner-train DIR: Universal NER IOB2 files")
    check_folders(tatoeba=tatoeba, sts17=sts17, ner_train=ner_train, uner_pud=uner_pud)
    assets = Path(android_dir) / ANDROID_ASSETS[task]
    if target == "android" and not Path(android_dir).is_dir():
        raise EdgekitError(f"no Android project at {android_dir}/; run from the edgekit "
                           "checkout, pass --android-dir, or use --target linux")
    out = Path(out)
    started = time.time()
    step = _steps(5 if target == "android" else 4)
    step("corpus")
    build_preset_corpus(p, out / "corpus", langs, sources=sources, exclude=exclude, mono=mono)
    step("distill")
    student = distill(preset, out / "student", corpus=out / "corpus", teacher=teacher,
                      steps=steps, task=task, ner_train=ner_train, langs=langs)
    quality = {}
    if task == "embedding" and (tatoeba or sts17):
        result = evaluate_model(StudentEncoder.load(student), tatoeba, sts17)
        (out / "eval-student.json").write_text(json.dumps(result, indent=2))
        quality = quality_figures(result)
    if task == "ner" and uner_pud:
        result = evaluate_ner(student, uner_pud)
        (out / "eval-ner.json").write_text(json.dumps(result, indent=2))
        quality = {"ner_f1_mean": result["student"]["mean"],
                   "teacher_ner_f1_mean": result["teacher"]["mean"]}
    if quality:
        log.info("student quality: %s", ", ".join(f"{k} {v:.1f}" for k, v in quality.items()))
    step("export, parity and bundle")
    bundle_dir = export(student, out / "bundle", target, precision, embedding_bits, quality)
    step("quick benchmark")
    speed = quick_bench(Bundle.load(bundle_dir))
    (out / "quick-bench.json").write_text(json.dumps(speed, indent=2))
    for name, r in speed.items():
        log.info("%s: %.0f sentences/s (%.1f ms each, host CPU)", name, r["sentences_per_s"],
                 r["ms_per_sentence"])
    if target == "android":
        step(f"copy into {assets}")
        with atomic_dir(assets) as tmp:
            shutil.copytree(bundle_dir, tmp, dirs_exist_ok=True)
    log.info("build done in %.0f s: %s", time.time() - started, bundle_dir)
    return bundle_dir


def teacher_bundle(name_or_path: str) -> Bundle:
    """A teacher as a bundle: a bundle folder as given, or a teacher name exported once in
    fp32 (ExecuTorch + ONNX) into the edgekit cache."""
    path = Path(name_or_path)
    if (path / "manifest.json").is_file():
        return Bundle.load(path)
    from distill.teachers import cache_dir

    dest = cache_dir() / "bundles" / f"{str(name_or_path).replace('/', '--')}--fp32"
    if not (dest / "manifest.json").is_file():
        log.warning("exporting teacher %s to %s (first use only, about 2 minutes)",
                    name_or_path, dest)
        export_bundle(name_or_path, dest, target="android", precision="fp32")
    return Bundle.load(dest)


def bench(bundle: str | Path, profile: str | None = None,
          teacher: str | Sequence[str] | None = None, out: str | Path = "build/bench",
          runs: int = 50, with_teacher: bool = True, emulate: list[str] | None = None,
          repeats: int = 2) -> dict:
    """Benchmark a bundle (and its teacher, side by side) under device profiles and, with
    `emulate` (cortex-a53, cortex-a76 or all), on emulated ARM64 cores; writes report.json,
    report.md and plots to `out`, returns the report. `teacher`: one or more bundles of the
    teacher (say its fp32 bundle and its int8 `.pte`), or its name. Without `emulate` the
    profile defaults to all of them; with it, host profiles run only when named."""
    from bench.emulate import check_cpus
    from bench.report import write_report
    from bench.run import load_profiles, run_bench

    if runs < 1 or repeats < 1:
        raise EdgekitError("--runs and --repeats must be at least 1")
    cpus = check_cpus(emulate) if emulate else []
    student = Bundle.load(bundle)
    profiles = load_profiles(profile or "all") if profile or not cpus else []
    names = [teacher] if isinstance(teacher, str | Path) else list(teacher or [])
    teachers = [teacher_bundle(t) for t in names or [student.manifest["teacher"]]
                ] if with_teacher else []
    report = run_bench(student, teachers, profiles, runs, emulate=cpus, repeats=repeats)
    write_report(report, Path(out))
    return report


def _steps(total: int):
    count = iter(range(1, total + 1))
    return lambda name: log.info("[%d/%d] %s", next(count), total, name)
