"""Getting a source's files: Debian packages unpacked (never installed) and npm packages,
cached under one folder so a second run reads them again without the network."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from distill.errors import EdgekitError


def debian_package_exists(name: str) -> bool:
    """Whether the machine's apt lists know `name` (answered offline)."""
    if not shutil.which("apt-cache"):
        return False
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", name],
                         capture_output=True, text=True)
    return out.returncode == 0 and "Package:" in out.stdout


def debian(name: str, cache: Path) -> Path:
    """The root of Debian package `name` unpacked under `cache` (downloaded once)."""
    dest = Path(cache) / "deb" / name
    if dest.is_dir():
        return dest
    for tool in ("apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            raise EdgekitError(f"cannot unpack Debian package {name}: {tool} is not on this "
                               "machine (a Debian or Ubuntu system is needed for --source)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{name}.") as tmp:
        got = subprocess.run(["apt-get", "download", "-q", name], cwd=tmp,
                             capture_output=True, text=True)
        debs = sorted(Path(tmp).glob("*.deb"))
        if got.returncode != 0 or not debs:
            raise EdgekitError(f"cannot download Debian package {name}; check the network "
                               f"and run `apt-get update`, or fetch it by hand: "
                               f"apt-get download {name}")
        unpacked = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], check=True)
        unpacked.rename(dest)  # whole or not at all
    return dest


def npm(name: str, cache: Path) -> Path:
    """The `package/` folder of npm package `name` under `cache` (downloaded once)."""
    dest = Path(cache) / "npm" / name
    if dest.is_dir():
        return dest / "package"
    if not shutil.which("npm"):
        raise EdgekitError(f"cannot fetch npm package {name}: npm is not on this machine "
                           "(install it: sudo apt install npm)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{name}.") as tmp:
        got = subprocess.run(["npm", "pack", "--silent", name], cwd=tmp,
                             capture_output=True, text=True)
        tgz = sorted(Path(tmp).glob("*.tgz"))
        if got.returncode != 0 or not tgz:
            raise EdgekitError(f"cannot download npm package {name}; check the network, or "
                               f"fetch it by hand: npm pack {name}")
        unpacked = Path(tmp) / "root"
        with tarfile.open(tgz[0]) as tar:
            tar.extractall(unpacked, filter="data")
        unpacked.rename(dest)
    return dest / "package"
