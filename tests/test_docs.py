"""The docs stay honest: every command and flag of the CLI is documented in docs/cli.md, and
every key the exporter writes into a manifest in docs/bundle-format.md."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from distill.student import StudentConfig
from edgekit.cli import build_parser
from export.bundle import task_fields

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_and_flag_is_in_the_cli_docs():
    text = (DOCS / "cli.md").read_text()
    missing = []
    for name, parser in _commands().items():
        if not re.search(rf"^## {re.escape(name)}$", text, re.M):
            missing.append(f"section ## {name}")
        flags = {o for a in parser._actions for o in a.option_strings} - {"-h", "--help"}
        missing += [f"{name} {flag}" for flag in sorted(flags)
                    if not re.search(rf"`{re.escape(flag)}[ `/|]", text)]
    assert not missing, f"not in docs/cli.md: {missing}"


def _keys(value, prefix: str = "") -> set[str]:
    """Every key of a manifest, nested ones as parent.key; the per-file, per-variant and
    per-setting tables count by their parent."""
    if not isinstance(value, dict):
        return set()
    out = set()
    for key, sub in value.items():
        out.add(key)
        if key not in ("files", "bytes", "cosine", "config"):
            out |= _keys(sub, f"{prefix}{key}.")
    return out


def test_every_manifest_key_is_in_the_bundle_docs(bundle):
    text = (DOCS / "bundle-format.md").read_text()
    keys = _keys(bundle.manifest)
    keys |= _keys(task_fields(StudentConfig(vocab_size=10, labels=["O", "B-PER"])))
    keys |= {k for m in bundle.manifest["models"] for k in m}
    keys |= set(bundle.manifest["source"]["config"])
    keys |= {k for f in bundle.manifest["parity"]["cosine"].values() for k in f}
    assert "tag_agreement" in text
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"manifest keys not in docs/bundle-format.md: {missing}"
