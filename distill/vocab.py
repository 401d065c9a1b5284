"""Prune the teacher's vocabulary to what the corpus and its languages need.

Kept: every single-character piece (with and without the word-start marker) for the
characters the languages use, the special tokens, then the pieces with the most *mass*. A
piece's mass is how often it occurs per word of text, summed over sources that each weigh
the same: every language's general word frequencies (`wordfreq`: subtitles, Wikipedia, news,
web), so no language is starved by a corpus that has little of it, and the corpus itself.
Without word lists, the corpus's own counts rank the pieces. Word lists are lower-cased
and text is not (every German noun, every sentence's first word): each word's frequency is
split between its lower-case and capitalised forms by how likely the teacher's Unigram
model finds each. Ids are renumbered in the
teacher's order, so `old_ids[new_id]` maps the student's embedding rows back to the
teacher's.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer

from distill.errors import EdgekitError

log = logging.getLogger("edgekit")


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


def word_list(lang: str, size: int) -> list[tuple[str, float]]:
    """The `size` most frequent words of `lang` with their frequencies, from `wordfreq`'s
    lists (shipped inside its wheel, offline); [] for a language it does not cover."""
    import wordfreq

    code = {"nb": "nb", "no": "nb", "zh_CN": "zh", "zh_TW": "zh", "pt_BR": "pt"}.get(lang, lang)
    if code not in wordfreq.available_languages():
        return []
    words: list[tuple[str, float]] = []
    # bucket i holds the words of frequency 10^(-i/100): no tokenizer (jieba, MeCab) needed
    for i, bucket in enumerate(wordfreq.get_frequency_list(code)):
        words += [(w, 10 ** (-i / 100)) for w in bucket]
        if len(words) >= size:
            break
    return words[:size]


def capitalised(word: str, lang: str) -> str:
    """`word` as it starts a sentence (and as German writes every noun)."""
    first = word[:1]
    if lang in ("tr", "az"):  # dotted and dotless i
        first = {"i": "İ", "ı": "I"}.get(first, first)
    return first.upper() + word[1:]


def word_list_mass(tokenizer: Tokenizer, words: list[tuple[str, float]], lang: str = "",
                   scores: list[float] | None = None) -> Counter[int]:
    """Each piece's share of the occurrences when the words are written with their
    frequencies (total 1): how much of the language's text the piece carries. A word's
    frequency is split between its lower-case and capitalised forms in proportion to the
    probability the Unigram `scores` (log-probabilities per piece) give each form; without
    scores, half each."""
    mass: Counter[int] = Counter()
    if not words:
        return mass
    total = sum(f for _, f in words)
    specials = set(tokenizer.encode("").ids)

    def pieces(texts: list[str]) -> list[list[int]]:
        return [[i for i in enc.ids if i not in specials]
                for enc in tokenizer.encode_batch(texts)]

    lower = pieces([w for w, _ in words])
    upper = pieces([capitalised(w, lang) for w, _ in words])
    for (_, f), lo, up in zip(words, lower, upper, strict=True):
        if lo == up:
            share = 0.0
        elif scores is None:
            share = 0.5
        else:  # P(up) / (P(up) + P(lo)), the scores summed over each form's pieces
            gap = sum(scores[i] for i in lo) - sum(scores[i] for i in up)
            share = 1 / (1 + math.exp(min(gap, 50.0)))
        for i in lo:
            mass[i] += (1 - share) * f / total
        for i in up:
            mass[i] += share * f / total
    return mass


def prune(tokenizer_json: dict, texts: Iterable[str], fill_to: int = 0,
          languages: Iterable[str] = (), words_per_language: int = 0
          ) -> tuple[dict, list[int], list[float]]:
    """Return the student's tokenizer.json, `old_ids` (student id -> teacher id) and each
    kept piece's mass (module docstring; the corpus's share when no word lists are used).

    With `languages` and `words_per_language`, each language's word list adds its mass
    (wordfreq) and its characters. With `fill_to`, the vocabulary has that size: the pieces
    with the least mass are dropped (every single character stays, so any word still
    encodes); when the sources name fewer pieces, it is topped up with the teacher's most
    frequent pieces (highest Unigram score, or lowest WordPiece id) written only in the
    characters the languages use: words the sources lack then stay whole instead of falling
    apart into characters."""
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    model = tokenizer_json["model"]
    start, cont = _word_markers(model)
    pieces = _pieces(model)
    scores = [s for _, s in model["vocab"]] if model["type"] == "Unigram" else None
    used, chars = _scan(tokenizer, texts)
    corpus_total = sum(used.values()) or 1
    mass: Counter[int] = Counter({i: n / corpus_total for i, n in used.items()})
    for lang in languages if words_per_language else ():
        words = word_list(lang, words_per_language)
        if not words:
            log.warning("no word frequencies for language %r: its pieces come from the "
                        "corpus alone", lang)
        mass.update(word_list_mass(tokenizer, words, lang, scores))
        chars.update(c for w, _ in words for c in w + capitalised(w, lang)[:1])
    singles = {start + c for c in chars} | {cont + c for c in chars} | set(chars)
    keep = {i for i, p in enumerate(pieces) if p in singles}
    keep.update(tok["id"] for tok in tokenizer_json.get("added_tokens", []))
    if model["type"] == "Unigram" and model.get("unk_id") is not None:
        keep.add(model["unk_id"])
    if model["type"] == "WordPiece":
        keep.add(model["vocab"][model.get("unk_token", "[UNK]")])
    ranked = [i for i, _ in mass.most_common() if i not in keep]
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
    return _remap(tokenizer_json, old_ids, new_id), old_ids, [mass[i] for i in old_ids]


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
