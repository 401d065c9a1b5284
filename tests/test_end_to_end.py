"""One small real run: corpus from this machine's catalogs -> tiny distillation (interrupted
and resumed) -> evaluation, all through the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distill.data import available_languages
from distill.errors import EdgekitError
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow


def _default_sigint() -> None:
    # a shell without job control starts background jobs with SIGINT ignored, and Python then
    # installs no KeyboardInterrupt handler: give the child Ctrl-C back, as a terminal would
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def edgekit(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            preexec_fn=_default_sigint, **kw)


def test_tiny_preset_end_to_end(tmp_path, edgekit_cache, teacher):
    if not {"fr", "de"} <= set(available_languages()):
        pytest.skip("needs French and German gettext catalogs")
    corpus, student = tmp_path / "corpus", tmp_path / "student"
    p = edgekit("data", "--preset", "tiny", "--out", str(corpus))
    out, err = p.communicate()
    assert p.returncode == 0, err
    assert "fr" in out and "de" in out
    stats = json.loads((corpus / "stats.json").read_text())["languages"]
    assert stats["fr"]["train"] > 200 and stats["de"]["dev"] > 10

    # interrupt the run once its first checkpoint is written, then resume it
    p = edgekit("distill", "--preset", "tiny", "--corpus", str(corpus), "--out", str(student))
    checkpoint = Path(f"{student}.partial") / "checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    assert p.returncode == 130, err  # as any Ctrl-C
    assert "run the same command again to resume" in err
    assert not student.exists()  # nothing half-written
    said = re.search(r"stage (\d+)/\d+ saved at step (\d+)/", err)

    p = edgekit("distill", "--preset", "tiny", "--corpus", str(corpus), "--out", str(student))
    out, err = p.communicate()
    assert p.returncode == 0, err
    assert "resuming at stage" in err
    if said:  # inside a stage: the resume starts exactly where the message said
        assert re.search(rf"resuming at stage {said[1]}/\d+, step {said[2]} ", err), err
    assert not Path(f"{student}.partial").exists()
    assert "stage 4/4 infonce" in err  # every stage reports itself
    assert "infonce" in out            # ... and the closing stage table lists it
    info = json.loads((student / "config.json").read_text())["training"]
    assert [s["kind"] for s in info["stages"]] == ["align", "kd", "mcl", "infonce"]
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


def test_build_android_tiny_through_the_cli(tmp_path, edgekit_cache):
    """The product's main job, small: data -> distill -> export + parity -> bundle -> quick
    benchmark -> copy into the app's assets."""
    if not {"fr", "es"} <= set(available_languages()):
        pytest.skip("needs French and Spanish gettext catalogs")
    from export.bundle import Bundle

    android = tmp_path / "android_demo"
    android.mkdir()
    p = edgekit("build", "--target", "android", "--preset", "tiny", "--steps", "10",
                "--langs", "fr,es", "--out", str(tmp_path / "build"),
                "--android-dir", str(android))
    out, err = p.communicate()
    assert p.returncode == 0, err
    # --langs replaces the preset's languages (fr, de) in the corpus and the student
    stats = json.loads((tmp_path / "build/corpus/stats.json").read_text())
    assert set(stats["languages"]) == {"fr", "es"}
    training = json.loads((tmp_path / "build/student/config.json").read_text())["training"]
    assert training["languages"] == ["es", "fr"]
    assert "[5/5] copy into" in err and "parity with PyTorch" in out
    bundle = Bundle.load(tmp_path / "build" / "bundle")
    assets = Bundle.load(android / "app/src/main/assets/edgekit")
    assert assets.manifest == bundle.manifest
    assert sorted(p.name for p in assets.folder.iterdir()) == [
        ".edgekit", "golden.json", "manifest.json", "model.onnx", "model.pte",
        "post_process.json", "tokenizer.json"]  # the tiny preset is calibrated
    assert [(x["runtime"], x["precision"]) for x in bundle.models] == [
        ("executorch", "int8"), ("onnx", "int8")]
    with pytest.raises(EdgekitError, match="no PyTorch weights"):
        bundle.encode(["x"], runtime="torch")
    with pytest.raises(EdgekitError, match="no executorch model in fp32"):
        bundle.encode(["x"], runtime="executorch", precision="fp32")
    speed = json.loads((tmp_path / "build" / "quick-bench.json").read_text())
    assert set(speed) == {"executorch-int8", "onnx-int8"}
    assert all(r["sentences_per_s"] > 0 for r in speed.values())
