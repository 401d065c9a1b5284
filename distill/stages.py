"""The stages a recipe is made of. Each stage is a loss over a batch of rows plus the set of
parameters it trains; a recipe (TOML) lists stages with their settings.

kinds
  align    Ding stage 2, bottleneck alignment: the factorised embeddings (vocab x E, E x H,
           positions, norm) are trained so their per-token output matches the teacher's
           embedding layer, before any transformer layer is trained.
  kd       Ding stages 1 and 3, multilingual KD on sentence embeddings:
               |S(en) - T(en)|^2 + |S(xx) - T(en)|^2  (+ |S(mono) - T(mono)|^2)
           with `similarity_weight` (any sentence kind), similarity-preserving KD: the B x B
           matrix cos(S(x_i), S(x_j)) regressed onto cos(T(x_i), T(x_j)), per side, each side
           centred on its batch mean first, which weighs the graded similarities STS asks for
           rather than the component every embedding shares;
           with `centred`, the KD terms compare unit directions from the teacher's mean
           embedding over the training text, where what tells sentences apart lives;
           with `token_weight` (any sentence kind), token-level KD: every piece's last hidden
           state regressed (cosine) onto the teacher's, the teacher run on the student's own
           pieces, per side: a target per piece rather than one per sentence;
           with `hidden_weight`, XtremeDistil's representation transfer: the student's mean-
           pooled hidden state at `hidden_points` evenly spaced depths, through a learned
           projection, regressed (cosine) onto the teacher's pooled hidden state at the
           same relative depth; `mse_weight = 0` leaves the representation loss alone.
  mcl      Ding stage 4, multilingual contrastive learning: the B x B matrix
           cos(S(en_i), S(xx_j)) regressed onto cos(T(en_i), T(en_j)), plus `mse_weight` x
           the two KD terms.
  infonce  In-batch negatives: cross-entropy of cos(S(xx_i), S(en_j)) / temperature in both
           directions (the translation is the label), plus `mse_weight` x the KD terms.

Token kinds (NER; their losses are `distill.ner_train.TokenStageLoss`): repr (projected
hidden states onto a teacher layer, MSE), logits (MSE or KL on the teacher's logits), labels
(cross-entropy on gold tags; with `unlabelled_share`, that fraction of its batches are
logits batches instead, which keeps the languages without labels in training), each on
words' first sub-tokens.

`unfreeze = true` is XtremeDistil's gradual unfreezing: the stage's steps are cut into
phases; the first trains only the top layer, each next phase unfreezes one more block
downwards (layers, then the embeddings).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from distill.encoding import mean_pool, native_bfloat16
from distill.errors import EdgekitError
from distill.fsutil import value_fits
from distill.student import Student

SENTENCE_KINDS = ("align", "kd", "mcl", "infonce")
KD_KINDS = ("kd", "mcl", "infonce")  # the sentence kinds with KD terms and batches of rows
TOKEN_KINDS = ("repr", "logits", "labels")
KINDS = SENTENCE_KINDS + TOKEN_KINDS
LOSSES = ("mse", "kl")
TRAINS = ("all", "embeddings", "layers")


@dataclass
class Stage:
    kind: str
    name: str = ""
    share: float = 1.0            # fraction of the preset's steps
    lr: float = 0.0               # 0: the preset's lr
    train: str = "all"            # all | embeddings | layers
    unfreeze: bool = False        # gradual top-down unfreezing
    hidden_weight: float = 0.0    # kd: representation transfer weight
    hidden_points: int = 2        # kd: depths where hidden states are matched
    mse_weight: float = 1.0       # weight of the KD terms (0 in kd: representation only)
    similarity_weight: float = 0.0  # in-batch cosine matrices matched to the teacher's
    token_weight: float = 0.0     # each piece's last hidden state matched to the teacher's,
                                  # the teacher run on the student's own pieces
    centred: bool = False         # the KD terms on embeddings less the teacher's mean over
                                  # the training text, renormalised
    neighbours: int = 0           # batches made of groups of this many near neighbours by
                                  # the teacher's embedding (0: random, length-bucketed)
    temperature: float = 0.05     # infonce; logits with loss "kl"
    teacher_layer: int = 0        # repr: the teacher layer matched (0: its last)
    loss: str = "mse"             # logits: mse | kl
    unlabelled_share: float = 0.0  # labels: fraction of batches that are unlabelled text
                                   # scored against the teacher's logits (`loss`)

    @property
    def task(self) -> str:
        return "token-classification" if self.kind in TOKEN_KINDS else "sentence-embedding"

    @classmethod
    def from_dict(cls, d: dict) -> Stage:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise EdgekitError(f"recipe stage: unknown setting {', '.join(unknown)}; "
                               f"known: {', '.join(sorted(known))}")
        if "kind" not in d:
            raise EdgekitError(f"recipe stage {d}: no kind; one of {', '.join(KINDS)}")
        for f in fields(cls):
            value = d.get(f.name, f.default)
            if not value_fits(value, f.type) or (f.type in ("int", "float") and value < 0):
                number = f.type in ("int", "float")
                raise EdgekitError(f"recipe stage {d.get('name') or d['kind']}: {f.name} must "
                                   f"be a {'non-negative ' if number else ''}{f.type}, not "
                                   f"{value!r}")
        stage = cls(**d)
        if stage.kind not in KINDS:
            raise EdgekitError(f"recipe stage kind {stage.kind!r}: one of {', '.join(KINDS)}")
        if stage.train not in TRAINS:
            raise EdgekitError(f"recipe stage train {stage.train!r}: one of {', '.join(TRAINS)}")
        if stage.loss not in LOSSES:
            raise EdgekitError(f"recipe stage loss {stage.loss!r}: one of {', '.join(LOSSES)}")
        if not 0 <= stage.unlabelled_share < 1 or (stage.unlabelled_share
                                                    and stage.kind != "labels"):
            raise EdgekitError(f"recipe stage {stage.kind}: unlabelled_share is for kind "
                               "labels, from 0 up to (not including) 1")
        if stage.neighbours and stage.kind not in KD_KINDS:
            raise EdgekitError(f"recipe stage {stage.name or stage.kind}: neighbours is for "
                               "kinds kd, mcl and infonce")
        if stage.centred and stage.kind not in KD_KINDS:
            raise EdgekitError(f"recipe stage {stage.name or stage.kind}: centred is for "
                               "kinds kd, mcl and infonce")
        if stage.share <= 0:
            raise EdgekitError(f"recipe stage {stage.kind}: share must be positive")
        stage.name = stage.name or stage.kind
        return stage

    def teacher_views(self, num_teacher_layers: int) -> list[str]:
        """The cached teacher outputs this stage reads: "embedding", then the hidden layers
        from shallow to deep (the batch names them t_embedding, t_hidden0, ...)."""
        if self.kind == "align" or self.task != "sentence-embedding":
            return []
        views = ["embedding"]
        if self.kind == "kd" and self.hidden_weight:
            views += [f"layer{n}" for n in hidden_targets(self.hidden_points,
                                                          num_teacher_layers)]
        return views


def hidden_targets(points: int, num_teacher_layers: int) -> list[int]:
    return [round(num_teacher_layers * j / points) for j in range(1, points + 1)]


def hidden_depths(points: int, effective_layers: int) -> list[int]:
    return [round(effective_layers * j / points) for j in range(1, points + 1)]


# ------------------------------------------------------------------ which parameters train

def blocks_top_down(student: Student) -> list[list[nn.Parameter]]:
    """Unfreezing order: the classifier (a tagger's), the last layer, ..., the first layer,
    then the embeddings."""
    embed = [*student.token_embed.parameters(), *student.embed_proj.parameters(),
             *student.pos_embed.parameters(), *student.embed_norm.parameters()]
    head = [list(student.classifier.parameters())] if student.config.labels else []
    return head + [list(layer.parameters()) for layer in reversed(student.layers)] + [embed]


def trainable_blocks(stage: Stage, student: Student) -> list[list[nn.Parameter]]:
    blocks = blocks_top_down(student)
    if stage.kind == "repr" and student.config.labels:  # no logits: the head is not used
        blocks = blocks[1:]
    if stage.kind == "align" or stage.train == "embeddings":
        return blocks[-1:]
    if stage.train == "layers":
        return blocks[:-1]
    return blocks


def phase_of(step: int, steps: int, num_blocks: int, unfreeze: bool) -> int:
    """How many blocks (from the top) train at `step`: all, or one more per phase."""
    if not unfreeze:
        return num_blocks
    return min(num_blocks, 1 + step * num_blocks // max(1, steps))


# ------------------------------------------------------------------ the losses

class TeacherEmbeddingLayer(nn.Module):
    """The teacher's embedding layer restricted to the student's vocabulary (frozen): the
    target of the align stage."""

    def __init__(self, word: torch.Tensor, pos: torch.Tensor, norm: nn.LayerNorm):
        super().__init__()
        self.register_buffer("word", word)
        self.register_buffer("pos", pos)
        self.norm = norm.requires_grad_(False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.norm(self.word[ids] + self.pos[: ids.shape[1]])


class TeacherOnPieces(nn.Module):
    """The whole teacher (frozen) read through the student's vocabulary: its last hidden
    state for each of the student's pieces, the target of `token_weight`. Run on the fly,
    since per-piece states are too many to cache; in bfloat16 where the CPU has it (twice
    as fast on AVX-512 BF16, per-piece cosine to float32 ≥ 0.99995)."""

    def __init__(self, model: nn.Module, old_ids: list[int]):
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.register_buffer("old_ids", torch.tensor(old_ids, dtype=torch.long))

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with torch.autocast(ids.device.type, dtype=torch.bfloat16,
                            enabled=native_bfloat16(ids.device)):
            out = self.model(input_ids=self.old_ids[ids], attention_mask=mask)
        return out.last_hidden_state.float()


def token_distance(x: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance over the real (unpadded) pieces."""
    d = 1 - F.cosine_similarity(x, target, dim=-1)
    m = mask.to(d.dtype)
    return (d * m).sum() / m.sum()


def centred_cosines(e: torch.Tensor) -> torch.Tensor:
    """B x B cosines of the embeddings less their batch mean. Uncentred, unrelated texts
    already meet at ~0.9, and matching those cosines mostly teaches the shared component;
    the calibration removes it after training anyway."""
    e = F.normalize(e - e.mean(0), dim=-1)
    return e @ e.T


LENGTH_SLICE = 16  # rows encoded together when a batch mixes lengths


class StageLoss(nn.Module):
    """student + the stage's own trainable parts; forward(batch) -> (loss, parts). One module,
    so DistributedDataParallel wraps every stage the same way."""

    def __init__(self, stage: Stage, student: Student, teacher_embed: nn.Module | None,
                 teacher_width: int, teacher_pieces: nn.Module | None = None,
                 bf16: bool = False, teacher_centre: torch.Tensor | None = None):
        super().__init__()
        if stage.centred and teacher_centre is None:
            raise EdgekitError("centred needs the teacher's mean embedding")
        self.register_buffer("centre", teacher_centre)
        self.stage, self.student, self.teacher_embed = stage, student, teacher_embed
        self.bf16 = bf16  # the student's layers in bfloat16 autocast; the losses in float32
        if stage.token_weight and teacher_pieces is None:
            raise EdgekitError("token_weight needs the teacher on the student's pieces")
        # not a submodule: its weights are neither trained nor checkpointed
        self.__dict__["teacher_pieces"] = teacher_pieces
        c = student.config
        self.depths = hidden_depths(stage.hidden_points, c.effective_layers)
        self.proj = nn.ModuleList()
        if stage.kind == "kd" and stage.hidden_weight:
            for _ in self.depths:
                p = nn.Linear(c.hidden_size, teacher_width, bias=False)
                if c.hidden_size == teacher_width:  # start from "no change"
                    nn.init.eye_(p.weight)
                self.proj.append(p)

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        if self.stage.kind == "align":
            return self._align(batch)
        return self._sentence(batch)

    def _align(self, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        # both sides: the translations carry the other languages' pieces
        sides = [("a_ids", "a_mask"), ("b_ids", "b_mask")] if "b_ids" in batch else [
            ("a_ids", "a_mask")]
        total, count = 0.0, 0.0
        for ids_key, mask_key in sides:
            ids, mask = batch[ids_key], batch[mask_key]
            out = self.student.embed(ids)
            with torch.no_grad():
                target = self.teacher_embed(ids)
            m = mask.unsqueeze(-1).to(out.dtype)
            total = total + (((out - target) ** 2) * m).sum()
            count = count + m.sum() * out.shape[-1]
        loss = total / count
        return loss, {"align": loss.item()}

    def _encode(self, ids: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Sentence embedding, the pooled hidden states at the matched depths, and the last
        per-piece hidden state. A batch of neighbours mixes lengths: it runs in slices of
        similar length, each padded only to its own longest text."""
        if not self.stage.neighbours:
            return self._encode_padded(ids, mask)
        lengths = mask.sum(1)
        order = lengths.argsort()
        parts = []
        for rows in order.split(LENGTH_SLICE):
            width = int(lengths[rows].max())
            parts.append(self._encode_padded(ids[rows, :width], mask[rows, :width]))
        back = order.argsort()  # the slices' rows, in the batch's order again
        sentence = torch.cat([se for se, _, _ in parts])[back]
        pooled = [torch.cat(depth)[back]
                  for depth in zip(*(po for _, po, _ in parts), strict=True)]
        x = torch.cat([F.pad(xe, (0, 0, 0, ids.shape[1] - xe.shape[1]))
                       for _, _, xe in parts])[back]
        return sentence, pooled, x

    def _encode_padded(self, ids: torch.Tensor, mask: torch.Tensor
                       ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        s = self.student
        attn_bias = s.attention_bias(mask)
        pooled, depth = [], 0
        with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            x = s.embed(ids)
            for _ in range(s.config.num_recurrences):
                for layer in s.layers:
                    x = layer(x, attn_bias)
                    depth += 1
                    if self.proj and depth in self.depths:
                        pooled.append(mean_pool(x.float(), mask))
        x = x.float()
        return F.normalize(mean_pool(x, mask), dim=-1), pooled, x

    def _sentence(self, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        pair = batch["pair"]  # rows with a translation
        sa, ha, xa = self._encode(batch["a_ids"], batch["a_mask"])
        sb, hb, xb = (self._encode(batch["b_ids"], batch["b_mask"]) if pair.any()
                      else (None, None, None))
        loss, parts = self._terms(batch, sa, ha, sb, hb)
        if self.stage.similarity_weight:
            ta = batch["t_embedding"]
            sim = ((centred_cosines(sa) - centred_cosines(ta)) ** 2).mean()
            if sb is not None:
                sim = sim + ((centred_cosines(sb) - centred_cosines(ta[pair])) ** 2).mean()
            parts["similarity"] = sim.item()
            loss = loss + self.stage.similarity_weight * sim
        if self.stage.token_weight:
            tok = self._token(batch["a_ids"], batch["a_mask"], xa)
            if sb is not None:
                tok = tok + self._token(batch["b_ids"], batch["b_mask"], xb)
            parts["token"] = tok.item()
            loss = loss + self.stage.token_weight * tok
        return loss, parts

    def _token(self, ids: torch.Tensor, mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return token_distance(x, self.teacher_pieces(ids, mask), mask)

    def _kd(self, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.stage.centred:
            s, t = F.normalize(s - self.centre, dim=-1), F.normalize(t - self.centre, dim=-1)
        return ((s - t) ** 2).sum(-1).mean()

    def _terms(self, batch: dict, sa: torch.Tensor, ha: list[torch.Tensor],
               sb: torch.Tensor | None, hb: list[torch.Tensor] | None
               ) -> tuple[torch.Tensor, dict[str, float]]:
        """The stage kind's loss on the encoded sides (`sb` None: no pair in the batch)."""
        st, pair, ta = self.stage, batch["pair"], batch["t_embedding"]
        kd = self._kd(sa, ta)
        if sb is not None:
            kd = kd + self._kd(sb, ta[pair])
        parts = {"mse": kd.item()}
        if st.kind == "kd":
            loss = st.mse_weight * kd
            if self.proj:
                hidden = 0.0
                for j, proj in enumerate(self.proj):
                    target = batch[f"t_hidden{j}"]
                    hidden = hidden + (1 - F.cosine_similarity(proj(ha[j]), target)).mean()
                    if sb is not None:
                        hidden = hidden + (1 - F.cosine_similarity(proj(hb[j]),
                                                                   target[pair])).mean()
                parts["hidden"] = hidden.item()
                loss = loss + st.hidden_weight * hidden
            return loss, parts
        if sb is None:
            return st.mse_weight * kd, parts
        en, xx, t_en = sa[pair], sb, ta[pair]
        if st.kind == "mcl":
            contrast = ((en @ xx.T - t_en @ t_en.T) ** 2).mean()
        else:
            logits = xx @ en.T / st.temperature
            labels = torch.arange(len(en), device=logits.device)
            contrast = 0.5 * (F.cross_entropy(logits, labels) +
                              F.cross_entropy(logits.T, labels))
        parts[st.kind] = contrast.item()
        return contrast + st.mse_weight * kd, parts
