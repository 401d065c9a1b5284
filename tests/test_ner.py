"""NER: IOB2 reading, word splitting, sub-token label alignment, entity-level F1, and the
real pipeline on a slice of Universal NER (teacher fine-tune, XtremeDistil stages, export)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from distill.errors import EdgekitError
from distill.ner import (
    IGNORE,
    LABELS,
    encode_words,
    entities,
    evaluate_pud,
    f1_score,
    read_iob2,
    split_words,
    tag_sentences,
    token_labels,
    words_of,
)
from tests.conftest import REPO, SHARED_DATA

IOB2 = """# sent_id = 1
# text = Angela Merkel visited Paris.
1\tAngela\tB-PER\t-\t-
2\tMerkel\tI-PER\t-\t-
3\tvisited\tO\t-\t-
4\tParis\tB-LOC\t-\t-
5\t.\tO\t-\t-

# sent_id = 2
1\tThe\tO\t-\t-
2\tUnited\tB-ORG\t-\t-
3\tNations\tI-ORG\t-\t-
"""


def test_read_iob2(tmp_path):
    path = tmp_path / "en_test.iob2"
    path.write_text(IOB2, encoding="utf-8")
    sentences = read_iob2(path, "en")
    assert [s.words for s in sentences] == [["Angela", "Merkel", "visited", "Paris", "."],
                                            ["The", "United", "Nations"]]
    assert sentences[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    path.write_text("1 Angela B-PER\n", encoding="utf-8")
    with pytest.raises(EdgekitError, match="separated by tabs"):
        read_iob2(path)


@pytest.mark.parametrize("text, words", [
    ("Angela Merkel besuchte Paris, am 3.5.2020!",
     ["Angela", "Merkel", "besuchte", "Paris", ",", "am", "3", ".", "5", ".", "2020", "!"]),
    ("习近平在北京", ["习", "近", "平", "在", "北", "京"]),
    ("फ़ाइल खोली", ["फ़ाइल", "खोली"]),                      # vowel signs stay in the word
    ("e\u0301cole 😀👍🏽 a_b", ["e\u0301cole", "😀", "👍", "🏽", "a_b"]),
    ("  \t\u00a0 ", []),
])
def test_split_words(text, words):
    assert words_of(text) == words
    assert all(text[a:b] == w for (a, b), w in zip(split_words(text), words, strict=True))


def test_encode_words_matches_pretokenized_and_marks_first_subtokens(teacher):
    tok = teacher.tokenizer
    words = ["Angela", "Merkel", "besuchte", "Reykjavík", ",", "北京"]
    ids, first = encode_words(tok, words, 64)
    enc = tok.encode(words, is_pretokenized=True)
    assert ids == enc.ids
    assert first == [enc.word_ids.index(w) for w in range(len(words))]
    assert ids[0] == 0 and ids[-1] == 2          # <s> ... </s>
    labels = token_labels(first, ["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC"], len(ids))
    assert [labels[p] for p in first] == [LABELS.index(t) for t in
                                          ["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC"]]
    # every other position, specials and later sub-tokens alike, is ignored
    assert sum(x != IGNORE for x in labels) == len(words) < len(ids)
    # cut at max_len: the head and </s> stay, the words past the cut have no position
    short, cut = encode_words(tok, words, 6)
    assert len(short) == 6 and short[-1] == 2 and cut[-1] == -1 and cut[0] == 1


def test_unlabelled_text_is_the_whole_corpus_or_a_random_draw(tmp_path):
    from distill.data import build_corpus
    from distill.ner_train import _unlabelled

    pairs = tmp_path / "de.tsv"
    pairs.write_text("".join(f"Message number {i}\tMeldung Nummer {i}\n" for i in range(40)),
                     encoding="utf-8")
    mono = tmp_path / "ru.txt"
    mono.write_text("".join(f"Цитата {i}, Лев Толстой\n" for i in range(20)), encoding="utf-8")
    build_corpus([], tmp_path / "c", tsv=[f"de={pairs}"], mono=[f"ru={mono}"],
                 dev_percent=0)
    every = [" ".join(s.words) for s in _unlabelled(tmp_path / "c", 1000, 0)]
    assert len(every) == 100 and "Цитата 19 , Лев Толстой" in every
    drawn = [" ".join(s.words) for s in _unlabelled(tmp_path / "c", 30, 0)]
    assert len(drawn) == 30 and set(drawn) <= set(every)
    assert any(t.startswith("Цитата") for t in drawn)  # not just the first 30 texts
    assert drawn == [" ".join(s.words) for s in _unlabelled(tmp_path / "c", 30, 0)]
    assert drawn != [" ".join(s.words) for s in _unlabelled(tmp_path / "c", 30, 1)]
    assert _unlabelled(None, 30, 0) == []


def test_interleave_mixes_in_its_share_and_resumes_on_the_same_batches():
    from distill.ner_train import interleave

    def stream(name):
        return lambda first: ((name, k) for k in itertools.count(first))

    def batches(start, n):
        return list(itertools.islice(interleave(stream("gold"), stream("teacher"), 0.25,
                                                start), n))
    whole = batches(0, 40)
    assert [k for name, k in whole if name == "teacher"] == list(range(10))
    assert [k for name, k in whole if name == "gold"] == list(range(30))
    for start in (1, 7, 13):
        assert batches(start, 40 - start) == whole[start:]


def test_entities_and_f1_are_seqeval_style():
    assert entities(["B-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-PER"]) == {
        (0, 2, "PER"), (3, 4, "LOC"), (4, 5, "ORG"), (5, 6, "PER")}
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]   # one span cut short
    f = f1_score(gold, pred)
    assert f["entities"] == 3
    assert f["precision"] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert f["recall"] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert f1_score(gold, gold)["f1"] == 100.0
    assert f1_score(gold, [["O"] * 4, ["O"] * 2])["f1"] == 0.0


def test_evaluate_pud_with_an_oracle_and_a_blind_tagger(tmp_path, teacher):
    (tmp_path / "en_pud-ud-test.iob2").write_text(IOB2, encoding="utf-8")
    gold = {tuple(s.words): s.tags for s in read_iob2(tmp_path / "en_pud-ud-test.iob2")}
    tok = teacher.tokenizer

    def oracle(ids_list):
        out = []
        for ids in ids_list:
            words = next(w for w in gold if encode_words(tok, list(w), 64)[0] == list(ids))
            _, first = encode_words(tok, list(words), 64)
            logits = np.zeros((len(ids), len(LABELS)))
            for pos, tag in zip(first, gold[words], strict=True):
                logits[pos, LABELS.index(tag)] = 1
            out.append(logits)
        return out

    assert evaluate_pud(oracle, tok, tmp_path, 64)["languages"]["en"]["f1"] == 100.0
    blind = evaluate_pud(lambda ids: [np.eye(len(LABELS))[[0] * len(x)] for x in ids], tok,
                         tmp_path, 64)
    assert blind["mean"] == 0.0
    assert tag_sentences(oracle, tok, [["Angela", "Merkel", "visited", "Paris", "."]], 64) \
        == [["B-PER", "I-PER", "O", "B-LOC", "O"]]


# ------------------------------------------------------------------ the real pipeline

UNER_TRAIN = SHARED_DATA / "uner_train"
UNER_PUD = SHARED_DATA / "uner_pud"
needs_uner = pytest.mark.skipif(not UNER_TRAIN.is_dir() or not UNER_PUD.is_dir(),
                                reason="Universal NER data not beside the checkout")


def _slice(src: Path, dst: Path, sentences: int) -> Path:
    """The first `sentences` sentences of each IOB2 file."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.iob2")):
        blocks = f.read_text(encoding="utf-8").split("\n\n")[:sentences]
        (dst / f.name).write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def ner_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("uner")
    return _slice(UNER_TRAIN, root / "train", 60), _slice(UNER_PUD, root / "pud", 25)


@pytest.fixture(scope="module")
def ner_student(tmp_path_factory, edgekit_cache, ner_data):
    from edgekit.api import distill

    out = tmp_path_factory.mktemp("ner") / "student"
    return distill(preset="ner-tiny", out=out, task="ner", ner_train=ner_data[0])


@needs_uner
@pytest.mark.slow
def test_ner_teacher_student_and_bundle(ner_student, ner_data, tmp_path):
    from distill.student import StudentEncoder
    from edgekit.api import evaluate_ner
    from edgekit.cli import main
    from export.bundle import Bundle, export_bundle

    student = StudentEncoder.load(ner_student)
    info = student.info["training"]
    assert student.config.labels == LABELS and student.config.task == "token-classification"
    assert [r["kind"] for r in info["stages"]] == ["repr", "logits", "labels"]
    assert {"labels", "logits"} <= set(info["stages"][2])  # its unlabelled_share
    assert all(0 <= r["dev_f1"] <= 100 for r in info["stages"])
    assert info["parameters"] * 10 < info["teacher_parameters"]
    # the tokens of a sentence get different logits: no collapse to one output
    from distill.ner_train import student_logits

    ids, _ = encode_words(student.tokenizer, words_of("Angela Merkel besuchte Paris."), 64)
    assert student_logits(student.model)([ids])[0].std(axis=0).max() > 1e-3
    # the teacher is the default encoder fine-tuned once into the cache, and labels
    teacher_dir = Path(info["teacher"])
    assert (teacher_dir / "edgekit_ner_teacher.json").is_file()
    assert json.loads((teacher_dir / "config.json").read_text())["id2label"]["1"] == "B-PER"

    result = evaluate_ner(ner_student, ner_data[1])
    assert set(result["student"]["languages"]) == {"de", "en", "pt", "ru", "sv", "zh"}
    assert result["teacher"]["parameters"] > 10 * result["student"]["parameters"]

    out = tmp_path / "bundle"
    manifest = export_bundle(ner_student, out, target="linux")
    assert manifest["task"] == "token-classification" and manifest["labels"] == LABELS
    assert manifest["output"]["name"] == "token_logits"
    assert manifest["word_rule"] == "edgekit.words/1"
    for key, fig in manifest["parity"]["cosine"].items():
        assert fig["tag_agreement"] >= (0.999 if key.endswith("fp32") else 0.95), key
    golden = json.loads((out / "golden.json").read_text())
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    for item in golden["items"]:
        assert item["words"] == words_of(item["text"])
        ids, first = encode_words(tok, item["words"], manifest["max_seq_len"])
        assert item["ids"] == ids and item["first_token"] == first
        assert len(item["tags"]) == len(item["words"])

    # `edgekit eval BUNDLE --uner-pud`: the app's fp32 program scores as the student does
    program = evaluate_ner(out, ner_data[1], "onnx", "fp32")["program"]
    assert program["mean"] == pytest.approx(result["student"]["mean"], abs=1.0)
    assert program["parameters"] == result["student"]["parameters"]

    bundle = Bundle.load(out)
    text = "Angela Merkel besuchte Paris."
    by_runtime = {rt: bundle.tag([text], rt)[0] for rt in ("executorch", "onnx", "torch")}
    for found in by_runtime.values():
        for e in found:
            assert text[e["start"]:e["end"]] == e["text"] and e["type"] in {"PER", "LOC", "ORG"}
    with pytest.raises(EdgekitError, match="tag texts with it"):
        bundle.encode(["hello"])
    assert main(["tag", "--bundle", str(out), text]) == 0

    # the Android app's pipeline (plain Kotlin) against golden.json, on the JVM
    if shutil.which("kotlinc") and shutil.which("java"):
        p = subprocess.run([REPO / "android_demo" / "tools" / "test-core",
                            f"-Dedgekit.nerBundle={out}"], capture_output=True, text=True,
                           env={**os.environ, "TEST_CLASSES": "NerTest"})
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
        assert "[         0 tests aborted         ]" in p.stdout


@pytest.mark.parametrize("args, message", [
    (["distill", "--task", "ner", "--out", "{tmp}/s"], "--task ner needs --ner-train DIR"),
    (["distill", "--task", "ner", "--ner-train", "{tmp}/nope", "--out", "{tmp}/s"],
     "--ner-train {tmp}/nope: no such folder"),
    (["distill", "--task", "ner", "--preset", "tiny", "--ner-train", "{tmp}", "--out",
      "{tmp}/s"], "preset tiny is for sentence-embedding, not --task ner"),
    (["distill", "--task", "ner", "--recipe", "ding", "--ner-train", "{tmp}", "--out",
      "{tmp}/s"], "is a sentence-embedding stage"),
    (["ner-teacher", "--train", "{tmp}", "--out", "{tmp}/t"], "no *.iob2 files"),
    (["eval", "intfloat/multilingual-e5-small", "--uner-pud", "{tmp}"],
     "is not a token-classification model"),
])
def test_ner_user_mistakes(tmp_path, args, message, capsys, edgekit_cache):
    from edgekit.cli import main

    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message.replace("{tmp}", str(tmp_path)) in err and "\n" not in err
