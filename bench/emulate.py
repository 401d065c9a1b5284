"""Emulated ARM64 devices: a bundle's `.pte` files run on an emulated Cortex-A53 or Cortex-A76.

Set-up, once, cached in `<edgekit cache>/arm64/`; every step is resumable:

    tools   qemu-user, debootstrap, gcc, libglib2.0-dev                 (apt: root)
    rootfs  Debian bookworm arm64, minbase + python3                    (debootstrap: root;
            without binfmt, its first stage and every package unpacked by dpkg-deb)
    wheels  aarch64 wheels of torch, executorch and their runtime needs (host pip, ~2.8 GB:
            PyPI's aarch64 torch is a CUDA build, so NVIDIA's libraries come with it)
    site    the wheels unpacked for the aarch64 Python                  (pip in a chroot fails TLS)
    plugin  insn_marks.c built against the installed QEMU's qemu-plugin.h

Runs need no root, binfmt or chroot: `qemu-aarch64 -L VIEW` looks absolute paths up in VIEW
first. A view is the rootfs plus a /proc/cpuinfo and /sys CPU tree naming the emulated core,
because the runtime picks its kernels from that identity: a mismatch selects instructions
the core lacks (SIGILL), and QEMU's default `max` CPU gives wrong int8 results.

Measured: each `.pte`'s outputs on the golden inputs against the same file on x86, and guest
instructions per forward at each benchmark length, a cost figure that does not drift with
the host's load. Emulated wall time is no proxy for a phone: floating point is emulated far
more slowly than integer code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from distill.errors import EdgekitError
from distill.progress import progress_bar
from distill.teachers import cache_dir
from export.bundle import Bundle
from export.parity import cosines

REPO = Path(__file__).resolve().parents[1]
# MIDR_EL1 and the /proc/cpuinfo features a Linux kernel reports for each core
CPUS = {
    "cortex-a53": (0x410FD034, "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"),
    "cortex-a76": (0x414FD0B1, "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp "
                               "asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs"),
}
GOAL_LENGTH, GOAL_RATIO = 32, 10  # on every emulated core
MIN_COSINE_INT8 = 0.999
TOOLS = {"qemu-aarch64": "qemu-user", "debootstrap": "debootstrap", "gcc": "gcc",
         "pkg-config": "pkg-config"}
APT_PACKAGES = ("qemu-user", "debootstrap", "gcc", "pkg-config", "libglib2.0-dev")
FREE_GB_FOR_SETUP = 10
MIRROR = "http://deb.debian.org/debian"
PLATFORMS = [f"manylinux_2_{v}_aarch64" for v in range(17, 29)] + ["manylinux2014_aarch64"]
RUN_TIMEOUT_S = 3600


def root_dir() -> Path:
    return cache_dir() / "arm64"


# --- set-up ----------------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip())[-600:]
        raise EdgekitError(f"ARM64 emulation set-up: {what} failed (exit {p.returncode}); "
                           f"run again to resume. Its output ends:\n{tail}")
    return p


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise EdgekitError(f"ARM64 emulation set-up needs root to {what}; run the same "
                           "command once as root (later runs need no root), or install "
                           f"the tools yourself: sudo apt install {' '.join(APT_PACKAGES)}")


def _need_disk(folder: Path, gb: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free / 1e9
    if free < gb:
        raise EdgekitError(f"ARM64 emulation set-up needs about {gb:.0f} GB free under "
                           f"{folder}, {free:.1f} GB are: free some space or point "
                           "EDGEKIT_CACHE at a larger disk")


def _tools() -> None:
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if "pkg-config" in missing or subprocess.run(["pkg-config", "--exists", "glib-2.0"]
                                                 ).returncode != 0:
        missing.append("libglib2.0-dev")  # the plugin's headers
    if not missing:
        return
    _need_root("install " + ", ".join(missing))
    _run(["apt-get", "install", "-y", "-q", *APT_PACKAGES], "apt-get install",
         env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _binfmt() -> bool:
    """Whether the kernel hands arm64 programs to QEMU (debootstrap's second stage runs
    them); enabled here where the host allows it."""
    mount = Path("/proc/sys/fs/binfmt_misc")
    entry = mount / "qemu-aarch64"
    if not (mount / "status").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(mount)],
                       capture_output=True)
    if not entry.exists() and shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], capture_output=True)
    return entry.exists() and entry.read_text().startswith("enabled")


def _in_steps(final: Path, build: Callable[[Path], None], keep_partial: bool = False) -> None:
    """Build `final` in `final.partial`, then rename: an interrupted step leaves no half
    result under the final name, and the next run redoes (or, for downloads, resumes) it."""
    if final.exists():
        return
    partial = final.with_name(final.name + ".partial")
    if partial.exists() and not keep_partial:
        shutil.rmtree(partial)
    partial.mkdir(parents=True, exist_ok=True)
    build(partial)
    partial.rename(final)


def _rootfs(dest: Path) -> None:
    _need_root("build the arm64 root file system (debootstrap)")
    shutil.rmtree(dest)  # debootstrap wants a missing or empty target
    command = ["debootstrap", "--arch=arm64", "--variant=minbase", "--include=python3"]
    if _binfmt():
        _run([*command, "bookworm", str(dest), MIRROR], "debootstrap")
        return
    # An unprivileged container cannot register binfmt, so the second stage (arm64 package
    # scripts) cannot run: the host's dpkg-deb unpacks every package instead. The runs only
    # read files (python3 and its libraries), which unpacking alone provides.
    _run([*command, "--foreign", "bookworm", str(dest), MIRROR], "debootstrap --foreign")
    for deb in sorted((dest / "var/cache/apt/archives").glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(dest)], f"unpacking {deb.name}")


def _pinned(dist: str) -> str:
    return f"{dist}=={version(dist).split('+')[0]}"  # the host's version, without +cpu


def _pip_platform() -> list[str]:
    flags = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
             "--abi", "cp311"]
    for tag in PLATFORMS:
        flags += ["--platform", tag]
    return flags


def _wheels(dest: Path) -> None:
    """The runtime and what it imports, at the host's versions; executorch without its
    dependencies, most of which are for exporting, not running."""
    pip = [sys.executable, "-m", "pip", "download", "-q", *_pip_platform(), "-d", str(dest)]
    _run(pip + [_pinned("torch"), _pinned("torchao"), "numpy", "tokenizers", "tqdm",
                "ruamel.yaml", "flatbuffers", "packaging", "pyyaml", "tabulate"],
         "pip download (aarch64 wheels)")
    _run(pip + ["--no-deps", _pinned("executorch")], "pip download (executorch)")


def _site(dest: Path, wheels: Path) -> None:
    files = [str(w) for w in sorted(wheels.glob("*.whl"))
             if not w.name.startswith("triton-")]  # a GPU compiler: never imported here
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          "--no-compile", *_pip_platform(), "--target", str(dest), *files],
         "pip install --target (aarch64 site)")
    # bytecode compiled natively: compiling it under emulation costs ~40 s per run
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(dest)],
                   capture_output=True)


def _qemu_upstream_version() -> str:
    p = _run(["dpkg-query", "-W", "-f", "${Version}", "qemu-user"], "dpkg-query qemu-user")
    return p.stdout.split(":", 1)[-1].split("-", 1)[0]  # 1:7.2+dfsg-7+deb12u18 -> 7.2+dfsg


def _plugin(dest: Path) -> None:
    """Only qemu-plugin.h is needed from QEMU's source, at the installed version."""
    upstream = _qemu_upstream_version()
    url = f"{MIRROR}/pool/main/q/qemu/qemu_{upstream}.orig.tar.xz"
    tarball = dest / "qemu.tar.xz"
    _run(["curl", "-fsSL", "-o", str(tarball), url], f"downloading {url}")
    _run(["tar", "-xJf", str(tarball), "-C", str(dest), "--wildcards", "--strip-components=3",
          "*/include/qemu/qemu-plugin.h"], "extracting qemu-plugin.h")
    tarball.unlink()
    glib = _run(["pkg-config", "--cflags", "glib-2.0"], "pkg-config glib-2.0").stdout.split()
    _run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", f"-I{dest}", *glib, "-o",
          str(dest / "libinsn_marks.so"), str(REPO / "bench" / "insn_marks.c")],
         "compiling the instruction-count plugin")


def write_view(view: Path, rootfs: Path, cpu: str, cores: int = 0) -> None:
    """The rootfs seen through symlinks, with its own /proc/cpuinfo and /sys CPU tree naming
    the emulated core (`qemu-aarch64 -L view` finds these before the host's). As many cores
    as the host has: the runtime checks the tree against the processor count it is told."""
    midr, features = CPUS[cpu]
    cores = cores or os.cpu_count() or 1
    if view.exists():
        shutil.rmtree(view)
    view.mkdir(parents=True)
    for entry in rootfs.iterdir():
        if entry.name not in ("proc", "sys"):
            (view / entry.name).symlink_to(entry)
    cpus = view / "sys/devices/system/cpu"
    cpuinfo = []
    for n in range(cores):
        (cpus / f"cpu{n}/regs/identification").mkdir(parents=True)
        (cpus / f"cpu{n}/regs/identification/midr_el1").write_text(f"0x{midr:016x}\n")
        cpuinfo.append(
            f"processor\t: {n}\nBogoMIPS\t: 50.00\nFeatures\t: {features}\n"
            f"CPU implementer\t: 0x{midr >> 24:02x}\nCPU architecture: 8\n"
            f"CPU variant\t: 0x{(midr >> 20) & 0xF:x}\n"
            f"CPU part\t: 0x{(midr >> 4) & 0xFFF:03x}\nCPU revision\t: {midr & 0xF}\n\n")
    for name in ("possible", "present", "online"):
        (cpus / name).write_text(f"0-{cores - 1}\n" if cores > 1 else "0\n")
    (view / "proc").mkdir()
    (view / "proc/cpuinfo").write_text("".join(cpuinfo))


def setup(root: Path | None = None) -> Path:
    """Everything the emulated runs need, built once (resumable); returns its folder."""
    root = root or root_dir()
    done = [(root / name).exists() for name in ("rootfs", "wheels", "site", "plugin")]
    if not all(done):
        _need_disk(root, FREE_GB_FOR_SETUP)
    steps = [("tools", _tools),
             ("rootfs", lambda: _in_steps(root / "rootfs", _rootfs)),
             ("wheels", lambda: _in_steps(root / "wheels", _wheels, keep_partial=True)),
             ("site", lambda: _in_steps(root / "site", lambda d: _site(d, root / "wheels"))),
             ("plugin", lambda: _in_steps(root / "plugin", _plugin))]
    bar = progress_bar(steps, desc="arm64 set-up", unit="step", leave=False, disable=all(done))
    for name, step in bar:
        bar.set_postfix_str(name)
        step()
    return root


# --- runs ------------------------------------------------------------------------------------


def parse_marks(log: str) -> list[int]:
    return [int(line.split()[1]) for line in log.splitlines()
            if line.startswith("edgekit-insns ")]


def per_forward(marks: list[int], lengths: list[int], repeats: int) -> dict[str, int]:
    """Marks come in (before, after) pairs, one pair per length."""
    if len(marks) != 2 * len(lengths):
        raise EdgekitError(f"expected {2 * len(lengths)} instruction marks, got {len(marks)}")
    return {str(n): round((marks[2 * i + 1] - marks[2 * i]) / repeats)
            for i, n in enumerate(lengths)}


def golden_ids(bundle: Bundle) -> list[list[int]]:
    golden = json.loads((bundle.folder / "golden.json").read_text(encoding="utf-8"))
    return [item["ids"] for item in golden["items"]]


def run_emulated(root: Path, model_file: Path, cpu: str, ids: list[list[int]],
                 sequences: dict[int, list[int]], repeats: int) -> tuple[list, dict, float]:
    """(outputs on the golden ids, instructions per forward by length, wall seconds)."""
    lengths = sorted(sequences)
    job = {"model_file": str(model_file.resolve()), "golden_ids": ids, "lengths": lengths,
           "sequences": {str(n): s for n, s in sequences.items()}, "repeats": repeats}
    env = {**os.environ, "PYTHONPATH": f"{root / 'site'}:{REPO}", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:  # a view per run: runs may go side by side
        view, log = Path(tmp) / "view", Path(tmp) / "insns.log"
        write_view(view, root / "rootfs", cpu)
        cmd = ["qemu-aarch64", "-L", str(view), "-cpu", cpu, "-plugin",
               str(root / "plugin" / "libinsn_marks.so"), "-d", "plugin", "-D", str(log),
               str(view / "usr/bin/python3"), "-m", "bench.arm_child"]
        started = time.perf_counter()
        try:
            p = subprocess.run(cmd, input=json.dumps(job), capture_output=True, text=True,
                               env=env, cwd=REPO, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise EdgekitError(f"{model_file.name} on emulated {cpu}: no result after "
                               f"{RUN_TIMEOUT_S} s") from None
        wall = time.perf_counter() - started
        lines = p.stdout.strip().splitlines()
        if p.returncode != 0 or not lines:
            raise EdgekitError(f"{model_file.name} on emulated {cpu} failed (exit "
                               f"{p.returncode}): {p.stderr.strip()[-400:]}")
        marks = parse_marks(log.read_text())
    import numpy as np

    outputs = [np.asarray(o, dtype=np.float32) for o in json.loads(lines[-1])["outputs"]]
    return outputs, per_forward(marks, lengths, repeats), wall


def emulate_bundle(root: Path, bundle: Bundle, role: str, cpus: list[str],
                   sequences: dict[int, list[int]], repeats: int) -> list[dict]:
    """One row per (.pte, CPU): agreement with x86 and instructions per forward."""
    from export.runtimes import executorch_runner

    rows = []
    # the bundle under test is checked on all its golden inputs; the teacher, there for its
    # instruction counts, on a few (its fp32 forwards are slow to emulate)
    ids = golden_ids(bundle) if role == "student" else golden_ids(bundle)[:4]
    models = [m for m in bundle.models if m["runtime"] == "executorch"]
    for model in models:
        path = bundle.folder / model["file"]
        x86 = executorch_runner(path)(ids)
        for cpu in cpus:
            outputs, insns, wall = run_emulated(root, path, cpu, ids, sequences, repeats)
            agreement = cosines(x86, outputs)
            rows.append({"emulated": True, "cpu": cpu, "role": role,
                         "runtime": "executorch", "precision": model["precision"],
                         "file": model["file"], "instructions_per_forward": insns,
                         "agreement": {"texts": len(ids), **agreement},
                         "emulated_wall_s": round(wall, 1)})
    return rows


def emulated_goals(rows: list[dict]) -> list[dict]:
    """int8 agrees with x86 on every emulated core; on each core, the student's int8 forward
    at 32 tokens costs at most 1/10 of the teacher's instructions (the teacher at int8 when
    a bundle of it has it, else its fp32 model)."""
    goals = []
    for r in rows:
        if r["precision"] == "int8":
            value = r["agreement"]["min"]
            goals.append({"profile": f"emulated {r['cpu']}", "model": f"{r['role']} "
                          f"executorch-int8", "goal": "agrees with x86 (min cosine)",
                          "limit": f"≥ {MIN_COSINE_INT8}", "value": value,
                          "ok": value >= MIN_COSINE_INT8})
    for cpu in dict.fromkeys(r["cpu"] for r in rows):
        student = [r for r in rows if r["role"] == "student" and r["cpu"] == cpu
                   and r["precision"] == "int8"]
        teacher = sorted((r for r in rows if r["role"] == "teacher" and r["cpu"] == cpu),
                         key=lambda r: r["precision"] != "int8")
        if student and teacher:
            s, t = student[0], teacher[0]
            n = str(GOAL_LENGTH)
            ratio = t["instructions_per_forward"][n] / s["instructions_per_forward"][n]
            goals.append({"profile": f"emulated {cpu}", "model": "student executorch-int8",
                          "goal": f"teacher ({t['precision']}) ÷ student instructions per "
                                  f"forward at {GOAL_LENGTH} tokens",
                          "limit": f"≥ {GOAL_RATIO}", "value": round(ratio, 2),
                          "ok": ratio >= GOAL_RATIO})
    return goals


def check_cpus(names: list[str]) -> list[str]:
    cpus = list(CPUS) if "all" in names else names
    unknown = [c for c in cpus if c not in CPUS]
    if unknown:
        raise EdgekitError(f"unknown emulated CPU {', '.join(unknown)}: choose from "
                           f"{', '.join(CPUS)} or all")
    return list(dict.fromkeys(cpus))
