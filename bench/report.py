"""Reports people read: report.json (schema edgekit.bench/1), report.md, PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import LENGTHS
from distill.fsutil import atomic_dir


def _fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    h = report["host"]
    lines = ["# edgekit benchmark", "",
             f"Student: `{report['student']['source']}` "
             f"({report['student']['parameters']:,} parameters)"
             + (f"; teacher: `{report['teacher']['source']}` "
                f"({report['teacher']['parameters']:,} parameters)" if report["teacher"]
                else ""),
             f"Host: {h['processor']}, {h['cores_available']} cores available; "
             f"{report['runs_per_length']} runs per length after warm-up.", "",
             f"> {report['note']}", ""]
    verdict = "all goals met" if report["passed"] else "**goals failed**"
    lines += [f"## Goals: {verdict}", "", "| profile | model | goal | limit | measured | |",
              "|---|---|---|---:|---:|---|"]
    for g in report["goals"]:
        value = f"{g['value']:.6g}" if isinstance(g["value"], float) else g["value"]
        lines.append(f"| {g['profile']} | {g['model']} | {g['goal']} | {g['limit']} | "
                     f"{value} | {'pass' if g['ok'] else '**FAIL**'} |")
    if report["ratios"]:
        lines += ["", "## Student against teacher, same run", "",
                  "| profile | runtime | student | teacher | speed-up p50 @32 | throughput × "
                  "| size ÷ | memory ÷ |", "|---|---|---|---|---:|---:|---:|---:|"]
        for r in report["ratios"]:
            lines.append(f"| {r['profile']} | {r['runtime']} | {r['student']} | {r['teacher']}"
                         f" | {r['speedup_p50_at_32']:.1f}× | {r['throughput_ratio']:.1f}× | "
                         f"{r['size_reduction']:.1f}× | {r['memory_reduction']:.1f}× |")
    for p in report["profiles"]:
        capped = (f", **capped to {p['cores_used']} core(s) and thread(s) on this host**"
                  if p["cores_used"] < p["threads"] else "")
        lines += ["", f"## {p['name']}: {p['threads']} thread(s), {p['memory_mb']} MB{capped}",
                  "", f"{p.get('phone_class', '')}; {p.get('cpu', '')}.", "",
                  "| model | runtime | precision | MB | load ms | first ms | "
                  + " | ".join(f"p50/p95/p99 @{n}" for n in LENGTHS)
                  + " | sentences/s | peak RSS MB (model) | status |",
                  "|---|---|---|---:|---:|---:|" + "---:|" * len(LENGTHS) + "---:|---:|---|"]
        for r in report["results"]:
            if r["profile"] != p["name"]:
                continue
            lat = r.get("latency_ms", {})
            cells = [f"{_fmt(lat[str(n)]['p50'])}/{_fmt(lat[str(n)]['p95'])}/"
                     f"{_fmt(lat[str(n)]['p99'])}" if str(n) in lat else "–" for n in LENGTHS]
            status = {"ok": "ok", "over_budget": "**exceeds the profile's memory budget**"
                      }.get(r["status"], f"error: {r.get('detail', '')[:80]}")
            lines.append(f"| {r['role']} | {r['runtime']} | {r['precision']} | "
                         f"{r['file_mb']:.1f} | {_fmt(r.get('load_ms'))} | "
                         f"{_fmt(r.get('first_inference_ms'))} | " + " | ".join(cells)
                         + f" | {_fmt(r.get('sentences_per_s'), 0)} | "
                         f"{_fmt(r.get('peak_rss_mb'), 0)} ({_fmt(r.get('model_rss_mb'), 0)})"
                         f" | {status} |")
    if report.get("emulated"):
        lines += emulated_markdown(report)
    q = [("student", report["student"])] + ([("teacher", report["teacher"])]
                                            if report["teacher"] else [])
    lines += ["", "## Quality (from the bundles' manifests)", "",
              "| model | Tatoeba mean | STS17 mean | dev retrieval |", "|---|---:|---:|---:|"]
    for role, s in q:
        qual = s["quality"]
        lines.append(f"| {role} | {_fmt(qual.get('tatoeba_mean'))} | "
                     f"{_fmt(qual.get('sts17_mean'))} | {_fmt(qual.get('dev_retrieval'))} |")
    return "\n".join(lines) + "\n"


def emulated_markdown(report: dict) -> list[str]:
    lines = ["", "## Emulated ARM64 (qemu-user on this host, one thread)", "",
             f"> {report['emulated_note']}", "",
             "| core | model | precision | M instructions per forward "
             + " | ".join(f"@{n}" for n in LENGTHS) + " | min cosine vs x86 | max abs diff "
             "| texts | emulated wall s |",
             "|---|---|---|" + "---:|" * (len(LENGTHS) + 4)]
    for r in report["emulated"]:
        insns = r["instructions_per_forward"]
        cells = [f"{insns[str(n)] / 1e6:.1f}" if str(n) in insns else "–" for n in LENGTHS]
        a = r["agreement"]
        lines.append(f"| {r['cpu']} (emulated) | {r['role']} | {r['precision']} | "
                     + " | ".join(cells) + f" | {a['min']:.6f} | {a['max_abs_diff']:.2e} | "
                     f"{a['texts']} | {r['emulated_wall_s']:.0f} |")
    return lines


def _model_name(report: dict, row: dict) -> str:
    """'student' / 'teacher' with the teacher's name, for legends."""
    teacher = str((report.get("teacher") or {}).get("source") or "e5-small")
    return "student" if row["role"] == "student" else f"teacher ({teacher.split('/')[-1]})"


def plain_log_axis(axis) -> None:
    """A log axis labelled with plain numbers at its major ticks only: matplotlib's default
    writes every minor tick as 2×10¹, 3×10¹, ..., which overlap."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def plots(report: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def by_length(name: str, series: list[tuple[dict, str, dict]], ylabel: str,
                  title: str) -> str:
        """One line per (row, label, {length: value}) against sequence length, log scale."""
        fig, ax = plt.subplots(figsize=(6, 4))
        for r, label, values in series:
            xs = [n for n in LENGTHS if str(n) in values]
            ax.plot(xs, [values[str(n)] for n in xs], marker="o", label=label,
                    linestyle="-" if r["role"] == "student" else "--")
        ax.set(xlabel="sequence length (tokens)", ylabel=ylabel, title=title, yscale="log")
        plain_log_axis(ax.yaxis)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        return name

    names = []
    for p in report["profiles"]:
        series = [(r, f"{_model_name(report, r)} {r['runtime']} {r['precision']}",
                   {n: v["p50"] for n, v in r["latency_ms"].items()})
                  for r in report["results"] if r["profile"] == p["name"] and r["status"] == "ok"]
        names.append(by_length(f"latency-{p['name']}.png", series, "p50 latency (ms, host proxy)",
                               f"{p['name']}: {p['threads']} thread(s)"))
    emulated = report.get("emulated", [])
    for cpu in dict.fromkeys(r["cpu"] for r in emulated):
        series = [(r, f"{_model_name(report, r)} {r['precision']}",
                   {n: v / 1e6 for n, v in r["instructions_per_forward"].items()})
                  for r in emulated if r["cpu"] == cpu]
        names.append(by_length(f"instructions-{cpu}.png", series, "M instructions per forward",
                               f"emulated {cpu} (qemu-user)"))
    fig, ax = plt.subplots(figsize=(6, 4))
    for role in ("student", "teacher"):
        summary = report.get(role)
        sizes = [r["file_mb"] for r in report["results"] if r["role"] == role]
        score = (summary or {}).get("quality", {}).get("tatoeba_mean")
        if summary and sizes and score is not None:
            ax.scatter([min(sizes)], [score], s=60, label=f"{role} ({min(sizes):.1f} MB)")
    ax.set(xlabel="smallest model file (MB)", ylabel="Tatoeba mean accuracy (%)",
           xscale="log", title="size against quality")
    plain_log_axis(ax.xaxis)
    if ax.get_legend_handles_labels()[0]:  # nothing to plot without Tatoeba scores
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "size-quality.png", dpi=110)
    plt.close(fig)
    return names + ["size-quality.png"]


def write_report(report: dict, out: Path) -> None:
    with atomic_dir(out) as tmp:
        (tmp / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        (tmp / "report.md").write_text(markdown(report), encoding="utf-8")
        plots(report, tmp)
