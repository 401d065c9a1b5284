"""Prune the teacher's vocabulary to what the corpus and its languages need.

Kept: every piece the teacher's tokenizer emits on the corpus, every single-character piece
(with and without the word-start marker) for the characters the languages use, and the
special tokens. Ids are renumbered in the teacher's order, so `old_ids[new_id]` maps the
student's embedding rows back to the teacher's.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer

from distill.errors import EdgekitError


def _word_markers(model: dict) -> tuple[str, str]:
    """(word-start prefix, continuation prefix) of single-character pieces."""
    if model["type"] == "Unigram":
        return "▁", ""
    if model["type"] == "WordPiece":
        return "", model.get("continuing_subword_prefix", "##")
    raise EdgekitError(f"cannot prune a {model['type']} vocabulary; "
                       "use a teacher with a Unigram or WordPiece tokenizer")


def _pieces(model: dict) -> list[str]:
    if model["type"] == "Unigram":
        return [p for p, _ in model["vocab"]]
    by_id = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    return [p for p, _ in by_id]


def _scan(tokenizer: Tokenizer, texts: Iterable[str], batch: int = 4096
          ) -> tuple[Counter[int], set[str]]:
    """How often the tokenizer emits each id on `texts`, and the characters they use (after
    normalisation), in one streamed pass."""
    used: Counter[int] = Counter()
    chars: set[str] = set()
    normalizer = tokenizer.normalizer
    texts = iter(texts)
    while part := list(itertools.islice(texts, batch)):
        for enc in tokenizer.encode_batch(part):
            used.update(enc.ids)
        for t in part:
            chars.update(normalizer.normalize_str(t) if normalizer else t)
    return used, chars


def prune(tokenizer_json: dict, texts: Iterable[str], fill_to: int = 0
          ) -> tuple[dict, list[int]]:
    """Return the student's tokenizer.json and `old_ids` (student id -> teacher id).

    With `fill_to`, the vocabulary has that size: when the text needs more pieces, the ones
    it uses least are dropped (every single character of its languages stays, so any word
    still encodes); when it needs fewer, it is topped up with the teacher's most frequent
    pieces (highest Unigram score, or lowest WordPiece id) written only in the characters the
    languages use: words the corpus lacks then stay whole instead of falling apart into
    characters."""
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    model = tokenizer_json["model"]
    start, cont = _word_markers(model)
    pieces = _pieces(model)
    used, chars = _scan(tokenizer, texts)
    singles = {start + c for c in chars} | {cont + c for c in chars} | set(chars)
    keep = {i for i, p in enumerate(pieces) if p in singles}
    keep.update(tok["id"] for tok in tokenizer_json.get("added_tokens", []))
    if model["type"] == "Unigram" and model.get("unk_id") is not None:
        keep.add(model["unk_id"])
    if model["type"] == "WordPiece":
        keep.add(model["vocab"][model.get("unk_token", "[UNK]")])
    ranked = [i for i, _ in used.most_common() if i not in keep]
    room = max(0, fill_to - len(keep)) if fill_to else len(ranked)
    keep.update(ranked[:room])
    if fill_to > len(keep):
        def rank(i: int) -> float:
            return -model["vocab"][i][1] if model["type"] == "Unigram" else i
        def written_in_corpus_chars(piece: str) -> bool:
            core = piece.removeprefix(cont) if cont else piece.removeprefix(start)
            return bool(core) and all(c in chars for c in core)
        candidates = sorted((i for i, p in enumerate(pieces)
                             if i not in keep and written_in_corpus_chars(p)), key=rank)
        keep.update(candidates[: fill_to - len(keep)])
    old_ids = sorted(keep)
    new_id = {old: new for new, old in enumerate(old_ids)}
    return _remap(tokenizer_json, old_ids, new_id), old_ids


def _remap(tj: dict, old_ids: list[int], new_id: dict[int, int]) -> dict:
    tj = json.loads(json.dumps(tj))  # deep copy
    model = tj["model"]
    if model["type"] == "Unigram":
        model["vocab"] = [model["vocab"][i] for i in old_ids]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
    else:
        pieces = _pieces(model)
        model["vocab"] = {pieces[i]: n for n, i in enumerate(old_ids)}
    for tok in tj.get("added_tokens", []):
        tok["id"] = new_id[tok["id"]]
    post = tj.get("post_processor") or {}
    processors = post.get("processors", [post])
    for proc in processors:
        for spec in (proc.get("special_tokens") or {}).values():
            spec["ids"] = [new_id[i] for i in spec["ids"]]
        for key in ("sep", "cls"):  # BertProcessing / RobertaProcessing: [token, id]
            if key in proc:
                proc[key] = [proc[key][0], new_id[proc[key][1]]]
    tj["truncation"] = None
    tj["padding"] = None
    return tj


def load_tokenizer_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
