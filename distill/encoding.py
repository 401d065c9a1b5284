"""What teacher and student share: tokenise, batch by length, pad, pool, normalise.

torch is imported only by the functions that run a model, so a bundle run through ONNX
Runtime never loads it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from distill.progress import progress_bar

if TYPE_CHECKING:
    import torch

log = logging.getLogger("edgekit")

# forward(input_ids, attention_mask) -> (batch, dim) L2-normalised embeddings
Forward = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def tokenize(tokenizer: Tokenizer, texts: Sequence[str], max_len: int,
             prefix: str = "", warn: bool = True) -> list[list[int]]:
    """Token ids with special tokens; over-long texts keep their head and closing token."""
    encodings = tokenizer.encode_batch([prefix + t for t in texts])
    ids = [e.ids for e in encodings]
    too_long = sum(len(x) > max_len for x in ids)
    if too_long and warn:
        log.warning("%d text(s) longer than %d tokens were truncated", too_long, max_len)
    if too_long:
        ids = [x if len(x) <= max_len else x[: max_len - 1] + x[-1:] for x in ids]
    return ids


def native_bfloat16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 matmuls natively (AVX-512 BF16 or AMX on a CPU),
    where they take about half the time of float32; elsewhere they are emulated, slower."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and (torch.cpu._is_avx512_bf16_supported()
                                     or torch.cpu._is_amx_tile_supported())


def pad_arrays(batch: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 (ids, attention mask) of a batch padded to its longest row."""
    width = max(len(x) for x in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
    return ids, mask


def pad_batch(batch: Sequence[Sequence[int]], pad_id: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """`pad_arrays` as torch tensors."""
    import torch

    ids, mask = pad_arrays(batch, pad_id)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped so each batch holds texts of similar length (little padding)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def encode_ids(forward: Forward, ids: Sequence[Sequence[int]], pad_id: int,
               batch_size: int = 64, progress: bool = False, desc: str = "encode") -> np.ndarray:
    import torch

    out: np.ndarray | None = None
    batches = length_batches([len(x) for x in ids], batch_size)
    with torch.inference_mode():
        for index in progress_bar(batches, desc=desc, disable=not progress, unit="batch",
                                  leave=False):
            emb = forward(*pad_batch([ids[i] for i in index], pad_id)).float().numpy()
            if out is None:
                out = np.zeros((len(ids), emb.shape[1]), dtype=np.float32)
            out[index] = emb
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def token_outputs(forward: Forward, ids: Sequence[Sequence[int]], pad_id: int,
                  batch_size: int = 64) -> list[np.ndarray]:
    """Per-token outputs (B, T, n) of padded, length-bucketed batches, one (len, n) array
    per input, padding cut off."""
    import torch

    out: list[np.ndarray] = [np.zeros((0, 0), dtype=np.float32)] * len(ids)
    with torch.inference_mode():
        for index in length_batches([len(x) for x in ids], batch_size):
            result = forward(*pad_batch([ids[i] for i in index], pad_id)).float().numpy()
            for row, i in enumerate(index):
                out[i] = result[row, : len(ids[i])]
    return out
