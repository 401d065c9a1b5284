"""NER: fine-tune a token-classification teacher, then distil it XtremeDistil's way.

Teacher: any Hugging Face token-classification folder, or `finetune_teacher`, which trains
the default multilingual encoder on IOB2 files (Universal NER) with the word embeddings
frozen (they carry the cross-lingual alignment to languages without labels).

Student: the same bottlenecked, parameter-recurrent encoder with a token-classification head,
trained through a token recipe's stages (`distill.stages`, kinds repr, logits, labels). The
teacher runs alongside on every batch: its per-token outputs are too large to cache. Teacher
and student vocabularies segment words differently, so they are compared on each word's first
sub-token.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from torch import nn

from distill.data import read_texts
from distill.encoding import pad_batch, token_outputs
from distill.errors import EdgekitError
from distill.fsutil import atomic_dir
from distill.ner import (
    IGNORE,
    LABELS,
    Sentence,
    encode_words,
    f1_score,
    is_dev,
    read_ner_folder,
    tag_sentences,
    token_labels,
    words_of,
)
from distill.progress import progress_bar
from distill.stages import Stage
from distill.student import Student
from distill.teachers import (
    DEFAULT_TEACHER,
    cache_dir,
    quiet_transformers,
    raw_tokenizer,
    resolve_teacher,
)
from distill.train import (
    TrainConfig,
    _lr_lambda,
    _processes,
    finish_run,
    length_bucketed_batches,
    run_stages,
    start_run,
    student_for,
)

log = logging.getLogger("edgekit")


class NerTeacher:
    """A Hugging Face token-classification model and its tokenizer."""

    def __init__(self, folder: str | Path):
        from transformers import AutoConfig, AutoModelForTokenClassification

        quiet_transformers()
        self.folder = resolve_teacher(str(folder))
        config = AutoConfig.from_pretrained(self.folder)
        if not getattr(config, "id2label", None) or config.num_labels < 2 or not any(
                a.endswith("ForTokenClassification") for a in config.architectures or []):
            raise EdgekitError(f"{folder} is not a token-classification model (its config "
                               "has no *ForTokenClassification architecture and labels); "
                               "fine-tune one with `edgekit ner-teacher`")
        self.name = str(folder)
        self.model = AutoModelForTokenClassification.from_pretrained(
            self.folder, use_safetensors=True).eval()
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.tokenizer = raw_tokenizer(self.folder)
        self.max_len = int(min(256, config.max_position_embeddings))
        self.num_layers = int(config.num_hidden_layers)
        self.dim = int(config.hidden_size)
        self.pad_id = int(config.pad_token_id or 0)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def logits(self, ids: Sequence[Sequence[int]]) -> list[np.ndarray]:
        return token_outputs(lambda x, m: self.model(input_ids=x, attention_mask=m).logits,
                             ids, self.pad_id, 32)

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        return tag_sentences(self.logits, self.tokenizer, sentences, self.max_len, self.labels)


# ------------------------------------------------------------------ the teacher

@dataclass
class TeacherTuning:
    steps: int = 1000             # ~0.9 epoch of Universal NER; ~8 min on 2 CPU cores
    batch_size: int = 16
    lr: float = 1e-4
    warmup: float = 0.1
    max_len: int = 128
    seed: int = 0


def labelled_batch(encoded: Sequence[tuple[list[int], list[int]]],
                   sentences: Sequence[Sentence], labels: Sequence[str], pad_id: int
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ids, mask, and the gold label ids (IGNORE off first sub-tokens and padding),
    from `encode_words` outputs and their sentences."""
    ids, mask = pad_batch([x for x, _ in encoded], pad_id)
    y = torch.full(ids.shape, IGNORE, dtype=torch.long)
    for row, ((x, first), s) in enumerate(zip(encoded, sentences, strict=True)):
        y[row, : len(x)] = torch.tensor(token_labels(first, s.tags, len(x), labels))
    return ids, mask, y


def _labelled_batches(sentences: list[Sentence], tokenizer: Tokenizer, labels: list[str],
                      max_len: int, batch_size: int, seed: int, pad_id: int
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    encoded = [encode_words(tokenizer, s.words, max_len) for s in sentences]
    for epoch in itertools.count():
        for batch in length_bucketed_batches([len(ids) for ids, _ in encoded], batch_size,
                                             seed + epoch):
            yield labelled_batch([encoded[i] for i in batch], [sentences[i] for i in batch],
                                 labels, pad_id)


def finetune_teacher(train_dir: str | Path, out: str | Path, base: str = DEFAULT_TEACHER,
                     tuning: TeacherTuning | None = None) -> dict:
    """Fine-tune `base` into a token-classification teacher on the IOB2 files of
    `train_dir`; writes an HF folder to `out` (atomically). Returns its summary."""
    from transformers import AutoModelForTokenClassification

    quiet_transformers()
    t = tuning or TeacherTuning()
    t0 = time.time()
    torch.manual_seed(t.seed)
    sentences = read_ner_folder(train_dir)
    train = [s for s in sentences if not is_dev(s)]
    dev = [s for s in sentences if is_dev(s)]
    folder = resolve_teacher(base)
    model = AutoModelForTokenClassification.from_pretrained(
        folder, use_safetensors=True, num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)), label2id={x: i for i, x in enumerate(LABELS)})
    # frozen word embeddings: 2/3 of the weights, and the cross-lingual alignment
    model.get_input_embeddings().weight.requires_grad_(False)
    tokenizer = raw_tokenizer(folder)
    pad_id = int(model.config.pad_token_id or 0)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=t.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(t.steps, t.warmup))
    batches = _labelled_batches(train, tokenizer, LABELS, t.max_len, t.batch_size, t.seed,
                                pad_id)
    model.train()
    running = None
    bar = progress_bar(range(t.steps), desc="NER teacher", unit="step")
    for _ in bar:
        ids, mask, y = next(batches)
        loss = model(input_ids=ids, attention_mask=mask, labels=y).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        bar.set_postfix(loss=f"{running:.4f}")
    model.eval()
    summary = {"base": base, "train": str(train_dir), "sentences": len(train),
               "languages": sorted({s.lang for s in train}), "tuning": asdict(t),
               "loss": round(running or 0.0, 5), "wall_time_s": round(time.time() - t0, 1)}
    with atomic_dir(Path(out)) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        shutil.copy(folder / "tokenizer.json", tmp / "tokenizer.json")
        teacher = NerTeacher(tmp)
        summary["dev_f1"] = f1_score([s.tags for s in dev],
                                     teacher.tag([s.words for s in dev]))["f1"]
        (tmp / "edgekit_ner_teacher.json").write_text(json.dumps(summary, indent=2))
    log.info("NER teacher: %d steps in %.0f s, dev F1 %.1f", t.steps, summary["wall_time_s"],
             summary["dev_f1"])
    return summary


def default_teacher(train_dir: str | Path, tuning: TeacherTuning | None = None,
                    base: str = DEFAULT_TEACHER) -> Path:
    """The default multilingual encoder fine-tuned on `train_dir`, once, in the edgekit
    cache (keyed by the base, the files and the tuning)."""
    files = sorted(Path(train_dir).glob("*.iob2"))
    if not files:
        read_ner_folder(train_dir)  # raises the clear error
    key = json.dumps([base, [(f.name, f.stat().st_size) for f in files],
                      asdict(tuning or TeacherTuning())])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    dest = cache_dir() / "teachers" / f"ner--{base.replace('/', '--')}-{digest}"
    if not (dest / "config.json").is_file():
        log.warning("fine-tuning the NER teacher into %s (first use only)", dest)
        finetune_teacher(train_dir, dest, base, tuning)
    return dest


# ------------------------------------------------------------------ the student's stages

class TokenStageLoss(nn.Module):
    """forward(batch) -> (loss, parts) for the token kinds, on first sub-tokens of words.

    repr    MSE between the projected last hidden state and the teacher's `teacher_layer`
    logits  MSE on logits, or KL at `temperature` (x T^2), against the teacher's
    labels  cross-entropy on the gold tags

    The batch decides which: gold `labels`, the teacher's `t_hidden` or its `t_logits` (the
    unlabelled batches of a labels stage with `unlabelled_share` carry t_logits).
    """

    def __init__(self, stage: Stage, student: Student, teacher_width: int):
        super().__init__()
        self.stage, self.student = stage, student
        self.proj = nn.ModuleList()
        if stage.kind == "repr":
            p = nn.Linear(student.config.hidden_size, teacher_width, bias=False)
            if student.config.hidden_size == teacher_width:
                nn.init.eye_(p.weight)
            self.proj.append(p)

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        st, s = self.stage, self.student
        hidden = s.hidden_states(batch["ids"], batch["mask"])
        if "labels" in batch:
            loss = F.cross_entropy(s.classifier(hidden).flatten(0, 1),
                                   batch["labels"].flatten(), ignore_index=IGNORE)
            return loss, {"labels": loss.item()}
        at = batch["positions"]  # (row, position) of each word's first sub-token
        words = hidden[at[:, 0], at[:, 1]]
        if "t_hidden" in batch:
            loss = F.mse_loss(self.proj[0](words), batch["t_hidden"])
            return loss, {"repr": loss.item()}
        logits = s.classifier(words)
        if st.loss == "mse":
            loss = F.mse_loss(logits, batch["t_logits"])
        else:
            T = st.temperature
            loss = F.kl_div(F.log_softmax(logits / T, -1),
                            F.log_softmax(batch["t_logits"] / T, -1),
                            log_target=True, reduction="batchmean") * T * T
        return loss, {"logits": loss.item()}


def interleave(gold: Callable[[int], Iterator[dict]], teacher: Callable[[int], Iterator[dict]],
               share: float, start: int) -> Iterator[dict]:
    """Batches `start`, `start`+1, ... of a labels stage with `unlabelled_share`: batch j comes
    from `teacher` when floor((j+1) x share) > floor(j x share), else from `gold`. Both are
    called with the number of their batches before `start`, so a resume sees the same
    batches."""
    def from_teacher(j: int) -> bool:
        return math.floor((j + 1) * share) > math.floor(j * share)

    before = math.floor(start * share)
    gold_it, teacher_it = gold(start - before), teacher(before)
    for j in itertools.count(start):
        yield next(teacher_it) if from_teacher(j) else next(gold_it)


@dataclass
class NerDistillConfig:
    teacher: str                  # HF token-classification folder
    train_dir: Path               # labelled IOB2 files
    out: Path
    corpus: Path | None = None    # unlabelled text: a corpus folder from `edgekit data`
    student: dict = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    stages: list[dict] = field(default_factory=list)
    vocab_size: int = 0
    max_unlabelled: int = 200000  # texts read from the corpus

    def fingerprint(self) -> str:
        key = {"teacher": self.teacher, "train_dir": str(Path(self.train_dir).resolve()),
               "corpus": str(Path(self.corpus).resolve()) if self.corpus else "",
               "student": self.student, "train": asdict(self.train), "stages": self.stages,
               "vocab_size": self.vocab_size, "max_unlabelled": self.max_unlabelled}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _unlabelled(corpus: Path | None, limit: int, seed: int) -> list[Sentence]:
    """Every text of the corpus (both sides of its pairs, and its monolingual text), or
    `limit` of them drawn at random: the first `limit` would drop the last languages."""
    if corpus is None:
        return []
    texts = list(read_texts(corpus))
    if len(texts) > limit:
        texts = random.Random(seed).sample(texts, limit)
    return [Sentence("", words, []) for words in map(words_of, texts) if words]


class _Batches:
    """Collated batches for the token stages: student ids, the words' first-sub-token
    positions in both models, the teacher's outputs there, and gold labels."""

    def __init__(self, teacher: NerTeacher, tokenizer: Tokenizer, labels: list[str],
                 max_len: int, pad_id: int, device: torch.device):
        self.teacher, self.tokenizer, self.labels = teacher, tokenizer, labels
        self.max_len, self.pad_id, self.device = max_len, pad_id, device

    def endless(self, sentences: list[Sentence], stage: Stage, batch_size: int, seed: int,
                start: int, rank: int, world: int) -> Iterator[dict]:
        lengths = [len(s.words) for s in sentences]
        batches = (b for epoch in itertools.count()
                   for b in length_bucketed_batches(lengths, batch_size, seed + epoch))
        for batch in itertools.islice(batches, start, None):
            mine = batch[rank::world] or batch[:1]
            yield self.collate([sentences[i] for i in mine], stage)

    @torch.inference_mode()
    def _teacher(self, sentences: list[Sentence], stage: Stage
                 ) -> tuple[list[list[int]], torch.Tensor]:
        t = self.teacher
        encoded = [encode_words(t.tokenizer, s.words, self.max_len) for s in sentences]
        ids, mask = pad_batch([e[0] for e in encoded], t.pad_id)
        layer = stage.teacher_layer or t.num_layers
        out = t.model(input_ids=ids, attention_mask=mask,
                      output_hidden_states=stage.kind == "repr")
        values = out.hidden_states[layer] if stage.kind == "repr" else out.logits
        return [e[1] for e in encoded], values

    def collate(self, sentences: list[Sentence], stage: Stage) -> dict:
        encoded = [encode_words(self.tokenizer, s.words, self.max_len) for s in sentences]
        if stage.kind == "labels":
            ids, mask, y = labelled_batch(encoded, sentences, self.labels, self.pad_id)
            batch = {"ids": ids, "mask": mask, "labels": y}
        else:
            ids, mask = pad_batch([x for x, _ in encoded], self.pad_id)
            batch = {"ids": ids, "mask": mask}
            t_first, values = self._teacher(sentences, stage)
            ours, theirs = [], []
            for row, ((_, first), tf) in enumerate(zip(encoded, t_first, strict=True)):
                for a, b in zip(first, tf, strict=True):
                    if a >= 0 and b >= 0:
                        ours.append((row, a))
                        theirs.append((row, b))
            theirs_t = torch.tensor(theirs, dtype=torch.long).view(-1, 2)
            batch["positions"] = torch.tensor(ours, dtype=torch.long).view(-1, 2)
            key = "t_hidden" if stage.kind == "repr" else "t_logits"
            batch[key] = values[theirs_t[:, 0], theirs_t[:, 1]].clone()
        return {k: v.to(self.device) for k, v in batch.items()}


def distill_ner(cfg: NerDistillConfig) -> dict:
    """Train a token-classification student through the recipe's stages and save it to
    `cfg.out`. Returns the summary written to config.json."""
    t0 = time.time()
    tc = cfg.train
    stages = [Stage.from_dict(d) for d in cfg.stages]
    wrong = [s.name for s in stages if s.task != "token-classification"]
    if not stages or wrong:
        raise EdgekitError("an NER recipe needs token stages (kinds repr, logits, labels)"
                           + (f"; not {', '.join(wrong)}" if wrong else ""))
    procs = _processes()
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    random.seed(tc.seed)
    teacher = NerTeacher(cfg.teacher)
    sentences = read_ner_folder(cfg.train_dir)
    labelled = [s for s in sentences if not is_dev(s)]
    dev = [s for s in sentences if is_dev(s)]
    unlabelled = _unlabelled(cfg.corpus, cfg.max_unlabelled, tc.seed) + labelled
    work = Path(f"{cfg.out}.partial")
    fingerprint = cfg.fingerprint()

    tj, old_ids, _ = start_run(work, fingerprint, teacher.folder,
                               lambda: (" ".join(s.words) for s in unlabelled), cfg.vocab_size,
                               procs)

    student = student_for(cfg.teacher, teacher.model, teacher.pad_id, old_ids, cfg.student,
                          labels=teacher.labels)
    scfg, pad_id = student.config, student.config.pad_id
    student.to(procs.device)
    teacher.model.to(procs.device)
    tokenizer = Tokenizer.from_str(json.dumps(tj))
    source = _Batches(teacher, tokenizer, teacher.labels, scfg.max_len, pad_id, procs.device)

    def dev_f1() -> dict[str, float]:
        pred = tag_sentences(student_logits(student), tokenizer, [s.words for s in dev],
                             scfg.max_len, teacher.labels)
        return {"dev_f1": f1_score([s.tags for s in dev], pred)["f1"]}

    def stream(stage: Stage, seed: int, start: int) -> Iterator[dict]:
        data = labelled if stage.kind == "labels" else unlabelled
        return source.endless(data, stage, tc.batch_size, seed, start, procs.rank,
                              procs.world)

    def batches_for(i: int, stage: Stage, start: int) -> Iterator[dict]:
        seed = tc.seed + 7919 * i
        if not stage.unlabelled_share:
            return stream(stage, seed, start)
        as_logits = replace(stage, kind="logits")
        return interleave(lambda first: stream(stage, seed, first),
                          lambda first: stream(as_logits, seed + 1, first),
                          stage.unlabelled_share, start)

    log_rows = run_stages(stages, student,
                          lambda st: TokenStageLoss(st, student, teacher.dim), batches_for,
                          dev_f1, tc, procs, work)

    summary = {"task": "token-classification", "teacher": cfg.teacher,
               "languages": sorted({s.lang for s in labelled}),
               "teacher_parameters": teacher.num_parameters(), "steps": tc.steps}
    return finish_run(student, tj, cfg.out, work, procs, t0, summary, log_rows,
                      lambda: {"dev_f1": dev_f1()["dev_f1"]})


def student_logits(model: Student):
    """Logits function (see `distill.ner.Logits`) of a token-classification student on CPU."""
    return lambda ids: token_outputs(model.eval(), ids, model.config.pad_id)
