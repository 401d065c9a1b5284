"""Export a student to one self-contained ONNX file, and its ONNX Runtime int8 variant.

Inputs input_ids and attention_mask (int64, shape (batch, seq), both dynamic); output
sentence_embedding (float32, (batch, dim), L2-normalised), or for a tagger token_logits
(float32, (batch, seq, labels)).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch.export import Dim

from distill.student import Student

INPUTS = ["input_ids", "attention_mask"]
OUTPUTS = {"sentence-embedding": "sentence_embedding", "token-classification": "token_logits"}


def fold_weight_transposes(model: onnx.ModelProto) -> None:
    """Replace Transpose(initializer) nodes by a transposed initializer.

    The exporter leaves them unfolded for weights used more than once, which is every weight
    of a parameter-recurrent student, and ONNX Runtime's quantiser only quantises MatMuls whose
    weight is an initializer."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    folded: dict[tuple, str] = {}
    renamed: dict[str, str] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "Transpose" and node.input[0] in inits:
            perm = next((tuple(a.ints) for a in node.attribute if a.name == "perm"), None)
            key = (node.input[0], perm)
            if key not in folded:
                array = numpy_helper.to_array(inits[node.input[0]])
                name = f"{node.input[0]}.T{len(folded)}"
                graph.initializer.append(numpy_helper.from_array(
                    np.ascontiguousarray(np.transpose(array, perm)), name))
                folded[key] = name
            renamed[node.output[0]] = folded[key]
        else:
            kept.append(node)
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
    used = {name for node in kept for name in node.input}
    live = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(live)


def to_onnx(model: Student, path: Path, precision: str, embedding_bits: int = 8) -> None:
    """Write `model` as ONNX; precision "fp32" or "int8" (dynamic int8 MatMuls, the token
    table in 8-bit rows or, with `embedding_bits = 4`, 4-bit ones)."""
    if precision not in ("fp32", "int8"):
        raise ValueError(f"precision must be fp32 or int8, not {precision}")
    path = Path(path)
    ids = torch.ones((2, 8), dtype=torch.long)
    batch, seq = Dim("batch", min=1, max=4096), Dim("seq", min=1, max=model.config.max_len)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on axis names and pytree
        program = torch.onnx.export(
            model.eval(), (ids, torch.ones_like(ids)), dynamo=True, input_names=INPUTS,
            output_names=[OUTPUTS[model.config.task]], verbose=False,
            dynamic_shapes={"input_ids": {0: batch, 1: seq},
                            "attention_mask": {0: batch, 1: seq}})
    proto = program.model_proto
    fold_weight_transposes(proto)
    fp32_path = path if precision == "fp32" else path.with_suffix(".fp32.onnx")
    onnx.save(proto, fp32_path)
    if precision == "int8":
        try:
            quantize_int8(fp32_path, path, ["MatMul"] + (["Gather"] if embedding_bits == 8
                                                         else []))
        finally:
            fp32_path.unlink()
        if embedding_bits == 4:
            table_in_4bit_rows(path)


def quantize_int8(fp32_path: Path, path: Path, op_types: list[str]) -> None:
    """ONNX Runtime's dynamic int8 of `op_types`: activations quantised at run time, weights
    per channel (one scale per output row keeps cosine > 0.999 where a single per-tensor
    scale fell to 0.99 on a small student)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_path, path, weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=op_types)


def table_in_4bit_rows(path: Path) -> None:
    """The token table as GatherBlockQuantized, 4-bit rows in blocks of 64 columns with a
    scale and zero point each (asymmetric, 64: both measured closer to fp32 than symmetric
    or 128 on the default student). Like the .pte's 4-bit rows, it is what keeps a wide
    table's model small, and ONNX Runtime's memory with it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    # the module configures the root logger at INFO when imported; put it back
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root.handlers[:] = handlers
    root.setLevel(level)
    proto = onnx.load(str(path))
    others = [n.name for n in proto.graph.node
              if n.op_type == "Gather" and n.input[0] != "token_embed.weight"]
    quantizer = MatMulNBitsQuantizer(proto, bits=4, block_size=64, is_symmetric=False,
                                     op_types_to_quantize=("Gather",),
                                     quant_axes=(("Gather", 1),), nodes_to_exclude=others)
    quantizer.process()
    quantizer.model.save_model_to_file(str(path))
