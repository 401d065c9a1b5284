"""The loss budget: what each compression step costs the teacher before any training.

    python -m bench.loss_budget --corpus build/corpus --tatoeba DIR --sts17 DIR \
        --out build/loss-budget [--rows compression|shape|depth] [--student build/student]

Each row is the teacher with one more step applied (the vocabulary cut, the factorised
embeddings, fewer layers), built by the same code that starts a student (`distill.vocab.prune`,
`distill.train.student_for`) and evaluated untrained on Tatoeba (the 12 default languages) and
STS17. `--rows compression` (default) walks from the teacher to the student one step at a
time; `--rows shape` compares the 4-layer starts: the table's width E, its size, 4-bit rows,
and which teacher layers are kept; `--rows depth`, the six-layer starts against four, and
six layers with half the feed-forward (the four layers' size and speed).
`--student` adds a trained student folder as the last row.
Finished rows are kept in OUT/results.json, so an interrupted run resumes. Writes
OUT/loss-budget.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# (name, vocabulary: None = the teacher's whole one, or (ranked by, size), E (0 = H), layers k,
# SVD weighted by the pieces' mass[, the teacher layers kept (() = the first k), the table's
# bits (32 = float)[, the feed-forward's width and whether its neurons are chosen on text
# (`distill.student.neuron_statistics`) or by weight norms]])
ROWS: list[tuple] = [
    ("teacher as a student (no prompt)", None, 0, 12, False),
    ("vocabulary: 48k pieces ranked by the corpus", ("corpus", 48000), 0, 12, False),
    ("vocabulary: 48k pieces ranked by word lists + corpus", ("words", 48000), 0, 12, False),
    ("vocabulary: 60k pieces ranked by word lists + corpus (the default's)", ("words", 60000),
     0, 12, False),
    ("vocabulary: 64k pieces ranked by word lists + corpus", ("words", 64000), 0, 12, False),
    ("vocabulary: 96k pieces ranked by word lists + corpus", ("words", 96000), 0, 12, False),
    ("48k (corpus), SVD to E=128", ("corpus", 48000), 128, 12, False),
    ("64k, SVD to E=128", ("words", 64000), 128, 12, False),
    ("64k, mass-weighted SVD to E=128", ("words", 64000), 128, 12, True),
    ("96k, mass-weighted SVD to E=128", ("words", 96000), 128, 12, True),
    ("48k (corpus), SVD to E=128, first 4 layers", ("corpus", 48000), 128, 4, False),
    ("64k, mass-weighted E=128, first 4 layers", ("words", 64000), 128, 4, True),
]
SHAPE_ROWS: list[tuple] = [
    ("full vocabulary, E=H, the teacher's first 4 layers", None, 0, 4, False),
    ("full vocabulary, E=H, layers 0, 2, 4, 6", None, 0, 4, False, (0, 2, 4, 6)),
    ("full vocabulary, E=H, layers 0, 1, 2, 11", None, 0, 4, False, (0, 1, 2, 11)),
    ("full vocabulary, E=H, layers 0, 1, 10, 11", None, 0, 4, False, (0, 1, 10, 11)),
    ("64k, mass-weighted E=128, first 4 layers", ("words", 64000), 128, 4, True),
    ("64k, mass-weighted E=256, first 4 layers", ("words", 64000), 256, 4, True),
    ("64k, mass-weighted E=256, first 4, 4-bit rows in groups of 128", ("words", 64000), 256,
     4, True, (), 4),
    ("64k, E=H (no factorisation), first 4 layers", ("words", 64000), 0, 4, False),
    ("96k, mass-weighted E=256, first 4 layers", ("words", 96000), 256, 4, True),
]
QUALITY_LAYERS = (0, 1, 2, 9, 10, 11)
DEPTH_ROWS: list[tuple] = [
    ("full vocabulary, E=H, the teacher's first 6 layers", None, 0, 6, False),
    ("full vocabulary, E=H, layers 0, 1, 2, 9, 10, 11", None, 0, 6, False, QUALITY_LAYERS),
    ("60k, mass-weighted E=256 in 4-bit rows, layers 0, 1, 10, 11 (the four-layer start)",
     ("words", 60000), 256, 4, True, (0, 1, 10, 11), 4),
    ("60k, mass-weighted E=128 in 4-bit rows, layers 0, 1, 2, 9, 10, 11 (the quality start)",
     ("words", 60000), 128, 6, True, QUALITY_LAYERS, 4),
    ("full vocabulary, E=H, layers 0, 1, 2, 9, 10, 11, feed-forward 768 wide, the neurons "
     "with the largest weights", None, 0, 6, False, QUALITY_LAYERS, 32, (768, False)),
    ("full vocabulary, E=H, layers 0, 1, 2, 9, 10, 11, feed-forward 768 wide, the neurons "
     "that vary most on the corpus", None, 0, 6, False, QUALITY_LAYERS, 32, (768, True)),
    ("60k, mass-weighted E=256 in 4-bit rows, layers 0, 1, 2, 9, 10, 11, feed-forward 768 "
     "wide, the neurons that vary most (the default's start)", ("words", 60000), 256, 6, True,
     QUALITY_LAYERS, 4, (768, True)),
]
ROW_SETS = {"compression": ROWS, "shape": SHAPE_ROWS, "depth": DEPTH_ROWS}


def _vocabulary(spec: tuple[str, int] | None, teacher, corpus: Path, languages: list[str],
                cache: dict) -> tuple[dict, list[int], list[float]]:
    """(tokenizer.json, old_ids, piece mass) of a vocabulary spec."""
    from distill.data import read_texts
    from distill.vocab import load_tokenizer_json, prune

    tj = load_tokenizer_json(teacher.folder / "tokenizer.json")
    if spec is None:
        size = teacher.model.config.vocab_size
        return tj, list(range(size)), [1.0] * size
    if spec not in cache:
        ranked_by, size = spec
        langs = languages if ranked_by == "words" else []
        cache[spec] = prune(tj, read_texts(corpus), size, langs, 50000 if langs else 0)
    return cache[spec]


def _untrained(row: tuple, teacher, corpus: Path, languages: list[str], cache: dict):
    from tokenizers import Tokenizer

    from distill.student import StudentEncoder
    from distill.train import student_for, teacher_neuron_statistics

    _, spec, embed_dim, layers, weighted, *rest = row
    teacher_layers, bits = (list(rest[0]) if rest else []), (rest[1] if len(rest) > 1 else 32)
    c = teacher.model.config
    width, measured = rest[2] if len(rest) > 2 else (c.intermediate_size, False)
    tj, old_ids, mass = _vocabulary(spec, teacher, corpus, languages, cache)
    shape = {"embed_dim": embed_dim or c.hidden_size, "num_layers": layers,
             "num_recurrences": 1, "hidden_size": c.hidden_size,
             "num_heads": c.num_attention_heads, "intermediate_size": width,
             "max_len": 128, "layer_norm_eps": c.layer_norm_eps,
             "teacher_layers": teacher_layers}
    stats = teacher_neuron_statistics(teacher, corpus, shape) if measured else None
    student = student_for(teacher.name, teacher.model, teacher.pad_id, old_ids, shape,
                          piece_mass=mass if weighted else None, neuron_stats=stats)
    if bits != 32:  # the table as the int8 program stores it: quantised, read back as float
        import executorch.exir.passes._quant_patterns_and_replacements  # noqa: F401 (its ops)
        import torch

        from export.to_pte import QuantizedEmbedding

        with torch.no_grad():
            q = QuantizedEmbedding(student.token_embed.weight, bits)
            student.token_embed.weight.copy_(q(torch.arange(student.config.vocab_size)))
    return StudentEncoder(student, Tokenizer.from_str(json.dumps(tj)), row[0])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.loss_budget",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--tatoeba", type=Path, required=True)
    ap.add_argument("--sts17", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("build/loss-budget"))
    ap.add_argument("--rows", choices=ROW_SETS, default="compression")
    ap.add_argument("--student", type=Path, help="a trained student folder: the last row")
    args = ap.parse_args(argv)

    from distill.teachers import Teacher
    from edgekit.api import evaluate_model, load_encoder, quality_figures
    from edgekit.presets import load_preset

    preset = load_preset("default")
    languages = ["en", *preset["languages"]]
    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    teacher = Teacher(preset["teacher"])
    cache: dict = {}
    todo = [("teacher (its prompt, full vocabulary, 12 layers)", teacher), *ROW_SETS[args.rows]]
    if args.student:
        todo.append((f"trained student {args.student}", None))
    for row in todo:
        name = row[0]
        if name in results:
            continue
        if isinstance(row[1], Teacher):
            encoder = teacher
        elif name.startswith("trained student"):
            encoder = load_encoder(args.student)
        else:
            encoder = _untrained(row, teacher, args.corpus, languages, cache)
        result = evaluate_model(encoder, args.tatoeba, args.sts17)
        results[name] = {**quality_figures(result), "parameters": encoder.num_parameters(),
                         "tatoeba": {k: round(v["mean"], 1)
                                     for k, v in result["tatoeba"]["languages"].items()}}
        results_file.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        print(f"{name}: Tatoeba {results[name]['tatoeba_mean']:.1f}, "
              f"STS17 {results[name]['sts17_mean']:.1f}", flush=True)
    (args.out / "loss-budget.md").write_text(table(results))
    print(table(results))


def table(results: dict) -> str:
    langs = list(next(iter(results.values()))["tatoeba"])
    lines = ["| model, untrained unless named | parameters | Tatoeba | STS17 | "
             + " | ".join(langs) + " |", "|---|---:|---:|---:|" + "---:|" * len(langs)]
    for name, r in results.items():
        lines.append(f"| {name} | {r['parameters']:,} | {r['tatoeba_mean']:.1f} | "
                     f"{r['sts17_mean']:.1f} | "
                     + " | ".join(f"{r['tatoeba'][x]:.1f}" for x in langs) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
