"""Where an ExecuTorch program spends its time, op by op, with ExecuTorch's own devtools.

    python -m bench.profile_pte BUNDLE [--runs 20] [--threads 1] [--out build/profile]

The bundle's `.pte` runs with ETDump enabled at 8, 32 and 128 tokens (the bench's real
sentences, on `--threads` of XNNPACK's thread pool); the devtools `Inspector` reads
the events back: the XNNPACK delegate's own ops (inside `DELEGATE_CALL`) and the portable
kernels outside it. Each op's median per run is summed over its calls and shown as a share
of the whole program. Writes OUT/etdump.etdp, OUT/profile.json and OUT/profile.md.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

LENGTHS = (8, 32, 128)
ENVELOPES = ("OPERATOR_CALL", "DELEGATE_CALL")  # wrap the ops below; counted as the total


def run_with_etdump(pte: Path, sequences: dict[int, list[int]], runs: int, threads: int,
                    out: Path) -> Path:
    """Run `pte` `runs` + 1 times per length (the first warms up) and write the ETDump."""
    import torch

    from export.runtimes import executorch_bindings

    bindings = executorch_bindings()
    bindings._unsafe_reset_threadpool(threads)
    module = bindings._load_for_executorch(str(pte), enable_etdump=True)
    for n in sorted(sequences):
        ids = torch.tensor([sequences[n]])
        for _ in range(runs + 1):
            module.forward((ids, torch.ones_like(ids)))
    path = out / "etdump.etdp"
    module.write_etdump_result_to_file(str(path))
    return path


def op_shares(etdump: Path, lengths: list[int], runs: int) -> dict[int, dict]:
    """Per length: the program's median ms per run, and per op (delegated or portable) its
    ms, share and number of calls."""
    from executorch.devtools import Inspector

    frame = Inspector(etdump_path=str(etdump)).to_dataframe()
    frame = frame[frame.event_block_name == "Execute"]
    result = {}
    for i, n in enumerate(lengths):
        window = slice(i * (runs + 1) + 1, (i + 1) * (runs + 1))  # skip the warm-up run
        ms, calls, total = Counter(), Counter(), 0.0
        for _, event in frame.iterrows():
            if event.event_name == "Method::execute":
                continue
            median = float(np.median(event.raw[window]))
            if event.event_name in ENVELOPES:
                total += median
                if event.event_name == "DELEGATE_CALL":
                    ms["xnnpack: delegate call overhead"] += median
                continue
            if event.is_delegated_op:
                key = "xnnpack: " + event.event_name.split(" #")[0]
                ms["xnnpack: delegate call overhead"] -= median
            else:
                key = "portable: " + event.event_name.removeprefix("native_call_")
            ms[key] += median
            calls[key] += 1
        result[n] = {"total_ms": round(total, 3), "ops": {
            k: {"ms": round(v, 3), "share": round(v / total, 4), "calls": calls[k]}
            for k, v in ms.most_common()}}
    return result


def table(profile: dict[int, dict], top: int = 12) -> str:
    lengths = sorted(profile)
    longest = profile[lengths[-1]]["ops"]
    names = list(longest)[:top]
    head = " | ".join(f"{n} tokens" for n in lengths)
    lines = [f"| op | delegated | {head} |", "|---|---|" + "---:|" * len(lengths),
             "| **whole program, ms** | | " + " | ".join(
                 f"{profile[n]['total_ms']:.2f}" for n in lengths) + " |"]
    for name in names:
        where, op = name.split(": ", 1)
        cells = [f"{100 * profile[n]['ops'].get(name, {}).get('share', 0):.1f}%"
                 for n in lengths]
        lines.append(f"| {op} | {'yes' if where == 'xnnpack' else 'no'} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.profile_pte",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("build/profile"))
    args = ap.parse_args(argv)

    from bench.run import sequences
    from export.bundle import Bundle

    bundle = Bundle.load(args.bundle)
    pte = args.bundle / next(m["file"] for m in bundle.manifest["models"]
                             if m["runtime"] == "executorch")
    seqs = {n: ids for n, ids in sequences(bundle).items() if n in LENGTHS}
    args.out.mkdir(parents=True, exist_ok=True)
    etdump = run_with_etdump(pte, seqs, args.runs, args.threads, args.out)
    profile = op_shares(etdump, sorted(seqs), args.runs)
    (args.out / "profile.json").write_text(json.dumps(profile, indent=1))
    (args.out / "profile.md").write_text(table(profile))
    print(table(profile))


if __name__ == "__main__":
    main()
