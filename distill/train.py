"""The distillation run: a recipe's stages, one after another, on a streamed corpus.

The run keeps its state in `<out>.partial/` (pruned tokenizer, checkpoints) so an interrupted
run resumes where it stopped (stage and step); teacher outputs live in the shared disk cache
(`distill.target_cache`), computed once per teacher and text. The finished student folder is
renamed into place only at the end.

Under `torchrun --nproc_per_node N` each process trains on its share of every batch with
DistributedDataParallel (gloo on CPU, NCCL on CUDA); rank 0 prepares, checkpoints and saves.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from distill.data import load_dev, read_rows, read_texts
from distill.encoding import length_batches, native_bfloat16, pad_batch, tokenize
from distill.errors import EdgekitError, Interrupted
from distill.evaluate import dev_retrieval
from distill.progress import progress_bar
from distill.stages import (
    Stage,
    StageLoss,
    TeacherEmbeddingLayer,
    TeacherOnPieces,
    phase_of,
    trainable_blocks,
)
from distill.student import (
    Student,
    StudentConfig,
    StudentEncoder,
    check_shape_matches_teacher,
    init_from_teacher,
    neuron_statistics,
    num_parameters,
    save_student,
)
from distill.target_cache import TargetCache
from distill.teachers import Teacher, cache_dir
from distill.vocab import load_tokenizer_json, prune

log = logging.getLogger("edgekit")

@dataclass
class TrainConfig:
    steps: int = 1000             # all stages together; a stage takes its `share`
    batch_size: int = 64          # rows (a pair or a monolingual text) per step, all processes
    lr: float = 2e-4
    warmup: float = 0.05          # fraction of a stage's steps
    weight_decay: float = 0.01
    clip: float = 1.0
    checkpoint_every: int = 100
    seed: int = 0
    threads: int = 0              # 0: torch's default
    chunk_rows: int = 20000       # rows read, shuffled and tokenised at a time
    precision: str = "auto"       # the student's layers in training and the teacher's
                                  # labelling: float32, bfloat16 (autocast; losses stay
                                  # float32), or auto: bfloat16 where the processor
                                  # computes it natively, else float32


@dataclass
class DistillConfig:
    teacher: str
    corpus: Path
    out: Path
    student: dict = field(default_factory=dict)   # StudentConfig fields except vocab_size
    train: TrainConfig = field(default_factory=TrainConfig)
    stages: list[dict] = field(default_factory=lambda: [{"kind": "kd"}])
    max_dev_per_lang: int = 500
    vocab_size: int = 0           # top the pruned vocabulary up to this size (0: no top-up)
    vocab_languages: list[str] = field(default_factory=list)  # their word lists rank pieces
    vocab_words: int = 0          # words per language's list (0: the corpus alone ranks)

    def fingerprint(self) -> str:
        """What a checkpoint must agree with to be resumed. The thread count is not part of
        it: a run interrupted on one machine resumes on one with more cores."""
        train = {k: v for k, v in asdict(self.train).items() if k != "threads"}
        key = {"teacher": self.teacher, "corpus": str(Path(self.corpus).resolve()),
               "student": self.student, "train": train, "stages": self.stages,
               "vocab_size": self.vocab_size, "vocab_languages": self.vocab_languages,
               "vocab_words": self.vocab_words}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ state on disk

def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def length_bucketed_batches(lengths: list[int], batch_size: int, seed: int,
                            bucket: int = 50) -> list[list[int]]:
    """Shuffled batches of similar-length examples: random order, little padding.

    Examples are shuffled, cut into windows of `bucket` batches, sorted by length inside a
    window, batched, and the batches shuffled again. Deterministic in `seed`, so a resumed
    run sees the same batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    window = batch_size * bucket
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def neighbour_batches(vectors: torch.Tensor, batch_size: int, group: int, seed: int
                      ) -> list[list[int]]:
    """Batches of `batch_size // group` groups of `group` near neighbours each, by the
    vectors' cosine: the in-batch similarity term then compares texts the teacher tells
    apart by degrees, not only unrelated ones. Groups are the leaves of a tree that halves
    each set at the median of its first principal direction; which groups share a batch is
    random (`seed`)."""
    v = F.normalize(vectors.float(), dim=-1)
    leaves: list[list[int]] = []

    def split(index: torch.Tensor) -> None:
        if len(index) <= group:
            leaves.append(index.tolist())
            return
        x = v[index] - v[index].mean(0)
        direction = x[0] + 1e-3  # power iteration: the top principal direction, roughly
        for _ in range(8):
            direction = F.normalize(x.T @ (x @ direction), dim=0)
        order = index[torch.argsort(x @ direction)]
        half = group * math.ceil(len(index) / group / 2)  # leaves of exactly `group`
        split(order[:half])
        split(order[half:])

    split(torch.arange(len(v)))
    rng = random.Random(seed)
    rng.shuffle(leaves)
    per = max(1, batch_size // group)
    return [sum(leaves[i : i + per], []) for i in range(0, len(leaves), per)]


def _lr_lambda(steps: int, warmup: float):
    warm = max(1, int(steps * warmup))
    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, steps - warm))))
    return f


# ------------------------------------------------------------------ processes

@dataclass
class Processes:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def _processes() -> Processes:
    """One process, or this process's place in a `torchrun` group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if world == 1:
        return Processes(device=device)
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if cuda else "gloo")
    return Processes(dist.get_rank(), world, device)


# ------------------------------------------------------------------ the streamed corpus

def rows_reached(cfg: DistillConfig) -> int:
    """Rows the longest stage reads: each stage reads the corpus from its start, so these are
    all that training reaches and all the teacher needs to label."""
    return max(stage_steps(cfg.train, Stage.from_dict(d)) for d in cfg.stages
               ) * cfg.train.batch_size


def stage_steps(tc: TrainConfig, stage: Stage) -> int:
    """A stage's share of the run's steps, at least one."""
    return max(1, round(tc.steps * stage.share))


def _chunks(cfg: DistillConfig) -> Iterator[list[tuple[str, str, str]]]:
    """The corpus's first `rows_reached` rows, `chunk_rows` at a time."""
    rows = itertools.islice(read_rows(cfg.corpus), rows_reached(cfg))
    while chunk := list(itertools.islice(rows, cfg.train.chunk_rows)):
        yield chunk


def _batches(cfg: DistillConfig, tokenizer: Tokenizer, max_len: int, seed: int,
             procs: Processes, neighbours: int = 0,
             embeddings: Callable[[list[str]], np.ndarray] | None = None,
             ) -> Iterator[tuple[list[tuple[str, str, str]], list, list]]:
    """Endless (rows, a ids, b ids) of this process: each chunk of the corpus is tokenised,
    cut into batches of `batch_size` rows and split across processes. Batches are length-
    bucketed, or with `neighbours` made of groups of that many near neighbours by the
    teacher's `embeddings` of the texts."""
    tc = cfg.train
    for epoch in itertools.count():
        for c, chunk in enumerate(_chunks(cfg)):
            a_ids = tokenize(tokenizer, [r[1] for r in chunk], max_len, warn=False)
            b_ids = tokenize(tokenizer, [r[2] for r in chunk], max_len, warn=False)
            if neighbours:
                vectors = torch.from_numpy(embeddings([r[1] for r in chunk]))
                batches = neighbour_batches(vectors, tc.batch_size, neighbours,
                                            seed + 1000 * epoch + c)
            else:
                lengths = [max(len(x), len(y)) for x, y in zip(a_ids, b_ids, strict=True)]
                batches = length_bucketed_batches(lengths, tc.batch_size,
                                                  seed + 1000 * epoch + c)
            for batch in batches:
                mine = batch[procs.rank :: procs.world] or batch[:1]
                yield ([chunk[i] for i in mine], [a_ids[i] for i in mine],
                       [b_ids[i] for i in mine])


def _collate(rows, a_ids, b_ids, views: list[str], cache: TargetCache, pad_id: int,
             device: torch.device) -> dict:
    pair = torch.tensor([bool(r[2]) for r in rows])
    batch = {"pair": pair}
    batch["a_ids"], batch["a_mask"] = pad_batch(a_ids, pad_id)
    if pair.any():
        kept = [x for x, p in zip(b_ids, pair, strict=True) if p]
        batch["b_ids"], batch["b_mask"] = pad_batch(kept, pad_id)
    texts = [r[1] for r in rows]
    for j, view in enumerate(views):
        name = "t_embedding" if view == "embedding" else f"t_hidden{j - 1}"
        batch[name] = torch.from_numpy(cache.get(view, texts))
    return {k: v.to(device) for k, v in batch.items()}


def _prepare_targets(cfg: DistillConfig, teacher: Teacher, cache: TargetCache,
                     views: list[str]) -> None:
    """Teacher outputs for every text the student will learn from, chunk by chunk; in
    bfloat16 when the student's layers train in it (the teacher runs on the CPU)."""
    if not views:
        return
    label = partial(teacher.views,
                    bfloat16=bfloat16_training(cfg.train.precision, torch.device("cpu")))
    for chunk in _chunks(cfg):
        cache.fill(views, [r[1] for r in chunk], label)


CENTRE_TEXTS = 4000


def teacher_centre(cfg: DistillConfig, cache: TargetCache) -> torch.Tensor:
    """The teacher's mean sentence embedding over the first training texts (those the
    teacher labelled)."""
    first = min(CENTRE_TEXTS, rows_reached(cfg))
    texts = [r[1] for r in itertools.islice(read_rows(cfg.corpus), first)]
    return torch.from_numpy(cache.get("embedding", texts).mean(0))


# ------------------------------------------------------------------ the run

def distill(cfg: DistillConfig) -> dict:
    """Train a student through the recipe's stages and save it to `cfg.out`. Returns the
    summary written to config.json."""
    t0 = time.time()
    tc = cfg.train
    stages = [Stage.from_dict(d) for d in cfg.stages]
    if not stages:
        raise EdgekitError("the recipe has no stages")
    if tc.precision not in PRECISIONS:
        raise EdgekitError(f"train precision {tc.precision!r}: one of {', '.join(PRECISIONS)}")
    for st in stages:
        if st.neighbours > tc.batch_size:
            raise EdgekitError(f"recipe stage {st.name}: neighbours ({st.neighbours}) must not "
                               f"exceed the batch size ({tc.batch_size})")
    procs = _processes()
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    dev = load_dev(cfg.corpus)
    work = Path(f"{cfg.out}.partial")
    fingerprint = cfg.fingerprint()
    teacher = Teacher(cfg.teacher)
    cache = TargetCache(cache_dir(), teacher.cache_key())
    views = sorted({v for st in stages for v in st.teacher_views(teacher.num_layers)})

    # 1. rank 0: the student's vocabulary, pruned from the teacher's, and the teacher outputs
    tj, old_ids, mass = start_run(work, fingerprint, teacher.folder,
                                  lambda: read_texts(cfg.corpus), cfg.vocab_size, procs,
                                  lambda t=teacher: _prepare_targets(cfg, t, cache, views),
                                  cfg.vocab_languages, cfg.vocab_words)

    # 2. the student, initialised from the teacher (SVD weighted by the word lists' mass; a
    #    narrower feed-forward keeps the neurons that vary most on the training text)
    stats = teacher_neuron_statistics(teacher, cfg.corpus, cfg.student, tc.seed)
    student = student_for(cfg.teacher, teacher.model, teacher.pad_id, old_ids, cfg.student,
                          piece_mass=mass if cfg.vocab_words else None, neuron_stats=stats)
    scfg = student.config
    teacher_embed = (_teacher_embedding_layer(teacher, old_ids, scfg.max_len)
                     if any(st.kind == "align" for st in stages) else None)
    teacher_pieces = (TeacherOnPieces(teacher.model, old_ids).to(procs.device)
                      if any(st.token_weight for st in stages) else None)
    centre = (teacher_centre(cfg, cache) if any(st.centred for st in stages) else None)
    teacher_params, teacher_width = teacher.num_parameters(), teacher.dim
    num_teacher_layers = teacher.num_layers
    del teacher
    student.to(procs.device)
    if teacher_embed is not None:
        teacher_embed.to(procs.device)
    tokenizer = Tokenizer.from_str(json.dumps(tj))
    encoder = StudentEncoder(student, tokenizer)
    bf16 = bfloat16_training(tc.precision, procs.device)

    # 3. the stages, in order
    def batches_for(i: int, stage: Stage, start: int) -> Iterator[dict]:
        views = stage.teacher_views(num_teacher_layers)
        rows = itertools.islice(_batches(cfg, tokenizer, scfg.max_len, tc.seed + 7919 * i,
                                         procs, stage.neighbours,
                                         lambda texts: cache.get("embedding", texts)),
                                start, None)
        return (_collate(*r, views, cache, scfg.pad_id, procs.device) for r in rows)

    log_rows = run_stages(
        stages, student,
        lambda st: StageLoss(st, student, teacher_embed, teacher_width, teacher_pieces, bf16,
                             centre),
        batches_for,
        lambda: {"dev_retrieval": round(dev_retrieval(encoder, dev, 200)["mean"], 2)},
        tc, procs, work)

    # 4. dev retrieval, then the folder
    summary = {"teacher": cfg.teacher, "languages": sorted({lang for lang, _, _ in dev}),
               "teacher_parameters": teacher_params, "steps": tc.steps}
    def final() -> dict:
        if scfg.common_directions or scfg.language_directions:
            calibrate_on_corpus(encoder, cfg.corpus, tc.seed)
        return {"dev_retrieval": dev_retrieval(encoder, dev, cfg.max_dev_per_lang)}

    return finish_run(student, tj, cfg.out, work, procs, t0, summary, log_rows, final)


PRECISIONS = ("auto", "float32", "bfloat16")


def bfloat16_training(precision: str, device: torch.device) -> bool:
    """Whether the student's layers train in bfloat16: half the time of a float32 step on a
    CPU with AVX-512 BF16, at the same quality (docs/results.md)."""
    return precision == "bfloat16" or (precision == "auto" and native_bfloat16(device))


CALIBRATION_TEXTS = 4000


def calibration_texts(corpus: Path, seed: int) -> list[str]:
    """A sample of the corpus's training text (never the evaluation's)."""
    texts = list(read_texts(corpus))
    return random.Random(seed).sample(texts, min(CALIBRATION_TEXTS, len(texts)))


PER_LANGUAGE = 300  # texts per language for its mean embedding


def language_texts(corpus: Path) -> dict[str, list[str]]:
    """The first PER_LANGUAGE training texts of each language (a pair's English side is en's)."""
    texts: dict[str, list[str]] = {}
    for lang, first, second in read_rows(corpus):
        for code, text in ((lang, second or first), ("en", first if second else "")):
            found = texts.setdefault(code, [])
            if text and len(found) < PER_LANGUAGE:
                found.append(text)
    return {code: found for code, found in texts.items() if found}


def calibrate_on_corpus(encoder: StudentEncoder, corpus: Path, seed: int) -> None:
    """The student's all-but-the-top (`Student.calibrate`) from its own training text, and
    its languages' mean embeddings when it removes language directions."""
    encoder.model.clear_calibration()
    raw = torch.from_numpy(encoder.encode(calibration_texts(corpus, seed)))
    by_language = []
    if encoder.config.language_directions:
        by_language = [torch.from_numpy(encoder.encode(texts))
                       for texts in language_texts(corpus).values()]
    encoder.model.calibrate(raw, by_language)


NEURON_TEXTS = 1000


def teacher_neuron_statistics(teacher: Teacher, corpus: Path, shape: dict, seed: int = 0
                              ) -> dict | None:
    """The teacher's feed-forward activations on a sample of the training text, for a student
    `shape` whose feed-forward is narrower than the teacher's
    (`distill.student.neuron_statistics`); None for a full-width one."""
    shape = {**asdict(StudentConfig(vocab_size=1)), **shape}
    if shape["intermediate_size"] >= teacher.model.config.intermediate_size:
        return None
    texts = calibration_texts(corpus, seed)[:NEURON_TEXTS]
    ids = tokenize(teacher.tokenizer, texts, shape["max_len"], warn=False)
    batches = (pad_batch([ids[i] for i in index], teacher.pad_id)
               for index in length_batches([len(x) for x in ids], 64))
    layers = shape["teacher_layers"] or range(shape["num_layers"])
    return neuron_statistics(teacher.model, batches, layers)


def student_for(teacher_name: str, teacher_model: nn.Module, teacher_pad_id: int,
                old_ids: list[int], shape: dict, piece_mass: list[float] | None = None,
                neuron_stats: dict | None = None, **fields) -> Student:
    """A student over the pruned vocabulary `old_ids`, initialised from the teacher."""
    pad_id = old_ids.index(teacher_pad_id) if teacher_pad_id in old_ids else 0
    scfg = StudentConfig(vocab_size=len(old_ids), pad_id=pad_id, teacher=teacher_name,
                         **fields, **shape)
    check_shape_matches_teacher(scfg, teacher_model.config)
    student = Student(scfg)
    init_from_teacher(student, teacher_model, old_ids, piece_mass, neuron_stats)
    return student


def finish_run(student: Student, tj: dict, out: Path, work: Path, procs: Processes,
               t0: float, summary: dict, log_rows: list[dict],
               final: Callable[[], dict]) -> dict:
    """Rank 0 adds the final evaluation (`final()`) to the summary, saves the student folder
    with it and removes the run folder; every process returns the summary."""
    summary = {**summary, "parameters": num_parameters(student), "processes": procs.world,
               "stages": log_rows, "wall_time_s": 0.0}
    if procs.main:
        student.cpu()
        summary.update(final())
        summary["wall_time_s"] = round(time.time() - t0, 1)
        save_student(student, tj, out, extra={"training": summary})
        shutil.rmtree(work, ignore_errors=True)
    procs.barrier()
    return summary


def start_run(work: Path, fingerprint: str, teacher_folder: Path,
              texts: Callable[[], Iterable[str]], vocab_size: int, procs: Processes,
              prepare: Callable[[], None] | None = None, languages: Iterable[str] = (),
              words_per_language: int = 0) -> tuple[dict, list[int], list[float]]:
    """The run folder `work`, shared by every process: rank 0 starts it afresh when the
    settings (`fingerprint`) changed, prunes the teacher's vocabulary to `texts` (and the
    languages' word lists) once, and runs `prepare`; then every process reads back
    (tokenizer.json, old_ids, piece mass)."""
    if procs.main:
        work.mkdir(parents=True, exist_ok=True)
        stamp = work / "fingerprint"
        if stamp.is_file() and stamp.read_text() != fingerprint:
            log.warning("settings changed since the interrupted run in %s: starting afresh",
                        work)
            shutil.rmtree(work)
            work.mkdir(parents=True)
        stamp.write_text(fingerprint)
        if not (work / "tokenizer.json").is_file():
            tj, old_ids, mass = prune(load_tokenizer_json(teacher_folder / "tokenizer.json"),
                                      texts(), vocab_size, languages, words_per_language)
            (work / "old_ids.json").write_text(json.dumps(old_ids))
            (work / "piece_mass.json").write_text(json.dumps(mass))
            (work / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False),
                                                 encoding="utf-8")
        if prepare is not None:
            prepare()
    procs.barrier()
    return (load_tokenizer_json(work / "tokenizer.json"),
            json.loads((work / "old_ids.json").read_text()),
            json.loads((work / "piece_mass.json").read_text()))


def run_stages(stages: list[Stage], student: Student, loss_for: Callable[[Stage], nn.Module],
               batches_for: Callable[[int, Stage, int], Iterator[dict]],
               evaluate: Callable[[], dict[str, float]], tc: TrainConfig, procs: Processes,
               work: Path) -> list[dict]:
    """The recipe's stages in order, resuming from `work`/checkpoint.pt: each stage's loss
    module from `loss_for(stage)`, its batches from `batches_for(i, stage, first_step)`,
    and after it `evaluate()` (rank 0) for its log row. Returns the log rows."""
    ckpt = work / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True, map_location=procs.device) \
        if ckpt.is_file() else None
    if state is not None:
        student.load_state_dict(state["student"])
        if procs.main:
            log.warning("resuming at stage %d/%d, step %d (%s)", state["stage"] + 1,
                        len(stages), state["step"], ckpt)
    log_rows = state["log"] if state is not None else []
    try:
        for i, stage in enumerate(stages):
            if state is not None and i < state["stage"]:
                continue
            # a checkpoint inside stage i (not one written at its start)
            resume = state if state is not None and state["stage"] == i and "optimizer" in state \
                else None
            t_stage = time.time()
            steps = stage_steps(tc, stage)
            losses = _run_stage(i, len(stages), stage, steps,
                                loss_for(stage).to(procs.device), student,
                                lambda start, i=i, stage=stage: batches_for(i, stage, start),
                                tc, procs, resume, ckpt, log_rows)
            student.eval()
            row = {"stage": stage.name, "kind": stage.kind, "steps": steps, **losses,
                   "seconds": round(time.time() - t_stage, 1)}
            if procs.main:
                figures = evaluate()
                row.update(figures)
                log.info("stage %d/%d %s: %d steps in %.0f s, %s, %s", i + 1, len(stages),
                         stage.name, steps, row["seconds"],
                         ", ".join(f"{k} {v:.4f}" for k, v in losses.items()),
                         ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in figures.items()))
            log_rows.append(row)
            state = None
            if procs.main and i + 1 < len(stages):
                _atomic_save({"student": student.state_dict(), "stage": i + 1, "step": 0,
                              "log": log_rows}, ckpt)
            procs.barrier()
    except KeyboardInterrupt:  # between steps: at a stage's evaluation or checkpoint
        raise Interrupted(f"the last checkpoint is in {work}: run the same command again "
                          "to resume") from None
    return log_rows


def _teacher_embedding_layer(teacher: Teacher, old_ids: list[int], max_len: int
                             ) -> TeacherEmbeddingLayer:
    emb = teacher.model.embeddings
    word = emb.word_embeddings.weight.detach()[old_ids].clone()
    pos = emb.position_embeddings.weight.detach()[:max_len].clone()
    types = getattr(emb, "token_type_embeddings", None)
    if types is not None:
        pos = pos + types.weight.detach()[0]
    return TeacherEmbeddingLayer(word, pos, emb.LayerNorm)


def _run_stage(i: int, n: int, stage: Stage, steps: int, loss_mod: nn.Module,
               student: Student, batches_from: Callable[[int], Iterator[dict]],
               tc: TrainConfig, procs: Processes, resume: dict | None, ckpt: Path,
               log_rows: list) -> dict[str, float]:
    """One stage: AdamW over its trainable blocks (and the loss module's projection),
    gradual unfreezing, checkpoints. `batches_from(step)`: the collated batches from `step`
    on (the same ones after a resume). Shared by the sentence and the token recipes."""
    blocks = trainable_blocks(stage, student)
    params = [p for b in blocks for p in b] + list(loss_mod.proj.parameters())
    opt = torch.optim.AdamW(params, lr=stage.lr or tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(steps, tc.warmup))
    step = 0
    if resume is not None:
        loss_mod.proj.load_state_dict(resume["proj"])
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        step = resume["step"]

    saved = step  # where a resume starts: the checkpoint on disk (this stage's start)

    def save_checkpoint() -> None:
        nonlocal saved
        saved = step
        if procs.main:
            _atomic_save({"student": student.state_dict(), "proj": loss_mod.proj.state_dict(),
                          "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                          "stage": i, "step": step, "log": log_rows}, ckpt)

    batches = batches_from(step)
    model, unfrozen, updating = None, -1, False
    running: dict[str, float] = {}
    student.train()
    bar = progress_bar(total=steps, initial=step, desc=f"stage {i + 1}/{n} {stage.name}",
               unit="step", disable=not procs.main)
    try:
        while step < steps:
            k = phase_of(step, steps, len(blocks), stage.unfreeze)
            if k != unfrozen:  # a new set of trainable blocks: rewrap for DDP
                unfrozen = k
                student.requires_grad_(False)
                for block in blocks[:k]:
                    for p in block:
                        p.requires_grad_(True)
                model = loss_mod if procs.world == 1 else DistributedDataParallel(
                    loss_mod, broadcast_buffers=False)
            batch = next(batches)
            loss, parts = model(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, tc.clip)
            updating = True
            opt.step()
            sched.step()
            step += 1
            updating = False
            for key, value in parts.items():
                running[key] = value if key not in running else 0.95 * running[key] + 0.05 * value
            bar.update(1)
            bar.set_postfix({k: f"{v:.4f}" for k, v in running.items()})
            if step % tc.checkpoint_every == 0 and step < steps:
                save_checkpoint()
    except KeyboardInterrupt:
        # inside the update the weights and the optimizer state are half-written (an Adam
        # state without exp_avg_sq): keep the last checkpoint instead
        if not updating:
            save_checkpoint()
        bar.close()
        raise Interrupted(f"stage {i + 1}/{n} saved at step {saved}/{steps} in "
                          f"{ckpt.parent}: run the same command again to resume from "
                          "there") from None
    bar.close()
    student.requires_grad_(True)
    return {k: round(v, 5) for k, v in running.items()}
