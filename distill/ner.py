"""Named-entity recognition: IOB2 data, words to sub-tokens, tagging and entity-level F1.

A sentence is a list of words. The model sees each word encoded on its own (the same ids as
`tokenizer.encode(words, is_pretokenized=True)`); a word's label sits on its first sub-token
and every other position is ignored (-100) in training. Free text is cut into words by
`split_words`, the rule the Android app implements too: runs of letters, digits and marks are
words, every other visible character (punctuation, each CJK character) is a word of its own.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from distill.errors import EdgekitError

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
IGNORE = -100
WORD_RULE = "edgekit.words/1"

# logits(list of token-id lists) -> one (len(ids), num_labels) array per list
Logits = Callable[[Sequence[Sequence[int]]], Sequence[np.ndarray]]


@dataclass
class Sentence:
    lang: str
    words: list[str]
    tags: list[str]


# ------------------------------------------------------------------ reading

def read_iob2(path: Path, lang: str = "") -> list[Sentence]:
    """Universal NER's IOB2 files: `# comment` lines, `index TAB word TAB tag ...`, a blank
    line between sentences."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if words:
                    sentences.append(Sentence(lang, words, tags))
                words, tags = [], []
                continue
            cols = line.split("\t")
            if len(cols) < 3:
                raise EdgekitError(f"{path}:{n}: expected index, word and tag separated by "
                                   f"tabs, got {line[:60]!r}")
            words.append(cols[1])
            tags.append(cols[2])
    if words:
        sentences.append(Sentence(lang, words, tags))
    return sentences


def read_ner_folder(folder: str | Path) -> list[Sentence]:
    """Every `<lang>_*.iob2` in a folder (Universal NER's naming: en_ewt-ud-dev.iob2)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EdgekitError(f"NER data {folder}: no such folder")
    files = sorted(folder.glob("*.iob2"))
    if not files:
        raise EdgekitError(f"NER data {folder}: no *.iob2 files (Universal NER format)")
    return [s for f in files for s in read_iob2(f, f.name.split("_")[0])]


def is_dev(sentence: Sentence, percent: float = 5.0) -> bool:
    """A stable held-out split for logs: by a hash of the words."""
    digest = hashlib.sha1(" ".join(sentence.words).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10000 < percent * 100


_CJK = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
        (0xAC00, 0xD7AF), (0x20000, 0x2FA1F))
_SPACE = set("\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f\u0085")


def char_class(c: str) -> str:
    """space, cjk, word (letters, marks, numbers, _) or other."""
    cat = unicodedata.category(c)
    if c in _SPACE or cat[0] == "Z":
        return "space"
    if any(a <= ord(c) <= b for a, b in _CJK):
        return "cjk"
    return "word" if cat[0] in "LMN" or c == "_" else "other"


def split_words(text: str) -> list[tuple[int, int]]:
    """Word spans (start, end) in `text`: runs of letters, marks and numbers, each CJK
    character, each other non-space character. The Android app applies the same rule."""
    spans: list[tuple[int, int]] = []
    run = None
    for i, c in enumerate(text):
        kind = char_class(c)
        if kind == "word":
            run = i if run is None else run
            continue
        if run is not None:
            spans.append((run, i))
            run = None
        if kind != "space":
            spans.append((i, i + 1))
    if run is not None:
        spans.append((run, len(text)))
    return spans


def words_of(text: str) -> list[str]:
    return [text[a:b] for a, b in split_words(text)]


# ------------------------------------------------------------------ words -> sub-tokens

def encode_words(tokenizer: Tokenizer, words: Sequence[str], max_len: int
                 ) -> tuple[list[int], list[int]]:
    """(ids with special tokens, position of each word's first sub-token or -1 when it was
    cut off by max_len)."""
    enc = tokenizer.encode(list(words), is_pretokenized=True) if words else \
        tokenizer.encode("")
    ids, word_ids = list(enc.ids), list(enc.word_ids)
    if len(ids) > max_len:  # keep the head and the closing special token
        ids, word_ids = ids[: max_len - 1] + ids[-1:], word_ids[: max_len - 1] + [None]
    first = [-1] * len(words)
    for pos, w in enumerate(word_ids):
        if w is not None and first[w] < 0:
            first[w] = pos
    return ids, first


def token_labels(first: Sequence[int], tags: Sequence[str], length: int,
                 labels: Sequence[str] = LABELS) -> list[int]:
    """Label ids on first sub-tokens, IGNORE elsewhere; a tag outside `labels` counts as O."""
    index = {tag: i for i, tag in enumerate(labels)}
    out = [IGNORE] * length
    for pos, tag in zip(first, tags, strict=True):
        if pos >= 0:
            out[pos] = index.get(tag, index["O"])
    return out


def word_tags(logits: np.ndarray, first: Sequence[int], labels: Sequence[str]) -> list[str]:
    """Each word's tag: the argmax at its first sub-token ("O" for words cut off)."""
    return [labels[int(logits[pos].argmax())] if pos >= 0 else "O" for pos in first]


def tag_sentences(logits: Logits, tokenizer: Tokenizer, sentences: Sequence[Sequence[str]],
                  max_len: int, labels: Sequence[str] = LABELS) -> list[list[str]]:
    encoded = [encode_words(tokenizer, words, max_len) for words in sentences]
    outputs = logits([ids for ids, _ in encoded])
    return [word_tags(out, first, labels) for out, (_, first) in zip(outputs, encoded,
                                                                      strict=True)]


# ------------------------------------------------------------------ entities and F1

def entities(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """(first word, end word, type) spans, seqeval-style: an I- that does not continue an
    entity of its type starts one."""
    spans, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, t = tag.partition("-")
        if kind is not None and (prefix != "I" or t != kind):
            spans.add((start, i, kind))
            kind = None
        if prefix in ("B", "I") and kind is None:
            start, kind = i, t
    return spans


def f1_score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Entity-level precision, recall and F1 (x100): exact span and type."""
    tp = n_gold = n_pred = 0
    for g, p in zip(gold, pred, strict=True):
        eg, ep = entities(g), entities(p)
        tp += len(eg & ep)
        n_gold += len(eg)
        n_pred += len(ep)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(100 * precision, 2), "recall": round(100 * recall, 2),
            "f1": round(100 * f1, 2), "entities": n_gold}


def evaluate_pud(logits: Logits, tokenizer: Tokenizer, pud_dir: str | Path, max_len: int,
                 labels: Sequence[str] = LABELS) -> dict:
    """Entity-level F1 per language on Universal NER's PUD test sets (`<lang>_pud-*.iob2`)."""
    result = {}
    for path in sorted(Path(pud_dir).glob("*.iob2")):
        sentences = read_iob2(path)
        pred = tag_sentences(logits, tokenizer, [s.words for s in sentences], max_len, labels)
        result[path.name.split("_")[0]] = f1_score([s.tags for s in sentences], pred)
    if not result:
        raise EdgekitError(f"{pud_dir}: no *.iob2 files (Universal NER PUD format)")
    return {"languages": result,
            "mean": round(float(np.mean([r["f1"] for r in result.values()])), 2)}


def iter_words(texts: Sequence[str]) -> Iterator[list[str]]:
    for text in texts:
        words = words_of(text)
        if words:
            yield words
