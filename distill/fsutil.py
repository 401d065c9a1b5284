"""Write folders so that an interrupted run never leaves a half-written one."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distill.errors import EdgekitError

# In every folder edgekit writes: the next run may replace it without --force
MARKER = ".edgekit"


def written_by_edgekit(folder: Path) -> bool:
    """The marker, or (folders from before it) the files of an edgekit corpus, student,
    bundle or report."""
    if (folder / MARKER).is_file() or all((folder / f).is_file() for f in ("train.tsv",
                                                                            "dev.tsv")):
        return True
    for name, key in (("manifest.json", "schema"), ("report.json", "schema"),
                      ("config.json", "format")):
        try:
            value = json.loads((folder / name).read_text()).get(key, "")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str) and value.startswith("edgekit"):
            return True
    return False


def check_output(dest: Path, force: bool = False) -> None:
    """Refuse, before any work, an output folder edgekit must not replace or cannot write:
    a file, a folder edgekit did not write (no MARKER) unless `force`, the current folder,
    one above it or the home folder (even with `force`), or a place without write access."""
    dest = Path(dest)
    full = dest.resolve()
    if full == Path.home().resolve() or full in [Path.cwd().resolve(), *Path.cwd().resolve()
                                                 .parents]:
        raise EdgekitError(f"--out {dest} would replace the folder you work in; "
                           "choose a new folder")
    if dest.exists() and not dest.is_dir():
        raise EdgekitError(f"--out {dest} is a file; choose a folder")
    if dest.is_dir() and not force and not written_by_edgekit(dest) and any(dest.iterdir()):
        raise EdgekitError(f"--out {dest} exists and edgekit did not write it; choose a new "
                           "folder, or pass --force to replace it")
    _check_writable(dest, "--out")


def check_output_file(path: Path, flag: str) -> None:
    """Refuse, before any work, an output file that is a folder or cannot be written."""
    if Path(path).is_dir():
        raise EdgekitError(f"{flag} {path} is a folder; give a file name")
    _check_writable(Path(path), flag)


def _check_writable(dest: Path, flag: str) -> None:
    above = Path(dest).resolve().parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise EdgekitError(f"cannot write {flag} {dest}: {above} is a file")
    if not os.access(above, os.W_OK | os.X_OK):
        raise EdgekitError(f"cannot write {flag} {dest}: {above} is not writable")


def _remove_stale(dest: Path) -> None:
    """Temporary folders of killed runs for `dest` (their process is gone)."""
    for tmp in dest.parent.glob(f".{dest.name}.*.tmp"):
        pid = tmp.name[len(dest.name) + 2:].split(".")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `dest`; on success it replaces `dest`, marked
    as edgekit's (MARKER). Whether `dest` may be replaced is `check_output`'s question,
    asked before the work starts."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp",
                                dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield tmp
        (tmp / MARKER).write_text("written by edgekit: the next run writing here replaces "
                                  "this folder\n")
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


_TOML_TYPES = {"str": str, "bool": bool, "int": int, "float": (int, float), "list": list,
               "dict": dict}


def value_fits(value: object, kind: str) -> bool:
    """Whether a TOML value fits a setting of type `kind` (a dataclass field's annotation:
    "int", "float", "str", "bool", "list", "dict"); a float takes an int, only a bool a bool."""
    return isinstance(value, _TOML_TYPES[kind]) and (kind == "bool"
                                                      or not isinstance(value, bool))
