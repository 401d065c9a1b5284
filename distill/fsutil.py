"""Write folders so that an interrupted run never leaves a half-written one."""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distill.errors import EdgekitError


@contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `dest`; on success it replaces `dest`."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield tmp
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def toml_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in Path(folder).glob("*.toml"))


def load_named_toml(name_or_path: str, folder: Path, kind: str, required: tuple[str, ...],
                    extra_names: tuple[str, ...] = ()) -> dict:
    """A TOML data file: NAME from `folder`, or a path ending in .toml; EdgekitError when it is
    missing, not TOML, or lacks one of `required`."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = Path(folder) / f"{name_or_path}.toml"
    if not path.is_file():
        names = ", ".join([*toml_names(folder), *extra_names])
        raise EdgekitError(f"unknown {kind} {name_or_path!r}: use one of {names} or a path to "
                           "a .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise EdgekitError(f"{kind} {path} is not valid TOML: {e}") from None
    for key in required:
        if key not in data:
            raise EdgekitError(f"{kind} {path} lacks the [{key}] entry")
    return data
