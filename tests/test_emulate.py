"""Emulated ARM64 (`edgekit bench --emulate`): the CPU views, the instruction marks, the goals,
the report and the user's errors run everywhere; the emulated runs themselves are opt-in
(EDGEKIT_EMULATION=1: they need the ~10 GB set-up, see the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import emulate
from bench.report import markdown, plots
from distill.errors import EdgekitError

# the user's set-up, named before the test session points EDGEKIT_CACHE at a temporary cache
USER_ARM64 = emulate.root_dir()


def _cpuinfo(view: Path) -> list[dict[str, str]]:
    blocks = (view / "proc/cpuinfo").read_text().strip().split("\n\n")
    return [dict(line.split("\t: ", 1) if "\t: " in line else line.split(": ", 1)
                 for line in b.splitlines()) for b in blocks]


@pytest.mark.parametrize(("cpu", "part"), [("cortex-a53", "0xd03"), ("cortex-a76", "0xd0b")])
def test_view_names_the_emulated_core(tmp_path, cpu, part):
    rootfs = tmp_path / "rootfs"
    for name in ("usr", "etc", "proc", "sys"):
        (rootfs / name).mkdir(parents=True)
    (rootfs / "usr/marker").write_text("x")
    view = tmp_path / "view"
    for _ in range(2):  # rewriting a view replaces it, never touching the rootfs
        emulate.write_view(view, rootfs, cpu, cores=2)
    assert (view / "usr/marker").read_text() == "x"
    assert (view / "usr").is_symlink() and not (view / "proc").is_symlink()
    info = _cpuinfo(view)
    assert [b["processor"] for b in info] == ["0", "1"]
    assert {b["CPU part"] for b in info} == {part}
    assert ("asimddp" in info[0]["Features"]) == (cpu == "cortex-a76")  # dot product: A76 only
    midr = (view / "sys/devices/system/cpu/cpu1/regs/identification/midr_el1").read_text()
    assert int(midr, 16) == emulate.CPUS[cpu][0]
    assert (view / "sys/devices/system/cpu/online").read_text().strip() == "0-1"
    assert sorted(p.name for p in rootfs.iterdir()) == ["etc", "proc", "sys", "usr"]


def test_instruction_marks_per_forward():
    log = "plugin noise\nedgekit-insns 100\nedgekit-insns 300\nedgekit-insns 350\n" \
          "edgekit-insns 1350\n"
    marks = emulate.parse_marks(log)
    assert marks == [100, 300, 350, 1350]
    assert emulate.per_forward(marks, [8, 32], repeats=2) == {"8": 100, "32": 500}
    with pytest.raises(EdgekitError, match="expected 6 instruction marks"):
        emulate.per_forward(marks, [8, 32, 128], repeats=2)


def _row(role, precision, cpu, at32, cosine=1.0):
    return {"emulated": True, "cpu": cpu, "role": role, "runtime": "executorch",
            "precision": precision, "file": "model.pte",
            "instructions_per_forward": {"8": at32 // 4, "32": at32, "128": at32 * 5},
            "agreement": {"texts": 3, "min": cosine, "mean": cosine, "max_abs_diff": 1e-3},
            "emulated_wall_s": 10.0}


def test_goals_compare_with_the_teacher_on_each_core():
    rows = [_row("teacher", "fp32", "cortex-a53", 1000), _row("student", "int8", "cortex-a53",
                                                                 120, cosine=0.9995),
            _row("student", "int8", "cortex-a76", 50, cosine=0.998)]
    goals = emulate.emulated_goals(rows)
    ratio = [g for g in goals if "instructions" in g["goal"]]
    assert len(ratio) == 1 and ratio[0]["value"] == pytest.approx(1000 / 120, abs=0.01)
    assert not ratio[0]["ok"] and "teacher (fp32)" in ratio[0]["goal"]
    agree = {g["profile"]: g["ok"] for g in goals if "agrees" in g["goal"]}
    assert agree == {"emulated cortex-a53": True, "emulated cortex-a76": False}
    # a teacher int8 model, when there is one, is the like-for-like comparison; each core
    # with both a student and a teacher row is judged
    rows += [_row("teacher", "int8", "cortex-a53", 600), _row("teacher", "fp32", "cortex-a76", 600)]
    ratio = {g["profile"]: g for g in emulate.emulated_goals(rows) if "instructions" in g["goal"]}
    assert "teacher (int8)" in ratio["emulated cortex-a53"]["goal"]
    assert ratio["emulated cortex-a53"]["value"] == pytest.approx(5.0)
    assert ratio["emulated cortex-a76"]["value"] == pytest.approx(12.0)
    assert ratio["emulated cortex-a76"]["ok"] and not ratio["emulated cortex-a53"]["ok"]


def test_report_labels_emulated_rows(tmp_path):
    report = {"host": {"processor": "x", "cores_available": 2}, "runs_per_length": 1,
              "note": "n", "emulated_note": "emulated, not a phone", "passed": False,
              "student": {"source": "s", "parameters": 1, "quality": {}}, "teacher": None,
              "profiles": [], "results": [], "ratios": [],
              "emulated": [_row("student", "int8", "cortex-a53", 2_000_000)],
              "goals": emulate.emulated_goals([_row("student", "int8", "cortex-a53", 2)])}
    text = markdown(report)
    assert "## Emulated ARM64" in text and "| cortex-a53 (emulated) | student | int8 | 0.5 | " \
        "2.0 | 10.0 |" in text
    assert "| emulated cortex-a53 | student executorch-int8 | agrees with x86" in text
    assert "instructions-cortex-a53.png" in plots(report, tmp_path)
    assert (tmp_path / "instructions-cortex-a53.png").stat().st_size > 1000


def test_user_errors(tmp_path, monkeypatch):
    with pytest.raises(EdgekitError, match="unknown emulated CPU cortex-x9"):
        emulate.check_cpus(["cortex-a53", "cortex-x9"])
    assert emulate.check_cpus(["all"]) == ["cortex-a53", "cortex-a76"]
    with pytest.raises(EdgekitError, match="EDGEKIT_CACHE"):
        emulate._need_disk(tmp_path, 1e9)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(EdgekitError, match="run the same command once as root"):
        emulate._need_root("install qemu-user")


def test_cli_rejects_an_unknown_core(bundle_dir):
    p = subprocess.run([sys.executable, "-m", "edgekit.cli", "bench", str(bundle_dir),
                        "--emulate", "pentium"], capture_output=True, text=True)
    assert p.returncode == 2 and "invalid choice: 'pentium'" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.skipif(os.environ.get("EDGEKIT_EMULATION") != "1",
                    reason="opt-in: EDGEKIT_EMULATION=1 (needs the emulation set-up)")
def test_emulated_a53_agrees_with_x86_and_counts_instructions(bundle):
    """The tiny bundle's int8 .pte on an emulated Cortex-A53: its outputs match x86 and the
    instruction count per forward is reproducible and grows with the sequence length."""
    from bench.run import sequences

    root = emulate.setup(USER_ARM64)
    path = bundle.folder / "model.pte"
    ids = emulate.golden_ids(bundle)[:3]
    seqs = {n: s for n, s in sequences(bundle).items() if n <= 32}
    runs = [emulate.run_emulated(root, path, "cortex-a53", ids, seqs, repeats=1)
            for _ in range(2)]
    from export.parity import cosines
    from export.runtimes import executorch_runner

    x86 = executorch_runner(path)(ids)
    import numpy as np

    assert cosines(x86, np.stack(runs[0][0]))["min"] >= emulate.MIN_COSINE_INT8
    first, second = runs[0][1], runs[1][1]
    assert first["32"] > first["8"] > 0
    assert abs(first["32"] - second["32"]) / first["32"] < 0.01
    print(json.dumps(first))


def test_setup_steps_resume_after_an_interruption(tmp_path):
    final = tmp_path / "wheels"
    calls = []

    def download(dest: Path, fail: bool) -> None:
        calls.append(sorted(p.name for p in dest.iterdir()))
        (dest / f"part{len(calls)}").write_text("x")
        if fail:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        emulate._in_steps(final, lambda d: download(d, True), keep_partial=True)
    assert not final.exists()  # nothing half-done under the final name
    emulate._in_steps(final, lambda d: download(d, False), keep_partial=True)
    assert calls == [[], ["part1"]]  # a download continues where it stopped
    assert sorted(p.name for p in final.iterdir()) == ["part1", "part2"]
    emulate._in_steps(final, lambda d: download(d, False))  # done: not run again
    assert len(calls) == 2
    with pytest.raises(KeyboardInterrupt):
        emulate._in_steps(tmp_path / "rootfs", lambda d: download(d, True))
    emulate._in_steps(tmp_path / "rootfs", lambda d: download(d, False))
    assert calls[-1] == []  # any other step starts again from nothing
