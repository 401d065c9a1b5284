"""`edgekit bench`: teacher and student bundles measured side by side under device profiles.

Every (profile, model, runtime) runs in its own child process (`bench.child`) with the
profile's threads, CPU affinity and memory budget, on the same texts at the same lengths.
Host latency under a profile is a proxy for a phone, not a phone measurement.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from distill.fsutil import load_named_toml, toml_names
from distill.progress import progress_bar
from export.bundle import Bundle
from export.golden import GOLDEN_TEXTS

SCHEMA = "edgekit.bench/1"
PROFILE_DIR = Path(__file__).parent / "profiles"
LENGTHS = (8, 32, 128)


def load_profiles(spec: str) -> list[dict]:
    """"all", a shipped profile name, or a path to a .toml file."""
    if spec == "all":
        return [load_profiles(name)[0] for name in toml_names(PROFILE_DIR)]
    return [load_named_toml(spec, PROFILE_DIR, "profile", ("name", "threads", "memory_mb",
                                                           "goals"), extra_names=("all",))]


def bench_texts() -> list[str]:
    """Real sentences in many languages (the golden texts without the edge cases)."""
    return [t for lang, t in GOLDEN_TEXTS if lang not in ("edge", "mixed")]


def sequences(bundle: Bundle) -> dict[int, list[int]]:
    """Token ids of exactly each length, cut from the same multilingual passage for every
    model: its own tokenizer, same text, closing token kept."""
    passage = " ".join(bench_texts() * 4)
    ids = bundle.tokenizer.encode(bundle.text_prefix + passage).ids  # truncated to max_len
    out = {}
    for n in LENGTHS:
        if n <= bundle.max_len:
            out[n] = ids[: n - 1] + ids[-1:]
    return out


def _run_child(job: dict, timeout: float) -> dict:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": str(job["threads"])}
    try:
        p = subprocess.run([sys.executable, "-m", "bench.child"], input=json.dumps(job),
                           capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "detail": f"timed out after {timeout:.0f} s"}
    lines = p.stdout.strip().splitlines()
    if p.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"status": "error", "detail": (p.stderr.strip() or f"exit {p.returncode}")[-300:]}


def _run_capped(job: dict, timeout: float = 600) -> dict:
    """Run a job under its memory cap; a failure that disappears without the cap (checked
    with one quick uncapped run) is the model exceeding the profile's budget."""
    result = _run_child(job, timeout)
    if result["status"] == "ok" or job["memory_mb"] is None:
        return result
    probe = _run_child({**job, "memory_mb": None, "runs": 1, "warmup": 0,
                        "throughput_seconds": 0}, timeout)
    if probe["status"] == "ok":
        return {"status": "over_budget", "detail": result.get("detail", "")}
    return result


def measure(bundle: Bundle, role: str, profile: dict, cores: list[int], runs: int,
            throughput_seconds: float) -> list[dict]:
    rows = []
    seqs = sequences(bundle)
    for model in bundle.models:
        job = {"model_file": str(bundle.folder / model["file"]), "runtime": model["runtime"],
               "threads": len(cores), "cores": cores,
               "memory_mb": profile["memory_mb"], "pad_id": bundle.pad_id,
               "sequences": seqs, "runs": runs, "warmup": max(3, runs // 10),
               "tokenizer": str(bundle.folder / bundle.manifest["tokenizer"]["file"]),
               "text_prefix": bundle.text_prefix, "texts": bench_texts(),
               "throughput_seconds": throughput_seconds}
        result = _run_capped(job)
        rows.append({"profile": profile["name"], "role": role, "runtime": model["runtime"],
                     "precision": model["precision"], "file": model["file"],
                     "file_mb": round(bundle.manifest["files"][model["file"]]["size"] / 1e6, 2),
                     **result})
    return rows


def check_goals(profile: dict, student_rows: list[dict], max_len: int) -> list[dict]:
    """The profile's goals, for the student's default model (the bundle's first)."""
    row = student_rows[0]
    name = f"{row['runtime']}-{row['precision']}"
    goals = [{"goal": "fits the memory budget", "limit": f"{profile['memory_mb']} MB",
              "value": row.get("model_rss_mb"), "ok": row["status"] == "ok"}]
    g = profile["goals"]
    if "max_file_mb" in g:
        goals.append({"goal": "file size (MB)", "limit": g["max_file_mb"],
                      "value": row["file_mb"], "ok": row["file_mb"] <= g["max_file_mb"]})
    for length in LENGTHS:
        key = f"max_p95_ms_at_{length}"
        if key in g and length <= max_len:  # a 64-token model has no 128-token goal
            value = row.get("latency_ms", {}).get(str(length), {}).get("p95")
            goals.append({"goal": f"p95 latency at {length} tokens (ms)", "limit": g[key],
                          "value": value, "ok": value is not None and value <= g[key]})
    for goal in goals:
        goal.update(profile=profile["name"], model=name)
    return goals


def ratios(rows: list[dict]) -> list[dict]:
    """Per profile, each student model against the teacher's model on the same runtime: the
    same precision where the teacher has it, else the teacher's (fp32) one."""
    out = []
    for s in rows:
        if s["role"] != "student" or s["status"] != "ok":
            continue
        candidates = [t for t in rows if t["role"] == "teacher" and t["status"] == "ok"
                      and t["profile"] == s["profile"] and t["runtime"] == s["runtime"]]
        candidates.sort(key=lambda t: t["precision"] != s["precision"])
        if not candidates:
            continue
        t = candidates[0]
        out.append({
            "profile": s["profile"], "runtime": s["runtime"], "student": s["precision"],
            "teacher": t["precision"],
            "speedup_p50_at_32": round(t["latency_ms"]["32"]["p50"]
                                       / s["latency_ms"]["32"]["p50"], 2),
            "throughput_ratio": round(s["sentences_per_s"] / t["sentences_per_s"], 2),
            "size_reduction": round(t["file_mb"] / s["file_mb"], 2),
            "memory_reduction": round(t["model_rss_mb"] / max(s["model_rss_mb"], 0.1), 2)})
    return out


def _summary(bundle: Bundle) -> dict:
    m = bundle.manifest
    return {"folder": str(bundle.folder), "source": m["source"]["name"],
            "parameters": m["size"]["parameters"], "quality": m.get("quality", {})}


def run_emulation(student: Bundle, teachers: list[Bundle], cpus: list[str], repeats: int
                  ) -> list[dict]:
    """Each bundle's .pte files on each emulated core (bench.emulate)."""
    from bench.emulate import emulate_bundle, setup

    root = setup()
    return [row for role, bundle in _roles(student, teachers)
            for row in emulate_bundle(root, bundle, role, cpus, sequences(bundle), repeats)]


def _roles(student: Bundle, teachers: list[Bundle]) -> list[tuple[str, Bundle]]:
    """The bundles to measure with their roles, teachers first."""
    return [("teacher", t) for t in teachers] + [("student", student)]


def run_bench(student: Bundle, teachers: list[Bundle], profiles: list[dict],
              runs: int = 50, throughput_seconds: float = 2.0, emulate: list[str] = (),
              repeats: int = 2) -> dict:
    """Host rows under each profile, then (with `emulate`) rows on emulated ARM64 cores.
    `teachers`: bundles of the same teacher (e.g. its fp32 bundle and an int8 `.pte` one);
    each student model is compared with the teacher's model of the same runtime and
    precision where there is one."""
    from bench.emulate import emulated_goals

    available = sorted(os.sched_getaffinity(0))
    rows, goals = [], []
    jobs = [(p, role, b) for p in profiles for role, b in _roles(student, teachers)]
    for p in profiles:  # more threads than cores would measure oversubscription, not a phone
        p["cores_used"] = min(p["threads"], len(available))
    for profile, role, bundle in progress_bar(jobs, desc="bench", unit="run", leave=False):
        cores = available[: profile["cores_used"]]
        new = measure(bundle, role, profile, cores, runs, throughput_seconds)
        rows += new
        if role == "student":
            goals += check_goals(profile, new, bundle.max_len)
    emulated = run_emulation(student, teachers, list(emulate), repeats) if emulate else []
    goals += emulated_goals(emulated)
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"platform": platform.platform(), "processor": _cpu_name(),
                 "cores_available": len(available), "python": platform.python_version()},
        "note": "Host latency under a profile is a proxy (threads, affinity, memory cap on "
                "this CPU), not a phone measurement.",
        "runs_per_length": runs,
        "profiles": profiles,
        "student": _summary(student),
        "teacher": _summary(teachers[0]) if teachers else None,
        "results": rows,
        "ratios": ratios(rows),
        "emulated_note": "Emulated rows: qemu-user on this host; instruction counts are "
                         "deterministic, emulated wall time is no proxy for a phone.",
        "emulated": emulated,
        "goals": goals,
        "passed": all(g["ok"] for g in goals),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
