"""Lower a student to an ExecuTorch program (.pte) with the XNNPACK delegate.

The handful of explicit calls from ExecuTorch's examples: torch.export with a dynamic sequence
length -> (int8: PT2E dynamic quantisation of the linear layers, then re-export) ->
to_edge_transform_and_lower(XnnpackPartitioner) -> to_executorch. The on-device program takes
batch size 1: input_ids and attention_mask, int64, shape (1, T) with 1 <= T <= max_len.

The embedding table is quantised by hand (per-row symmetric 8-bit, or 4-bit in groups of 128),
because PT2E leaves it in fp32 and it would dominate the file; turned first by a fixed
orthogonal matrix that the projection after it takes back, so that no row's one large value
sets its scale (`spread_table`). It runs as ExecuTorch's
`quantized_decomposed::embedding_byte` / `embedding_4bit` kernels, which the Android AAR and
the Python runtime (see `export.runtimes`) both carry.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.export import Dim, ExportedProgram, export

from distill.student import Student

# groups of 128 cost the default student's untrained start the same Tatoeba as groups of 32
# (50.7), with a quarter of the scales
GROUP_SIZE_4BIT = 128


def least_error_scales(groups: torch.Tensor, qmax: int) -> torch.Tensor:
    """Each group's scale: of the clipping points from half its largest value to all of it,
    the one with the least squared rounding error (clipping a rare large value rounds the
    many small ones more finely)."""
    amax = groups.abs().amax(-1)
    best, err = amax, torch.full_like(amax, float("inf"))
    for ratio in torch.linspace(0.5, 1.0, 11).tolist():
        scales = (amax * ratio / qmax).clamp(min=1e-10)
        q = torch.round(groups / scales[..., None]).clamp(-qmax - 1, qmax)
        e = ((q * scales[..., None] - groups) ** 2).sum(-1)
        better = e < err
        best, err = torch.where(better, scales, best), torch.where(better, e, err)
    return best


def spread_table(model: Student) -> torch.Tensor:
    """The embedding table turned by a fixed random orthogonal matrix R, with R folded into
    the projection after it (x R R^T = x: the same model in float). Some pieces' rows (</s>,
    which every text ends with, above all) hold one value far above the rest, which sets
    their scale and rounds the rest to zero; turned, each row's size spreads over all its
    values (the default's 4-bit table: </s> keeps cosine 0.993 to its float row, not 0.966)."""
    e = model.config.embed_dim
    rotation, _ = torch.linalg.qr(torch.randn(e, e, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        model.embed_proj.weight.copy_(model.embed_proj.weight @ rotation)
        return model.token_embed.weight.detach() @ rotation


class QuantizedEmbedding(nn.Module):
    """An nn.Embedding stored as int8 (or packed int4) rows with float scales."""

    def __init__(self, weight: torch.Tensor, bits: int):
        super().__init__()
        if bits not in (4, 8):
            raise ValueError(f"embedding bits must be 4 or 8, not {bits}")
        w = weight.detach().float()
        V, E = w.shape
        group = E if bits == 8 else min(E, GROUP_SIZE_4BIT)
        if E % group:
            raise ValueError(f"4-bit embeddings need a width divisible by {group}, not {E}")
        qmax = 127 if bits == 8 else 7
        groups = w.view(V, E // group, group)
        scales = least_error_scales(groups, qmax)
        q = torch.round(groups / scales[..., None]).clamp(-qmax - 1, qmax).to(torch.int8)
        q = q.view(V, E)
        if bits == 4:  # two values per byte, high nibble first, offset by 8
            pairs = (q + 8).to(torch.uint8).view(V, E // 2, 2)
            q = pairs[..., 0] * 16 + pairs[..., 1]
        self.bits = bits
        self.register_buffer("weight", q.contiguous())
        self.register_buffer("scales", scales.squeeze(-1) if bits == 8 else scales)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.bits == 8:
            return torch.ops.quantized_decomposed.embedding_byte.dtype(
                self.weight, self.scales, None, -128, 127, ids, dtype=torch.float32)
        return torch.ops.quantized_decomposed.embedding_4bit.dtype(
            self.weight, self.scales, None, -8, 7, ids, dtype=torch.float32)


def _example(ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor([list(ids)], dtype=torch.long)
    return x, torch.ones_like(x)


def _export(model: nn.Module, example: tuple, max_len: int) -> ExportedProgram:
    seq = Dim("seq", min=1, max=max_len)
    return export(model, example, dynamic_shapes={"input_ids": {1: seq},
                                                  "attention_mask": {1: seq}}, strict=False)


def dynamic_int8_quantizer():
    """XNNPACK's quantiser as the int8 program uses it: per-channel int8 weights, activations
    quantised per token at run time."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    return XNNPACKQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))


def _quantize_linears(ep: ExportedProgram, calibration: Sequence[Sequence[int]],
                      max_len: int) -> ExportedProgram:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    prepared = prepare_pt2e(ep.module(), dynamic_int8_quantizer())
    for ids in calibration:  # dynamic quantisation: weights only need one pass to observe
        prepared(*_example(ids))
    return _export(convert_pt2e(prepared), _example(calibration[0]), max_len)


def to_pte(model: Student, path: Path, precision: str, calibration: Sequence[Sequence[int]],
           embedding_bits: int = 8) -> None:
    """Write `model` as an XNNPACK-delegated .pte; precision "fp32" or "int8"."""
    import executorch.exir.passes._quant_patterns_and_replacements  # noqa: F401 (registers ops)
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    model = model.eval()
    max_len = model.config.max_len
    example = _example(calibration[0])
    if precision == "int8":
        model = copy.deepcopy(model)
        model.token_embed = QuantizedEmbedding(spread_table(model), embedding_bits)
    elif precision != "fp32":
        raise ValueError(f"precision must be fp32 or int8, not {precision}")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notes from torch.export and torchao
        ep = _export(model, example, max_len)
        if precision == "int8":
            ep = _quantize_linears(ep, calibration, max_len)
        program = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])
        Path(path).write_bytes(program.to_executorch().buffer)
