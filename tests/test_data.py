"""Corpus building: .mo parsing, cleaning, the leak-free split, user corpora, bad input."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from distill import data
from distill.errors import EdgekitError


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU .mo file (little-endian), as msgfmt writes it."""
    items = sorted(messages.items())
    ids = b"".join(k.encode() + b"\0" for k, _ in items)
    strs = b"".join(v.encode() + b"\0" for _, v in items)
    n = len(items)
    orig_at, trans_at = 28, 28 + 8 * n
    ids_at = trans_at + 8 * n
    strs_at = ids_at + len(ids)
    header = struct.pack("<7I", 0x950412DE, 0, n, orig_at, trans_at, 0, 0)
    otab, ttab, o, t = b"", b"", ids_at, strs_at
    for k, v in items:
        otab += struct.pack("<2I", len(k.encode()), o)
        ttab += struct.pack("<2I", len(v.encode()), t)
        o += len(k.encode()) + 1
        t += len(v.encode()) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + otab + ttab + ids + strs)


@pytest.fixture()
def locale_dir(tmp_path: Path) -> Path:
    root = tmp_path / "locale"
    fr = {"": "Content-Type: text/plain; charset=UTF-8\n", "_Open file": "_Ouvrir le fichier",
          "Save %s now": "Enregistrer %s maintenant", "Bad %s %d": "Mauvais %d",
          "Same text": "Same text", "ok": "d'accord", "Print the document": "",
          "menu\x04Quit the program": "Quitter le programme",
          "One file\x00%d files": "Un fichier\x00%d fichiers",
          "<b>Bold</b> words": "Mots en <b>gras</b>"}
    write_mo(root / "fr" / "LC_MESSAGES" / "app.mo", fr)
    write_mo(root / "pt_BR" / "LC_MESSAGES" / "app.mo", {"Open file": "Abrir arquivo",
                                                          "Close the window": "Fechar a janela"})
    return root


def test_read_mo_handles_context_and_plurals(locale_dir):
    rows = dict(data.read_mo(locale_dir / "fr" / "LC_MESSAGES" / "app.mo"))
    assert rows["Quit the program"] == "Quitter le programme"
    assert rows["One file"] == "Un fichier"
    assert "" not in rows


def test_cleaning_rules():
    assert data.strip_accelerators("_Open") == "Open"
    assert data.strip_accelerators("&Save && Quit") == "Save & Quit"
    assert data.strip_accelerators("打开(_O)") == "打开"
    assert data.clean_pair("Save %s now", "Enregistrer %s maintenant")
    assert data.clean_pair("Bad %s %d", "Mauvais %d") is None          # placeholder lost
    assert data.clean_pair("%1$s of %2$d", "%2$d de %1$s")             # reordered: fine
    assert data.clean_pair("Same text", "same text") is None           # untranslated
    assert data.clean_pair("ok", "d'accord") is None                   # too short
    assert data.clean_pair("word " * 50, "mot " * 50) is None           # too long
    assert data.clean_pair("<b>Bold</b>", "<b>Gras</b>") is None       # markup


def test_gettext_pairs_and_language_codes(locale_dir):
    pairs = data.gettext_pairs(["fr", "pt"], locale_dir)
    assert ("Open file", "Ouvrir le fichier") in pairs["fr"]
    assert ("Quit the program", "Quitter le programme") in pairs["fr"]
    assert all(en != "Same text" for en, _ in pairs["fr"])
    assert ("Close the window", "Fechar a janela") in pairs["pt"]  # pt_BR -> pt
    with pytest.raises(EdgekitError, match="unknown language code 'xx'"):
        data.gettext_pairs(["fr", "xx"], locale_dir)


def test_split_never_leaks_a_sentence():
    pairs = {lang: [(f"message number {i}", f"{lang} message {i % 150}") for i in range(600)]
             for lang in ("fr", "de")}
    pairs["de"].append(("message number 3", "fr message 7"))  # shares sentences across langs
    corpus = data.split(pairs, dev_percent=20)
    assert corpus.dev and corpus.train
    dev = {s for _, en, xx in corpus.dev for s in (en, xx)}
    train = {s for _, en, xx in corpus.train for s in (en, xx)}
    assert not dev & train
    dev_en = {en for _, en, _ in corpus.dev}
    assert all(en in dev_en for _, en, _ in corpus.dev)
    # the split is by English: a message's translations all fall on the same side
    side = {}
    for name, rows in (("train", corpus.train), ("dev", corpus.dev)):
        for _, en, _ in rows:
            assert side.setdefault(en, name) == name


def test_build_corpus_with_user_files(tmp_path, locale_dir):
    tsv = tmp_path / "es.tsv"
    tsv.write_text("Good morning everyone\tBuenos días a todos\n\tempty\n", encoding="utf-8")
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text(json.dumps({"en": "See you tomorrow", "it": "A domani",
                                 "de": "Bis morgen"}) + "\n", encoding="utf-8")
    mono = tmp_path / "mono.txt"
    mono.write_text("Ein Satz ohne Übersetzung.\n\n", encoding="utf-8")
    out = tmp_path / "corpus"
    data.build_corpus(["fr"], out, locale_dir=locale_dir, tsv=[f"es={tsv}"], jsonl=[jsonl],
                      mono=[f"de={mono}"], dev_percent=0)
    corpus = data.load_corpus(out)
    assert ("es", "Good morning everyone", "Buenos días a todos") in corpus.train
    assert ("it", "See you tomorrow", "A domani") in corpus.train
    assert corpus.mono == [("de", "Ein Satz ohne Übersetzung.")]
    assert corpus.languages() == ["de", "es", "fr", "it"]
    assert json.loads((out / "stats.json").read_text())["languages"]["es"]["train"] == 1


def test_mono_reads_lines_fortune_files_and_folders(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("Erster  Satz.\n\nZweiter Satz.\n", encoding="utf-8")
    assert data.read_mono(lines) == ["Erster Satz.", "Zweiter Satz."]
    # fortune(6) format: entries between % lines, some coloured with terminal escapes
    folder = tmp_path / "fortunes-de"
    folder.mkdir()
    (folder / "zitate").write_text(
        "Das beste an der Zukunft ist,\ndass immer nur ein Tag kommt.\n"
        "\t\t-- Dean Acheson\n%\n\x1b[1mWissen\x1b[0m ist Macht.\n\t\t-- Francis Bacon\n%\n",
        encoding="utf-8")
    (folder / "zitate.dat").write_bytes(b"\x00\x00\x00\x02\xff")  # strfile's index
    (folder / "zitate.u8").symlink_to(folder / "zitate")
    expected = ["Das beste an der Zukunft ist, dass immer nur ein Tag kommt. -- Dean Acheson",
                "Wissen ist Macht. -- Francis Bacon"]
    assert data.read_mono(folder / "zitate") == expected
    assert data.read_mono(folder) == expected  # the index and the symlink are skipped
    out = tmp_path / "corpus"
    tsv = tmp_path / "es.tsv"
    tsv.write_text("Good morning everyone\tBuenos días a todos\n", encoding="utf-8")
    data.build_corpus([], out, tsv=[f"es={tsv}"], mono=[f"de={folder}"], dev_percent=0)
    assert sorted(data.load_corpus(out).mono) == [("de", t) for t in expected]  # shuffled


def test_mono_reads_a_catalogs_translations_as_sentences(tmp_path):
    mo = tmp_path / "freeciv-nations.mo"
    write_mo(mo, {
        "The Sabines were an Italic tribe. In the 3rd century BC they joined Rome.":
            "Die Sabiner waren ein italischer Stamm. Im 3. Jahrhundert v. Chr. gingen sie "
            "in Rom auf.",
        "Sabines": "Sabiner",                          # a name, not a sentence
        "President %s": "Präsident %s",                # a template
        "Untranslated message stays English.": "",
        "Same text in both languages here.": "Same text in both languages here.",
        "<b>Bold</b> help text with markup": "<b>Fetter</b> Hilfetext mit Auszeichnung",
    })
    assert data.read_mono(mo) == ["Die Sabiner waren ein italischer Stamm.",
                                  "Im 3. Jahrhundert v. Chr. gingen sie in Rom auf."]
    # English: the same messages' source strings
    assert data.read_mono(mo, "en") == ["The Sabines were an Italic tribe.",
                                        "In the 3rd century BC they joined Rome."]
    write_mo(tmp_path / "empty.mo", {"Sabines": "Sabiner"})
    with pytest.raises(EdgekitError, match="no translated sentences"):
        data.read_mono(tmp_path / "empty.mo")
    with pytest.raises(EdgekitError, match="not found"):
        data.read_mono(tmp_path / "missing.mo")


def test_split_sentences_keeps_abbreviations_and_cuts_cjk():
    assert data.split_sentences("Er zog nach St. Petersburg. Dort starb er! Das war 1799.") == [
        "Er zog nach St. Petersburg.", "Dort starb er!", "Das war 1799."]
    assert data.split_sentences("Пётр I основал город. Он стал столицей.") == [
        "Пётр I основал город.", "Он стал столицей."]
    assert data.split_sentences("爱尔兰人抵御了罗马人。它被英国统治。") == [
        "爱尔兰人抵御了罗马人。", "它被英国统治。"]
    assert data.split_sentences("Version 2.0 is out. see below.") == [
        "Version 2.0 is out. see below."]


def test_corpus_without_usable_pairs_is_refused(tmp_path, locale_dir):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(EdgekitError, match="no usable pairs"):
        data.build_corpus([], tmp_path / "c", locale_dir=locale_dir, tsv=[f"es={tsv}"])
    assert not (tmp_path / "c").exists()  # nothing half-written


def test_bad_lang_path_spec():
    with pytest.raises(EdgekitError, match="LANG=FILE"):
        data.parse_lang_path("pairs.tsv")


def test_real_catalogs_give_thousands_of_pairs():
    if not data.available_languages().get("fr"):
        pytest.skip("no French gettext catalogs on this machine")
    pairs = data.gettext_pairs(["fr"])["fr"]
    assert len(pairs) > 5000
    assert all(en and xx and en.casefold() != xx.casefold() for en, xx in pairs)


def test_name_text_is_reproducible_and_read_back_as_mono(tmp_path, capsys):
    from distill.name_text import TEMPLATES, name_sentences
    from edgekit.cli import main

    assert main(["name-text", "--out", str(tmp_path / "n"), "--per-lang", "20",
                 "--langs", "de,ru,zh"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [f"{lang}={tmp_path / 'n' / lang}" for lang in ("de", "ru", "zh")]
    de = data.read_mono(tmp_path / "n" / "de")
    assert de == name_sentences("de", 20)  # the same seed, the same text
    assert len(set(de)) == 20 and name_sentences("de", 20, seed=1) != de
    assert not any("{" in t or "}" in t for t in de)  # every slot filled
    # the templates in turn, each time with other names
    n = len(TEMPLATES["de"])
    assert n == 18
    assert "traf sich am Dienstag in" in de[0] and "traf sich am Dienstag in" in de[n]
    assert de[0] != de[n]
    # ru: the same templates in the same order
    ru = data.read_mono(tmp_path / "n" / "ru")
    assert all(TEMPLATES["ru"][i].split("{")[0] in ru[i] for i in range(n))
    assert "Wahlbehörde von" in de[10] and de[10].split(",")[0].isupper()  # an acronym


def test_name_text_does_not_depend_on_the_hash_seed():
    # it_IT's Faker cities come from a set; de and en text draw them
    code = "from distill.name_text import name_sentences; print(name_sentences('de', 300))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": h}).stdout
            for h in ("1", "2")}
    assert len(outs) == 1
