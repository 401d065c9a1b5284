"""Issue #7's goal for the NER bundle, measured: the student has >= 10x fewer parameters than
its teacher and >= 90% of its mean entity-level F1 on Universal NER PUD; the F1 is computed
through the bundle's int8 .pte, as the app runs it, and pytest-benchmark times tagging.

    .venv/bin/pytest bench/test_ner_goal.py --benchmark-only --ner-bundle build/ner/bundle \
        --uner-pud ../shared/data/uner_pud
"""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.ner import evaluate_pud, read_iob2
from export.bundle import Bundle


@pytest.fixture(scope="module")
def ner_bundle(request) -> Bundle:
    path = Path(request.config.getoption("--ner-bundle"))
    if not (path / "manifest.json").is_file():
        pytest.skip(f"no NER bundle at {path}: edgekit build --task ner")
    return Bundle.load(path)


@pytest.fixture(scope="module")
def pud(request) -> Path:
    path = Path(request.config.getoption("--uner-pud"))
    if not path.is_dir():
        pytest.skip(f"no Universal NER PUD folder at {path}")
    return path


def test_ner_goal_tenth_of_the_parameters_and_90_percent_of_the_f1(benchmark, ner_bundle, pud):
    from distill.ner_train import NerTeacher

    teacher = NerTeacher(ner_bundle.manifest["teacher"])
    t_f1 = evaluate_pud(teacher.logits, teacher.tokenizer, pud, teacher.max_len, teacher.labels)
    run = ner_bundle.runner("executorch", "int8")
    s_f1 = evaluate_pud(run, ner_bundle.tokenizer, pud, ner_bundle.max_len, ner_bundle.labels)
    params, t_params = ner_bundle.manifest["size"]["parameters"], teacher.num_parameters()
    for lang in t_f1["languages"]:
        print(f"{lang}: teacher {t_f1['languages'][lang]['f1']:.1f}, student (int8 .pte) "
              f"{s_f1['languages'][lang]['f1']:.1f}")
    print(f"mean F1: teacher {t_f1['mean']:.1f}, student {s_f1['mean']:.1f} "
          f"({100 * s_f1['mean'] / t_f1['mean']:.1f}%); parameters 1/{t_params / params:.1f}")
    texts = [" ".join(s.words) for s in read_iob2(next(pud.glob("en_*.iob2")))[:100]]
    benchmark(ner_bundle.tag, texts, "executorch", "int8")
    assert t_params >= 10 * params
    assert s_f1["mean"] >= 0.9 * t_f1["mean"]
