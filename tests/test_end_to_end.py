"""One small real run: corpus from this machine's catalogs -> tiny distillation (interrupted
and resumed) -> evaluation, all through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distill.data import available_languages
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow


def edgekit(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ), **kw)


def test_tiny_preset_end_to_end(tmp_path, edgekit_cache, teacher):
    if not {"fr", "de"} <= set(available_languages()):
        pytest.skip("needs French and German gettext catalogs")
    corpus, student = tmp_path / "corpus", tmp_path / "student"
    p = edgekit("data", "--preset", "tiny", "--out", str(corpus))
    out, err = p.communicate()
    assert p.returncode == 0, err
    assert "fr" in out and "de" in out
    stats = json.loads((corpus / "stats.json").read_text())
    assert stats["fr"]["train"] > 200 and stats["de"]["dev"] > 10

    # interrupt the run once its first checkpoint is written, then resume it
    p = edgekit("distill", "--preset", "tiny", "--corpus", str(corpus), "--out", str(student))
    checkpoint = Path(f"{student}.partial") / "checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    assert p.returncode == 2, err
    assert "run the same command again to resume" in err
    assert not student.exists()  # nothing half-written

    p = edgekit("distill", "--preset", "tiny", "--corpus", str(corpus), "--out", str(student))
    out, err = p.communicate()
    assert p.returncode == 0, err
    assert "resuming from step" in err
    assert not Path(f"{student}.partial").exists()
    info = json.loads((student / "config.json").read_text())["training"]
    assert info["parameters"] * 8 < info["teacher_parameters"]
    # tiny and short, but far above chance (about 1/40 on ~40 dev pairs per language)
    assert info["dev_retrieval"]["mean"] > 30

    args = ["eval", str(student), "--corpus", str(corpus), "--json", str(tmp_path / "r.json")]
    tatoeba, sts = SHARED_DATA / "tatoeba", SHARED_DATA / "sts17"
    if tatoeba.is_dir() and sts.is_dir():
        args += ["--tatoeba", str(tatoeba), "--langs", "fra,deu", "--sts17", str(sts)]
    p = edgekit(*args)
    out, err = p.communicate()
    assert p.returncode == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["dev_retrieval"]["mean"] == pytest.approx(info["dev_retrieval"]["mean"],
                                                            abs=0.01)
    if "tatoeba" in result:
        assert set(result["tatoeba"]["languages"]) == {"fra", "deu"}
        assert len(result["sts17"]["pairs"]) == 10
        assert "Tatoeba retrieval accuracy" in out
