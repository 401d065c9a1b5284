"""Metrics on hand-checked inputs, and the Tatoeba / STS17 readers on small folders."""

from __future__ import annotations

import numpy as np
import pytest

from distill import evaluate
from distill.errors import EdgekitError


class CharEncoder:
    """A deterministic bag-of-characters encoder: enough to exercise the evaluation code."""

    def encode(self, texts, batch_size=64, progress=False):
        out = np.zeros((len(texts), 64), np.float32)
        for i, t in enumerate(texts):
            for ch in t.lower():
                out[i, ord(ch) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_spearman_matches_hand_computed_values():
    assert evaluate.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert evaluate.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties take the mean rank: ranks (1.5, 1.5, 3) vs (1, 2, 3) -> r = 0.866
    assert evaluate.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.8660254, abs=1e-6)


def test_retrieval_accuracy_both_directions():
    a = np.eye(3, dtype=np.float32)
    b = np.array([[1, 0, 0], [0, 0, 1], [0, 0.9, 0.1]], np.float32)
    a2b, b2a = evaluate.retrieval_accuracy(a, b)
    assert a2b == pytest.approx(1 / 3)  # row 0 right; rows 1 and 2 swapped
    assert b2a == pytest.approx(1 / 3)


def test_tatoeba_and_sts17_folders(tmp_path):
    tat = tmp_path / "tatoeba"
    tat.mkdir()
    (tat / "tatoeba.fra-eng.fra").write_text("chat noir\nmaison bleue\nzzz\n")
    (tat / "tatoeba.fra-eng.eng").write_text("chat noir\nmaison bleue\nzzzz\n")
    result = evaluate.tatoeba(CharEncoder(), tat, ["fra"])
    assert result["languages"]["fra"]["xx2en"] == pytest.approx(100.0)
    with pytest.raises(EdgekitError, match="unknown Tatoeba language code xyz"):
        evaluate.tatoeba(CharEncoder(), tat, ["xyz"])
    sts = tmp_path / "sts"
    sts.mkdir()
    rows = ["sentence1\tsentence2\tscore", 'abc\tabc\t5.0', 'abc "q\tabd\t3.0', "abc\txyz\t0.0"]
    (sts / "STS17.en-en.tsv").write_text("\n".join(rows) + "\n")
    result = evaluate.sts17(CharEncoder(), sts)
    assert result["pairs"]["en-en"] == pytest.approx(100.0)


def test_dev_retrieval_per_language():
    dev = [("fr", f"sentence {w}", f"phrase {w}") for w in ("alpha", "beta", "gamma")]
    result = evaluate.dev_retrieval(CharEncoder(), dev)
    assert set(result["languages"]) == {"fr"}
    assert 0 <= result["mean"] <= 100
