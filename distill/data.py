"""Parallel corpora: English <-> each language, from the machine's gettext catalogs and from
the user's own TSV / JSONL / monolingual files.

A corpus is a folder of plain files:
  train.tsv, dev.tsv   lang <TAB> en <TAB> xx        (one pair per line)
  mono.tsv             lang <TAB> text               (monolingual, the teacher labels it)
  stats.json           {"languages": per-language counts, "sources": per source and
                       language, rows kept, characters and rows dropped by reason}
The train/dev split is by English message, and a dev sentence never appears in train, in any
language or on either side. Rows are written shuffled (fixed seed) and read back with pairs
and monolingual texts interleaved, so any prefix of the corpus, which is what a short
training run reads, is a fair sample of all of it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import random
import re
import struct
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from distill.errors import EdgekitError
from distill.fsutil import atomic_dir
from distill.ner import char_class

DEFAULT_LOCALE_DIR = Path("/usr/share/locale")
MIN_CHARS, MAX_CHARS, MAX_WORDS = 3, 200, 40
log = logging.getLogger("edgekit")

_PLACEHOLDER = re.compile(
    r"%%"                                     # literal percent: not a placeholder
    r"|%(?:\d+\$)?(?:\(\w+\))?[-+ #0']*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|L|q|j|z|t|I64)?"
    r"[diouxXeEfFgGaAcsSpn]"                  # printf / python %-format
    r"|%\d"                                    # Qt: %1
    r"|\{[\w.]*(?:[:!][^{}]*)?\}"            # brace format: {name}, {0:.2f}
    r"|\$\{\w+\}"                              # shell: ${name}
)
_POSITIONAL = re.compile(r"%\d+\$")
_CJK_ACCEL = re.compile(r"\s*[(（][_&~]?[A-Za-z0-9][)）]")
_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|https?://|\\[a-z]|&[a-z]+;|\|\|")


@dataclass
class Corpus:
    train: list[tuple[str, str, str]] = field(default_factory=list)  # (lang, en, xx)
    dev: list[tuple[str, str, str]] = field(default_factory=list)
    mono: list[tuple[str, str]] = field(default_factory=list)  # (lang, text)
    sources: dict = field(default_factory=dict)  # source -> lang -> kept / dropped counts

    def languages(self) -> list[str]:
        return sorted({lang for lang, _, _ in self.train} | {lang for lang, _ in self.mono})


# ------------------------------------------------------------------ gettext catalogs

def read_mo(path: Path) -> Iterator[tuple[str, str]]:
    """Yield (msgid, msgstr) from a GNU .mo file; plural entries give their first forms,
    context prefixes are dropped. Unreadable files yield nothing."""
    data = Path(path).read_bytes()
    if len(data) < 28:
        return
    magic = struct.unpack_from("<I", data)[0]
    order = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else None
    if order is None:
        return
    _, n, orig_at, trans_at = struct.unpack_from(order + "4I", data, 4)
    for i in range(n):
        olen, ooff = struct.unpack_from(order + "2I", data, orig_at + 8 * i)
        tlen, toff = struct.unpack_from(order + "2I", data, trans_at + 8 * i)
        try:
            msgid = data[ooff : ooff + olen].decode("utf-8")
            msgstr = data[toff : toff + tlen].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not msgid:
            continue  # the catalog header
        msgid = msgid.split("\x04")[-1].split("\x00")[0]
        yield msgid, msgstr.split("\x00")[0]


def locale_language(locale: str) -> str:
    """'pt_BR' -> 'pt', 'sr@latin' -> 'sr', 'zh_CN' -> 'zh'."""
    return re.split(r"[_@.]", locale)[0].lower()


def available_languages(locale_dir: Path = DEFAULT_LOCALE_DIR) -> dict[str, list[Path]]:
    """Language code -> its .mo files."""
    out: dict[str, list[Path]] = defaultdict(list)
    for mo in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.mo")):
        lang = locale_language(mo.parent.parent.name)
        if lang != "en":
            out[lang].append(mo)
    return dict(out)


def strip_accelerators(text: str) -> str:
    """Remove keyboard-mnemonic markers: GTK '_File', Qt '&File', CJK '打开(_O)'."""
    text = _CJK_ACCEL.sub("", text)
    if text.count("_") == 1:
        text = re.sub(r"_(?=\w)", "", text)
    text = re.sub(r"&(?=\w)(?![a-z]+;)", "", text).replace("&&", "&")
    return text


def placeholders(text: str) -> Counter:
    found = (_POSITIONAL.sub("%", m) for m in _PLACEHOLDER.findall(text))
    return Counter(p for p in found if p != "%%")


def clean(text: str) -> str | None:
    """A catalog message as a training sentence, or None when it is not one."""
    text = " ".join(strip_accelerators(text).split())
    if _MARKUP.search(text):
        return None
    if not MIN_CHARS <= len(text) <= MAX_CHARS or len(text.split()) > MAX_WORDS:
        return None
    if sum(ch.isalpha() for ch in text) < 2:
        return None
    return text


def clean_pair(en: str, xx: str) -> tuple[str, str] | None:
    if not xx or placeholders(en) != placeholders(xx):
        return None
    en_c, xx_c = clean(en), clean(xx)
    if en_c is None or xx_c is None or en_c.casefold() == xx_c.casefold():
        return None
    return en_c, xx_c


def gettext_pairs(langs: Iterable[str], locale_dir: Path = DEFAULT_LOCALE_DIR
                  ) -> dict[str, list[tuple[str, str]]]:
    catalogs = available_languages(locale_dir)
    check_languages(langs, catalogs)
    out = {}
    for lang in langs:
        seen, pairs = set(), []
        for mo in catalogs[lang]:
            for en, xx in read_mo(mo):
                pair = clean_pair(en, xx)
                if pair and pair[0] not in seen:
                    seen.add(pair[0])
                    pairs.append(pair)
        out[lang] = pairs
    return out


def check_languages(langs: Iterable[str], catalogs: dict[str, list[Path]]) -> None:
    unknown = [lang for lang in langs if lang not in catalogs]
    if unknown:
        raise EdgekitError(
            f"unknown language code {', '.join(map(repr, unknown))}: no gettext catalogs for it "
            f"on this machine; use one of {', '.join(sorted(catalogs))} "
            "(or bring your own pairs with --tsv LANG=FILE)")


# ------------------------------------------------------------------ user corpora

def read_tsv_pairs(lang: str, path: Path) -> list[tuple[str, str]]:
    """`en<TAB>xx` lines."""
    pairs = []
    for line in _read_lines(path):
        cols = line.split("\t")
        if len(cols) >= 2:
            en, xx = " ".join(cols[0].split()), " ".join(cols[1].split())
            if en and xx:
                pairs.append((en, xx))
    return pairs


def read_jsonl_pairs(path: Path) -> dict[str, list[tuple[str, str]]]:
    """JSON lines like {"en": "Open", "fr": "Ouvrir", "de": "Öffnen"}."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for n, line in enumerate(_read_lines(path), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise EdgekitError(f"{path}:{n}: not valid JSON ({e.msg}); expected one object "
                               'per line like {"en": "...", "fr": "..."}') from None
        en = " ".join(str(row.get("en", "")).split())
        for lang, xx in row.items():
            xx = " ".join(str(xx).split())
            if lang != "en" and en and xx:
                out[lang].append((en, xx))
    return dict(out)


ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z])?")


def read_mono(path: Path, lang: str = "") -> list[str]:
    """Monolingual texts: one per line; or, in a file with `%` lines (the fortune(6)
    format of Debian's fortunes-* packages, quotations signed with names), one per entry;
    or, from a gettext `.mo` catalog, the sentences of its translated messages (for `lang`
    "en", of their English source strings: gettext's msgids are English).
    A folder: each of its files, except symlinks and fortune's `.dat` indexes."""
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.iterdir()
                       if f.is_file() and not f.is_symlink() and f.suffix != ".dat")
        return [t for f in files for t in read_mono(f, lang)]
    if path.suffix == ".mo":
        return catalog_sentences(path, source=lang == "en")
    lines = _read_lines(path)
    if "%" in lines:  # fortune files colour some entries with terminal escapes
        texts = re.split(r"^%$", ANSI_ESCAPE.sub("", "\n".join(lines)), flags=re.M)
    else:
        texts = lines
    return [" ".join(t.split()) for t in texts if t.strip()]


def catalog_sentences(path: Path, source: bool = False) -> list[str]:
    """The sentences of a catalog's translated messages (`source`: of their msgids), those
    of three words (or eight CJK characters) or more. Messages with placeholders or markup
    are skipped: they are templates and UI, not prose."""
    _require_file(path)
    out = []
    for msgid, msgstr in read_mo(path):
        if not msgstr or msgstr == msgid or placeholders(msgstr) or _MARKUP.search(msgstr):
            continue
        text = msgid if source else msgstr
        out.extend(s for s in split_sentences(" ".join(text.split()))
                   if len(s.split()) >= 3 or sum(char_class(ch) == "cjk" for ch in s) >= 8)
    if not out:
        raise EdgekitError(f"{path}: no translated sentences in this catalog")
    return out


def split_sentences(text: str) -> list[str]:
    """Cut after . ! ? when a capital follows, unless the word before a full stop is three
    characters or less (so "3. Jahrhundert", "v. Chr.", "St. Petersburg" stay whole); and
    after 。！？."""
    parts, start = [], 0
    for m in re.finditer(r"(?<=[。！？])|(?<=[.!?])\s+(?=\W*[^\W\d_])", text):
        before, after = text[start:m.start()], text[m.end():]
        last = (before.split() or [""])[-1]
        first = next((ch for ch in after if ch.isalpha()), "")
        abbreviation = last.endswith(".") and len(last.strip(".\"'»“”)")) <= 3
        if m.group() == "" or (first.isupper() and not abbreviation):
            parts.append(before.strip())
            start = m.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _require_file(path: Path) -> None:
    if not Path(path).is_file():
        raise EdgekitError(f"corpus file not found: {path}")


def _read_lines(path: Path) -> list[str]:
    path = Path(path)
    _require_file(path)
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise EdgekitError(f"{path} is not UTF-8 text; re-encode it as UTF-8") from None


def parse_lang_path(spec: str) -> tuple[str, Path]:
    lang, sep, path = spec.partition("=")
    if not sep or not lang or not path:
        raise EdgekitError(f"expected LANG=FILE, got {spec!r} (for example fr=pairs.tsv)")
    return lang, Path(path)


# ------------------------------------------------------------------ split and save

def _is_dev(en: str, dev_percent: float) -> bool:
    digest = hashlib.sha1(en.casefold().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "little") % 10000 < dev_percent * 100


def split(pairs: dict[str, list[tuple[str, str]]], dev_percent: float = 5.0,
          max_per_lang: int | None = None) -> Corpus:
    """Split by English message, then drop any train pair that shares a sentence with dev."""
    corpus = Corpus()
    for lang in sorted(pairs):
        rows = pairs[lang][:max_per_lang] if max_per_lang else pairs[lang]
        for en, xx in rows:
            (corpus.dev if _is_dev(en, dev_percent) else corpus.train).append((lang, en, xx))
    dev_sentences = {s.casefold() for _, en, xx in corpus.dev for s in (en, xx)}
    corpus.train = [(lang, en, xx) for lang, en, xx in corpus.train
                    if en.casefold() not in dev_sentences and xx.casefold() not in dev_sentences]
    return corpus


def stats(corpus: Corpus) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "dev": 0, "mono": 0})
    for name, rows in (("train", corpus.train), ("dev", corpus.dev)):
        for lang, _, _ in rows:
            out[lang][name] += 1
    for lang, _ in corpus.mono:
        out[lang]["mono"] += 1
    return dict(sorted(out.items()))


def save_corpus(corpus: Corpus, out_dir: Path) -> None:
    train, mono = list(corpus.train), list(corpus.mono)
    random.Random(0).shuffle(train)
    random.Random(1).shuffle(mono)
    with atomic_dir(out_dir) as tmp:
        for name, rows in (("train", train), ("dev", corpus.dev)):
            (tmp / f"{name}.tsv").write_text("".join("\t".join(r) + "\n" for r in rows),
                                             encoding="utf-8")
        (tmp / "mono.tsv").write_text("".join(f"{lang}\t{t}\n" for lang, t in mono),
                                      encoding="utf-8")
        (tmp / "stats.json").write_text(json.dumps(
            {"languages": stats(corpus), "sources": corpus.sources}, indent=2,
            ensure_ascii=False))


def load_corpus(path: Path) -> Corpus:
    """The whole corpus in memory (training streams it with `read_rows` instead)."""
    rows = list(read_rows(path))
    return Corpus(train=[r for r in rows if r[2]], dev=load_dev(path),
                  mono=[(lang, text) for lang, text, xx in rows if not xx])


def _check_corpus(path: Path) -> None:
    if not (path / "train.tsv").is_file():
        raise EdgekitError(f"{path} is not a corpus folder (no train.tsv); "
                           "build one with `edgekit data --out DIR`")


def read_rows(path: Path) -> Iterator[tuple[str, str, str]]:
    """Stream the training rows, (lang, en, xx) pairs from train.tsv and (lang, text, "")
    from mono.tsv, interleaved in proportion to their counts, one line at a time."""
    path = Path(path)
    _check_corpus(path)
    pairs = _tsv_rows(path / "train.tsv", 3)
    first = next(pairs, None)
    if first is None:
        raise EdgekitError(f"corpus {path} has no usable pairs in train.tsv; rebuild it "
                           "with `edgekit data` or add pairs with --tsv LANG=FILE")
    streams = [(itertools.chain([first], pairs), _count_lines(path / "train.tsv")),
               (_tsv_rows(path / "mono.tsv", 2), _count_lines(path / "mono.tsv"))]
    done = [0, 0]
    while True:
        # the stream furthest behind its share goes next
        live = [i for i, (_, n) in enumerate(streams) if done[i] < n]
        if not live:
            return
        i = min(live, key=lambda i: (done[i] + 1) / streams[i][1])
        done[i] += 1
        row = next(streams[i][0], None)
        if row is None:
            done[i] = streams[i][1]
        else:
            yield row


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def _tsv_rows(path: Path, width: int) -> Iterator[tuple[str, str, str]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == width:
                yield (cols[0], cols[1], cols[2] if width == 3 else "")


def read_texts(path: Path) -> Iterator[str]:
    """Every training text of the corpus: both sides of its pairs, then its monolingual text."""
    return (t for row in read_rows(path) for t in row[1:] if t)


def load_dev(path: Path) -> list[tuple[str, str, str]]:
    _check_corpus(Path(path))
    f = Path(path) / "dev.tsv"
    if not f.is_file():
        return []
    return [tuple(line.split("\t")) for line in f.read_text(encoding="utf-8").splitlines()
            if line.count("\t") == 2]


def build_corpus(langs: list[str], out_dir: Path, *, locale_dir: Path = DEFAULT_LOCALE_DIR,
                 tsv: Iterable[str] = (), jsonl: Iterable[Path] = (),
                 mono: Iterable[str] = (), dev_percent: float = 5.0,
                 max_per_lang: int | None = None, sources: Iterable[str] = (),
                 source_langs: list[str] | None = None, max_per_source: int | None = None,
                 exclude: Iterable[Path] = (), cache: Path | None = None) -> Corpus:
    """Gather pairs from every source, clean, split, and save the corpus folder.
    `langs` are the gettext catalogs to read ([] reads none); `sources` the general-domain
    sources (`distill.sources`), read for `source_langs` (default `langs`) and cached in
    `cache`; `exclude` folders of evaluation sets whose sentences no training text may
    (nearly) repeat."""
    from distill.sources import check_sources, gather
    from distill.sources.contamination import EvalIndex

    sources = list(sources)
    check_sources(sources)
    index = EvalIndex.from_dirs(exclude) if exclude else None  # fails early on a bad folder
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if langs:
        for lang, rows in gettext_pairs(langs, locale_dir).items():
            pairs[lang].extend(rows)
    for spec in tsv:
        lang, path = parse_lang_path(spec)
        pairs[lang].extend(read_tsv_pairs(lang, path))
    for path in jsonl:
        for lang, rows in read_jsonl_pairs(path).items():
            pairs[lang].extend(rows)
    corpus = split(dict(pairs), dev_percent, max_per_lang)
    for spec in mono:
        lang, path = parse_lang_path(spec)
        corpus.mono.extend((lang, t) for t in read_mono(path, lang))
    if index is not None:
        _drop_overlap(corpus, index)
    if sources:
        got = gather(sources, source_langs if source_langs is not None else langs,
                     Path(cache or Path(out_dir).parent / "sources"), index, max_per_source,
                     progress=lambda name: log.info("reading source %s", name))
        dev = {s.casefold() for _, en, xx in corpus.dev for s in (en, xx)}
        corpus.train += [(lang, en, xx) for lang, rows in sorted(got.pairs.items())
                         for en, xx in rows
                         if en.casefold() not in dev and xx.casefold() not in dev]
        corpus.mono += [(lang, t) for lang, t in got.mono if t.casefold() not in dev]
        corpus.sources.update(got.stats)
    if not corpus.train:
        raise EdgekitError("the corpus has no usable pairs: every pair was empty, untranslated, "
                           "identical, too short or too long; check the language codes and "
                           "input files")
    save_corpus(corpus, out_dir)
    return corpus


def _drop_overlap(corpus: Corpus, index) -> None:
    """The contamination filter on the catalogs' and the user's own training rows."""
    dropped: Counter = Counter()
    train = []
    for lang, en, xx in corpus.train:
        if index.contains(en) or index.contains(xx):
            dropped[lang] += 1
        else:
            train.append((lang, en, xx))
    mono = []
    for lang, text in corpus.mono:
        if index.contains(text):
            dropped[lang] += 1
        else:
            mono.append((lang, text))
    corpus.train, corpus.mono = train, mono
    kept = Counter(lang for lang, _, _ in train) + Counter(lang for lang, _ in mono)
    if kept or dropped:
        corpus.sources["gettext and --tsv/--jsonl/--mono"] = {
            lang: {"kept": kept[lang], "dropped": {"evaluation overlap": dropped[lang]}}
            for lang in sorted(set(kept) | set(dropped))}
