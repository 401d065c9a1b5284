"""Stage-1 multilingual knowledge distillation (Reimers & Gurevych 2020, Ding et al. stage 1).

    loss = |S(en) - T(en)|^2 + |S(xx) - T(en)|^2      (+ |S(mono) - T(mono)|^2)

The run keeps its state in `<out>.partial/` (pruned tokenizer, teacher targets, checkpoints)
so an interrupted run resumes where it stopped; the finished student folder is renamed into
place only at the end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from distill.data import Corpus, load_corpus
from distill.encoding import pad_batch
from distill.errors import EdgekitError
from distill.evaluate import dev_retrieval
from distill.student import (
    Student,
    StudentConfig,
    StudentEncoder,
    check_shape_matches_teacher,
    init_from_teacher,
    num_parameters,
    save_student,
)
from distill.teachers import Teacher
from distill.vocab import load_tokenizer_json, prune

log = logging.getLogger("edgekit")


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 2e-4
    warmup: float = 0.05          # fraction of steps
    weight_decay: float = 0.01
    clip: float = 1.0
    checkpoint_every: int = 100
    seed: int = 0
    threads: int = 0              # 0: torch's default


@dataclass
class DistillConfig:
    teacher: str
    corpus: Path
    out: Path
    student: dict = field(default_factory=dict)   # StudentConfig fields except vocab_size
    train: TrainConfig = field(default_factory=TrainConfig)
    max_dev_per_lang: int = 500
    vocab_size: int = 0           # top the pruned vocabulary up to this size (0: no top-up)

    def fingerprint(self) -> str:
        """What a checkpoint must agree with to be resumed."""
        key = {"teacher": self.teacher, "corpus": str(Path(self.corpus).resolve()),
               "student": self.student, "train": asdict(self.train),
               "vocab_size": self.vocab_size}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ state on disk

def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _teacher_targets(teacher: Teacher, texts: list[str], work: Path) -> np.ndarray:
    """Teacher embeddings of `texts`, computed once per run and kept in the work folder."""
    key = hashlib.sha256(("\n".join([teacher.name, *texts])).encode()).hexdigest()[:16]
    path = work / f"teacher-{key}.npy"
    if path.is_file():
        return np.load(path)
    emb = teacher.encode(texts, batch_size=64, progress=True)
    np.save(work / "teacher.tmp.npy", emb)
    os.replace(work / "teacher.tmp.npy", path)
    return emb


def _examples(corpus: Corpus) -> tuple[list[tuple[str, int]], list[str]]:
    """(student text, index of its teacher target) and the texts the teacher embeds."""
    target_texts: list[str] = []
    index: dict[str, int] = {}
    def target(text: str) -> int:
        if text not in index:
            index[text] = len(target_texts)
            target_texts.append(text)
        return index[text]
    examples = []
    for _, en, xx in corpus.train:
        t = target(en)
        examples += [(en, t), (xx, t)]
    examples += [(text, target(text)) for _, text in corpus.mono]
    return examples, target_texts


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


def _lr_lambda(steps: int, warmup: float):
    warm = max(1, int(steps * warmup))
    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, steps - warm))))
    return f


# ------------------------------------------------------------------ the run

def distill(cfg: DistillConfig) -> dict:
    """Train a student and save it to `cfg.out`. Returns the summary written to config.json."""
    t0 = time.time()
    tc = cfg.train
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    corpus = load_corpus(cfg.corpus)
    work = Path(f"{cfg.out}.partial")
    work.mkdir(parents=True, exist_ok=True)
    stamp, fingerprint = work / "fingerprint", cfg.fingerprint()
    if stamp.is_file() and stamp.read_text() != fingerprint:
        log.warning("settings changed since the interrupted run in %s: starting afresh", work)
        shutil.rmtree(work)
        work.mkdir(parents=True)
    stamp.write_text(fingerprint)

    teacher = Teacher(cfg.teacher)
    examples, target_texts = _examples(corpus)

    # 1. the student's vocabulary, pruned from the teacher's
    tok_path = work / "tokenizer.json"
    if not tok_path.is_file():
        tj, old_ids = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"),
                            [text for text, _ in examples], fill_to=cfg.vocab_size)
        (work / "old_ids.json").write_text(json.dumps(old_ids))
        tok_path.write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
    tj = load_tokenizer_json(tok_path)
    old_ids = json.loads((work / "old_ids.json").read_text())

    # 2. the student, initialised from the teacher
    pad_id = old_ids.index(teacher.pad_id) if teacher.pad_id in old_ids else 0
    scfg = StudentConfig(vocab_size=len(old_ids), pad_id=pad_id, teacher=cfg.teacher,
                         **cfg.student)
    check_shape_matches_teacher(scfg, teacher.model.config)
    student = Student(scfg)
    init_from_teacher(student, teacher.model, old_ids)

    # 3. teacher targets, once
    targets = torch.from_numpy(_teacher_targets(teacher, target_texts, work))
    teacher_params = teacher.num_parameters()
    del teacher

    encoder = StudentEncoder(student, Tokenizer.from_str(json.dumps(tj)))
    ids = encoder.tokenize([text for text, _ in examples])
    target_of = torch.tensor([t for _, t in examples])

    # 4. train
    opt = torch.optim.AdamW(student.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(tc.steps, tc.warmup))
    step = 0
    ckpt = work / "checkpoint.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=True)
        student.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = state["step"]
        log.warning("resuming from step %d/%d (%s)", step, tc.steps, ckpt)

    def save_checkpoint() -> None:
        _atomic_save({"model": student.state_dict(), "optimizer": opt.state_dict(),
                      "scheduler": sched.state_dict(), "step": step}, ckpt)

    per_step = tc.batch_size * 2  # a pair contributes two examples
    lengths = [len(x) for x in ids]
    epoch_batches = length_bucketed_batches(lengths, per_step, tc.seed)
    student.train()
    bar = tqdm(total=tc.steps, initial=step, desc="distill", unit="step")
    running = None
    try:
        while step < tc.steps:
            epoch, k = divmod(step, len(epoch_batches))
            if k == 0 and epoch:
                epoch_batches = length_bucketed_batches(lengths, per_step, tc.seed + epoch)
            batch = epoch_batches[k]
            input_ids, mask = pad_batch([ids[i] for i in batch], scfg.pad_id)
            pred = student(input_ids, mask)
            loss = ((pred - targets[target_of[batch]]) ** 2).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), tc.clip)
            opt.step()
            sched.step()
            step += 1
            running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{running:.4f}")
            if step % tc.checkpoint_every == 0 and step < tc.steps:
                save_checkpoint()
    except KeyboardInterrupt:
        save_checkpoint()
        bar.close()
        raise EdgekitError(f"interrupted at step {step}/{tc.steps}; the checkpoint is in "
                           f"{work}: run the same command again to resume") from None
    bar.close()
    student.eval()

    # 5. dev retrieval, then the folder
    dev = dev_retrieval(encoder, corpus.dev, cfg.max_dev_per_lang)
    summary = {
        "teacher": cfg.teacher,
        "languages": corpus.languages(),
        "parameters": num_parameters(student),
        "teacher_parameters": teacher_params,
        "train_pairs": len(corpus.train),
        "steps": tc.steps,
        "final_loss": running,
        "dev_retrieval": dev,
        "wall_time_s": round(time.time() - t0, 1),
    }
    save_student(student, tj, cfg.out, extra={"training": summary})
    shutil.rmtree(work, ignore_errors=True)
    return summary
