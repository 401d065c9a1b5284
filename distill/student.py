"""The student: a bottlenecked, parameter-recurrent sentence encoder in plain PyTorch.

    ids -> Embedding(vocab, E) -> Linear(E, H) + positions -> LayerNorm
        -> [k shared transformer layers] applied r times -> mean pool -> L2 norm

Factorised embeddings (Ding et al. 2022) keep the vocabulary table small; sharing k layers
across r passes keeps the depth without the parameters. Written for `torch.export`: no HF
modeling code, the attention mask is an additive float mask built with plain arithmetic,
pooling and normalisation are inside the graph.

A saved student is a folder: config.json, model.safetensors, tokenizer.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from torch import nn

from distill.encoding import encode_ids, mean_pool, tokenize
from distill.errors import EdgekitError
from distill.fsutil import atomic_dir

FORMAT = "edgekit.student/1"


@dataclass
class StudentConfig:
    vocab_size: int
    embed_dim: int = 128          # E, the bottleneck
    hidden_size: int = 384        # H
    num_layers: int = 3           # k distinct layers ...
    num_recurrences: int = 2      # ... each stack applied r times
    teacher_layers: list[int] = field(default_factory=list)  # the teacher layers the k start
                                                             # from (empty: its first k)
    num_heads: int = 12
    intermediate_size: int = 1536
    max_len: int = 128
    pad_id: int = 1
    layer_norm_eps: float = 1e-12
    common_directions: int = 0    # sentence embeddings, n > 0: centred on the training
                                  # text, then its top n principal directions removed
    language_directions: int = 0  # ... and, m > 0, the top m principal directions of its
                                  # languages' mean embeddings (what tells them apart)
    embedding_bits: int = 0       # the table's rows in the int8 export: 4 or 8 (0: chosen
                                  # by E, `export.bundle.default_embedding_bits`)
    teacher: str = ""
    labels: list[str] = field(default_factory=list)  # token classification: the tag set

    @property
    def task(self) -> str:
        return "token-classification" if self.labels else "sentence-embedding"

    @property
    def effective_layers(self) -> int:
        return self.num_layers * self.num_recurrences


class EncoderLayer(nn.Module):
    """Post-norm BERT layer, named so the teacher's weights map one to one."""

    def __init__(self, c: StudentConfig):
        super().__init__()
        H = c.hidden_size
        self.num_heads = c.num_heads
        self.scale = (H // c.num_heads) ** -0.5
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.attn_out = nn.Linear(H, H)
        self.attn_norm = nn.LayerNorm(H, eps=c.layer_norm_eps)
        self.ffn_in = nn.Linear(H, c.intermediate_size)
        self.ffn_out = nn.Linear(c.intermediate_size, H)
        self.ffn_norm = nn.LayerNorm(H, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, attn_bias: torch.Tensor) -> torch.Tensor:
        B, T, H = x.shape
        h, d = self.num_heads, H // self.num_heads
        def heads(t: torch.Tensor) -> torch.Tensor:  # (B * heads, T, d)
            return t.view(B, T, h, d).transpose(1, 2).reshape(B * h, T, d)
        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        # written out, not F.scaled_dot_product_attention: exported, that op decomposes into
        # a "safe softmax" (eq/any/where over B x heads x T x T) which XNNPACK does not take,
        # and those portable kernels cost a quarter of the int8 program's time at 128 tokens.
        # 3-D bmm, not a 4-D matmul: exported, that broadcasts both operands with
        # expand_copy, a portable kernel outside the delegate
        scores = torch.bmm(q, k.transpose(1, 2)).view(B, h, T, T) * self.scale + attn_bias
        ctx = torch.bmm(scores.softmax(-1).view(B * h, T, T), v)
        x = self.attn_norm(x + self.attn_out(ctx.view(B, h, T, d).transpose(1, 2).reshape(B, T, H)))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class Student(nn.Module):
    def __init__(self, config: StudentConfig):
        super().__init__()
        c = self.config = config
        self.token_embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.embed_proj = nn.Linear(c.embed_dim, c.hidden_size, bias=False)
        self.pos_embed = nn.Embedding(c.max_len, c.hidden_size)
        self.embed_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.num_layers))
        if c.labels:
            self.classifier = nn.Linear(c.hidden_size, len(c.labels))
        # all-but-the-top, set by `calibrate` after training; zeros change nothing
        self.register_buffer("center", torch.zeros(c.hidden_size))
        self.register_buffer("directions", torch.zeros(
            c.common_directions + c.language_directions, c.hidden_size))
        # False in the exported program: a bundle applies the calibration after it, in float
        self.post_processing = True

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embed_proj(self.token_embed(input_ids)) + self.pos_embed(positions)
        return self.embed_norm(x)

    @staticmethod
    def attention_bias(attention_mask: torch.Tensor) -> torch.Tensor:
        """Additive mask (0 keep, -1e4 drop), (B, 1, 1, T): broadcasts over heads/queries."""
        return ((1.0 - attention_mask.to(torch.float32)) * -1e4)[:, None, None, :]

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor
                      ) -> torch.Tensor:
        x = self.embed(input_ids)
        attn_bias = self.attention_bias(attention_mask)
        for _ in range(self.config.num_recurrences):
            for layer in self.layers:
                x = layer(x, attn_bias)
        return x

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The L2-normalised sentence embedding (B, H), or with labels the per-token logits
        (B, T, len(labels))."""
        hidden = self.hidden_states(input_ids, attention_mask)
        if self.config.labels:
            return self.classifier(hidden)
        embedding = F.normalize(mean_pool(hidden, attention_mask), dim=-1)
        return self.post_process(embedding) if self.post_processing else embedding

    @property
    def calibrated(self) -> bool:
        return bool(self.center.any())

    def post_process(self, embedding: torch.Tensor) -> torch.Tensor:
        """Centre, remove the common directions, normalise again: every embedding shares a
        large component (mean cosine ~0.9 between unrelated texts), and what is left carries
        the graded similarity."""
        e = embedding - self.center
        e = e - (e @ self.directions.T) @ self.directions
        return F.normalize(e, dim=-1)

    @torch.no_grad()
    def clear_calibration(self) -> None:
        """Back to the raw embedding (what `calibrate` takes)."""
        self.center.zero_()
        self.directions.zero_()

    @torch.no_grad()
    def calibrate(self, raw: torch.Tensor, by_language: Sequence[torch.Tensor] = ()) -> None:
        """All-but-the-top (Mu & Viswanath, 2018) from `raw`, the normalised embeddings
        (before `post_process`) of a sample of training text: their mean, then the top
        `common_directions` principal directions of what is left; then the top
        `language_directions` principal directions of the mean embeddings of `by_language`
        (one tensor of raw embeddings per language), once cleared of the first: a sentence
        and its translation should not differ by where their languages sit. Directions
        beyond what the languages span stay zero (they change nothing)."""
        c = self.config
        self.center.copy_(raw.mean(0))
        self.directions.zero_()
        common = raw.new_zeros(0, c.hidden_size)
        if c.common_directions:
            _, _, vt = torch.linalg.svd(raw - self.center, full_matrices=False)
            common = vt[:c.common_directions]
            self.directions[:c.common_directions] = common
        if c.language_directions and len(by_language) > 1:
            means = []  # in float64: what is left of the means once cleared can be small
            center, common = self.center.double(), common.double()
            for lang in by_language:
                e = lang.double() - center
                means.append((e - (e @ common.T) @ common).mean(0))
            means = torch.stack(means)
            _, _, vt = torch.linalg.svd(means - means.mean(0), full_matrices=False)
            found = vt[:min(c.language_directions, len(by_language) - 1)]
            self.directions[c.common_directions:c.common_directions + len(found)] = found.float()


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ init from the teacher

_TEACHER_LAYER = {
    "query": "attention.self.query", "key": "attention.self.key",
    "value": "attention.self.value", "attn_out": "attention.output.dense",
    "attn_norm": "attention.output.LayerNorm", "ffn_in": "intermediate.dense",
    "ffn_out": "output.dense", "ffn_norm": "output.LayerNorm",
}


def _teacher_state(teacher_model: nn.Module) -> tuple[dict, str]:
    sd = teacher_model.state_dict()
    # a bare BertModel names its tensors "embeddings...", a wrapped one "bert.embeddings..."
    prefix = next(k for k in sd if k.endswith("embeddings.word_embeddings.weight"))[
        : -len("embeddings.word_embeddings.weight")]
    return sd, prefix


def _copy_body(student: Student, sd: dict, prefix: str,
               neuron_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = None
               ) -> None:
    """Positions (absorbing token type 0), the embedding LayerNorm, k layers (`teacher_layers`,
    or the first k) and a token-classification teacher's classifier."""
    pos = sd[f"{prefix}embeddings.position_embeddings.weight"][: student.config.max_len]
    types = sd.get(f"{prefix}embeddings.token_type_embeddings.weight")
    student.pos_embed.weight.copy_(pos + (types[0] if types is not None else 0))
    student.embed_norm.weight.copy_(sd[f"{prefix}embeddings.LayerNorm.weight"])
    student.embed_norm.bias.copy_(sd[f"{prefix}embeddings.LayerNorm.bias"])
    sources = student.config.teacher_layers or range(student.config.num_layers)
    for i, layer in zip(sources, student.layers, strict=True):
        def theirs(ours: str, part: str, i: int = i) -> torch.Tensor:
            return sd[f"{prefix}encoder.layer.{i}.{_TEACHER_LAYER[ours]}.{part}"]

        w_out = theirs("ffn_out", "weight").float()
        size = student.config.intermediate_size
        stats = (neuron_stats or {}).get(i)
        if stats is None:
            keep = _kept_neurons(theirs("ffn_in", "weight"), w_out, size)
            compensation = torch.zeros(w_out.shape[0])
        else:
            mean, std = stats
            keep = (std * w_out.norm(dim=0)).topk(size).indices.sort().values
            dropped = torch.ones(w_out.shape[1], dtype=torch.bool)
            dropped[keep] = False
            compensation = w_out[:, dropped] @ mean[dropped]
        for ours in _TEACHER_LAYER:
            weight, bias = theirs(ours, "weight"), theirs(ours, "bias")
            if ours == "ffn_in":  # a narrower feed-forward: the kept neurons' rows ...
                weight, bias = weight[keep], bias[keep]
            elif ours == "ffn_out":  # ... and columns; the dropped ones' mean output kept
                weight, bias = weight[:, keep], bias + compensation.to(bias.dtype)
            getattr(layer, ours).weight.copy_(weight)
            getattr(layer, ours).bias.copy_(bias)
    if student.config.labels:
        student.classifier.weight.copy_(sd["classifier.weight"])
        student.classifier.bias.copy_(sd["classifier.bias"])


def _kept_neurons(ffn_in: torch.Tensor, ffn_out: torch.Tensor, size: int) -> torch.Tensor:
    """The `size` feed-forward neurons of a teacher layer a narrower student keeps, without
    text to measure them on: those whose input and output weights have the largest norms
    (the product: a neuron matters only if it both fires and writes back), in their
    original order."""
    score = ffn_in.float().norm(dim=1) * ffn_out.float().norm(dim=0)
    return score.topk(size).indices.sort().values


@torch.no_grad()
def neuron_statistics(teacher_model: nn.Module, batches: Iterable[tuple[torch.Tensor,
                                                                         torch.Tensor]],
                      layers: Iterable[int]) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Each feed-forward neuron's activation (after GELU) over the real pieces of `batches`
    ((ids, mask) in the teacher's vocabulary): its mean and standard deviation, for the
    teacher `layers`. What a narrower student keeps from them: the neurons whose output
    varies most (std x the norm of their output weights); the mean output of the others is
    constant and goes into the bias, which a layer norm then sees unchanged (the
    fluctuation criterion of An et al. 2024, FLAP)."""
    sums: dict[int, tuple] = {}  # layer: (pieces, sum, sum of squares)
    modules = dict(teacher_model.named_modules())
    hooks, current = [], {}
    for i in layers:
        name = next(n for n in modules if n.endswith(f"encoder.layer.{i}.intermediate"))
        hooks.append(modules[name].register_forward_hook(
            lambda _m, _x, out, i=i: current.__setitem__(i, out)))
    try:
        for ids, mask in batches:
            current.clear()
            teacher_model(input_ids=ids, attention_mask=mask)
            keep = mask.bool()
            for i, act in current.items():
                a = act[keep].double()
                count, total, squares = sums.get(i, (0, 0.0, 0.0))
                sums[i] = (count + len(a), total + a.sum(0), squares + (a * a).sum(0))
    finally:
        for h in hooks:
            h.remove()
    stats = {}
    for i, (count, total, squares) in sums.items():
        mean = total / count
        std = (squares / count - mean * mean).clamp(min=0).sqrt()
        stats[i] = (mean.float(), std.float())
    return stats


@torch.no_grad()
def init_from_teacher(student: Student, teacher_model: nn.Module, old_ids: list[int],
                      piece_mass: list[float] | None = None,
                      neuron_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = None
                      ) -> None:
    """Embeddings: the kept rows of the teacher's table, factorised by truncated SVD into
    (vocab x E)(E x H). With `piece_mass` (how often each piece occurs), the SVD is weighted
    by it: rows scaled by sqrt(mass) before, unscaled after, so the E directions kept are
    those of the text the student will see, not of rare pieces. Positions, embedding norm
    and k layers: copied; with a narrower feed-forward, the neurons `neuron_stats` (from
    `neuron_statistics`) says vary most, or without them the strongest (`_kept_neurons`)."""
    sd, prefix = _teacher_state(teacher_model)
    word = sd[f"{prefix}embeddings.word_embeddings.weight"][old_ids].float()
    E = student.config.embed_dim
    scale = torch.ones(len(old_ids), 1)
    if piece_mass is not None:
        mass = torch.tensor(piece_mass, dtype=torch.float32)
        floor = mass[mass > 0].min() if (mass > 0).any() else torch.tensor(1.0)
        scale = mass.clamp(min=float(floor)).sqrt().unsqueeze(1)  # unseen pieces: the rarest
    _, S, Vh = torch.linalg.svd(word * scale, full_matrices=False)
    r = min(E, S.numel())  # a tiny vocabulary has rank below E: the rest starts at zero
    student.token_embed.weight.zero_()
    student.embed_proj.weight.zero_()
    # each row projected onto the top-r directions: the rank-r table closest to the teacher's
    student.token_embed.weight[:, :r] = word @ Vh[:r].T
    student.embed_proj.weight[:, :r] = Vh[:r].T
    _copy_body(student, sd, prefix, neuron_stats)


def teacher_layers_fit(chosen: list, num_layers: int, teacher_layers: int | None = None
                       ) -> bool:
    """Whether `chosen` (empty: the first k) names `num_layers` distinct layers, within the
    teacher's `teacher_layers` when that is known."""
    limit = teacher_layers if teacher_layers is not None else float("inf")
    return not chosen or (len(chosen) == num_layers and len(set(chosen)) == len(chosen)
                          and all(isinstance(i, int) and 0 <= i < limit for i in chosen))


def check_shape_matches_teacher(config: StudentConfig, teacher_config) -> None:
    if config.hidden_size != teacher_config.hidden_size:
        raise EdgekitError(f"hidden_size {config.hidden_size} must equal the teacher's "
                           f"({teacher_config.hidden_size}) to start from its layers")
    if config.intermediate_size > teacher_config.intermediate_size:
        raise EdgekitError(f"intermediate_size {config.intermediate_size} exceeds the "
                           f"teacher's ({teacher_config.intermediate_size}): a narrower "
                           "student keeps a subset of its feed-forward neurons")
    if config.num_layers > teacher_config.num_hidden_layers:
        raise EdgekitError(f"num_layers {config.num_layers} exceeds the teacher's "
                           f"{teacher_config.num_hidden_layers} layers")
    chosen, n = config.teacher_layers, teacher_config.num_hidden_layers
    if not teacher_layers_fit(chosen, config.num_layers, n):
        raise EdgekitError(f"teacher_layers {chosen} must name {config.num_layers} distinct "
                           f"layers of the teacher's 0..{n - 1}")
    if config.max_len > teacher_config.max_position_embeddings:
        raise EdgekitError(f"max_len {config.max_len} exceeds the teacher's "
                           f"{teacher_config.max_position_embeddings} positions")


# ------------------------------------------------------------------ the folder

def save_student(model: Student, tokenizer_json: dict, out_dir: Path,
                 extra: dict | None = None) -> None:
    """Write the student folder atomically: config.json, model.safetensors, tokenizer.json."""
    with atomic_dir(out_dir) as tmp:
        config = {"format": FORMAT, **asdict(model.config), **(extra or {})}
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, tmp / "model.safetensors", metadata={"format": "pt"})
        (tmp / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False),
                                            encoding="utf-8")


def is_student_folder(path: Path) -> bool:
    cfg = Path(path) / "config.json"
    if not cfg.is_file():
        return False
    try:
        raw = json.loads(cfg.read_text("utf-8"))
    except (ValueError, OSError) as e:
        raise EdgekitError(f"{cfg} is not valid JSON ({e})") from None
    return isinstance(raw, dict) and raw.get("format") == FORMAT


class StudentEncoder:
    """A student with its tokenizer, ready to encode text."""

    def __init__(self, model: Student, tokenizer: Tokenizer, name: str = "student",
                 info: dict | None = None):
        self.model, self.tokenizer, self.name = model.eval(), tokenizer, name
        self.info = info or {}
        self.config = model.config
        self.dim, self.max_len, self.pad_id = (self.config.hidden_size, self.config.max_len,
                                               self.config.pad_id)

    @classmethod
    def load(cls, folder: Path) -> StudentEncoder:
        folder = Path(folder)
        if not is_student_folder(folder):
            raise EdgekitError(f"{folder} is not an edgekit student folder (config.json with "
                               f"format {FORMAT}); train one with `edgekit distill`")
        raw = json.loads((folder / "config.json").read_text())
        try:
            config = StudentConfig(**{f.name: raw[f.name] for f in fields(StudentConfig)
                                      if f.name in raw})
            model = Student(config)
            state = load_file(folder / "model.safetensors")
            # students saved before calibration existed: no centring
            state.setdefault("center", torch.zeros(config.hidden_size))
            state.setdefault("directions", torch.zeros(0, config.hidden_size))
            model.load_state_dict(state)
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # wrong types, shapes, a truncated file: the folder is damaged
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise EdgekitError(f"student folder {folder} is damaged: {reason}") from None
        return cls(model, tokenizer, str(folder), raw)

    def num_parameters(self) -> int:
        return num_parameters(self.model)

    def tokenize(self, texts) -> list[list[int]]:
        return tokenize(self.tokenizer, texts, self.max_len)

    def encode(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return encode_ids(self.model, self.tokenize(texts), self.pad_id, batch_size, progress,
                          desc="student")


@torch.no_grad()
def student_from_teacher(teacher) -> Student:
    """The teacher rewritten as a plain `Student` computing the same function, so it exports
    through the same code: E = H with an identity projection, all its layers, r = 1."""
    c = teacher.model.config
    if teacher.pooling != "mean":
        raise EdgekitError(f"teacher {teacher.name} pools with {teacher.pooling}; only mean "
                           "pooling teachers can be exported")
    if getattr(c, "hidden_act", "gelu") != "gelu":
        raise EdgekitError(f"teacher activation {c.hidden_act} is not supported (gelu only)")
    config = StudentConfig(
        vocab_size=c.vocab_size, embed_dim=c.hidden_size, hidden_size=c.hidden_size,
        num_layers=c.num_hidden_layers, num_recurrences=1, num_heads=c.num_attention_heads,
        intermediate_size=c.intermediate_size, max_len=teacher.max_len, pad_id=teacher.pad_id,
        layer_norm_eps=c.layer_norm_eps, teacher=teacher.name)
    model = Student(config)
    sd, prefix = _teacher_state(teacher.model)
    model.token_embed.weight.copy_(sd[f"{prefix}embeddings.word_embeddings.weight"])
    model.embed_proj.weight.copy_(torch.eye(c.hidden_size))
    _copy_body(model, sd, prefix)
    return model.eval()
