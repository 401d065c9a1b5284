"""General-domain sources: each reader on a small sample written here, the cleaning and the
contamination filter against the evaluation sets, and the shuffled, interleaved corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from distill import data
from distill.errors import EdgekitError
from distill.sources import (
    debian_handbook,
    fortunes,
    gather,
    gnome_user_docs,
    libreoffice_help,
    nlp_corpus,
    trans_de_en,
    udhr,
)
from distill.sources.clean import is_language
from distill.sources.contamination import EvalIndex, eval_sentences
from distill.sources.rows import Rows

TATOEBA_FR = "Je ne sais pas ce que tu veux dire par là."
TATOEBA_EN = "I don't know what you mean by that."


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def eval_dir(tmp_path: Path) -> Path:
    root = tmp_path / "eval"
    write(root / "tatoeba/tatoeba.fra-eng.fra", TATOEBA_FR + "\nBonjour.\n")
    write(root / "tatoeba/tatoeba.fra-eng.eng", TATOEBA_EN + "\nHello.\n")
    write(root / "sts17/STS17.fr-en.tsv", "sentence1\tsentence2\tscore\n"
          "Un homme joue de la guitare dans la rue.\tA man plays the guitar.\t4.2\n")
    write(root / "uner/xx_pud-ud-test.iob2", "# sent_id = 1\n# text = Paris est en France.\n"
          "1\tParis\tB-LOC\t-\t-\n")
    write(root / "README.md", "Not an evaluation file at all, a README sentence.\n")
    return root


def test_fortunes_reader_cuts_attributions_colours_and_offensive(tmp_path):
    root = tmp_path / "fortunes"
    write(root / "de/sprueche", "Wer rastet, der rostet.\n\t-- Sprichwort\n%\n"
          "\x1b[32mDer Weg ist das Ziel.\x1b[m\n%\n")
    write(root / "de/off/derb", "Etwas, das keiner lesen soll.\n%\n")
    write(root / "de/sprueche.dat", "\0\0binary index")
    (root / "de/link").symlink_to(root / "de/sprueche")
    assert fortunes.read(root, "de") == [("de", "Wer rastet, der rostet."),
                                         ("de", "Der Weg ist das Ziel.")]


def test_dictionary_reader_aligns_sub_entries_and_drops_notes(tmp_path):
    path = write(tmp_path / "de-en", "# comment :: ignored\n"
                 "Abholort {m}; Abholstelle | Abholorte {pl} :: collection location | "
                 "pickup locations; collection locations\n"
                 "den Zug verpassen {v} | Er kam zu spät. [ugs.] :: to miss the train | He came "
                 "too late.\n"
                 "eins | zwei | drei :: one | two\n")
    assert trans_de_en.read(path) == [("to miss the train", "den Zug verpassen"),
                                      ("He came too late.", "Er kam zu spät.")]


def test_libreoffice_help_pairs_paragraphs_by_page_and_id(tmp_path):
    page = "text/shared/guide/doc_open.html"
    write(tmp_path / "en-US" / page, '<p id="par_id1" class="paragraph">Do one of the '
          '<span>following</span>:</p><p id="par_id2">Choose a file.</p><p>no id</p>')
    write(tmp_path / "fr" / page, '<p id="par_id2">Choisissez un fichier.</p>'
          '<p id="par_id1" class="paragraph">Faites l\'une des actions suivantes :</p>')
    write(tmp_path / "en-US/text/only_english.html", '<p id="par_id9">Lonely.</p>')
    assert sorted(libreoffice_help.read(tmp_path / "en-US", tmp_path / "fr")) == [
        ("Choose a file.", "Choisissez un fichier."),
        ("Do one of the following :", "Faites l'une des actions suivantes :")]


def test_handbook_and_gnome_pair_paragraphs_in_order_when_counts_agree(tmp_path):
    para = '<div class="para">{}</div>'
    write(tmp_path / "en/apt.html", para.format("APT is a tool.") + para.format("It works."))
    write(tmp_path / "nl/apt.html", para.format("APT is een hulpmiddel.") + para.format("Ja."))
    write(tmp_path / "en/bad.html", para.format("One."))
    write(tmp_path / "nl/bad.html", para.format("Een.") + para.format("Twee."))
    assert debian_handbook.read(tmp_path / "en", tmp_path / "nl") == [
        ("APT is a tool.", "APT is een hulpmiddel."), ("It works.", "Ja.")]
    page = '<page><info><p>credits</p></info><title>T</title><p>{}</p><p>{}</p></page>'
    write(tmp_path / "C/gnome-help/a.page", page.format("Open the <gui>Files</gui> app.",
                                                        "Click it."))
    write(tmp_path / "de/gnome-help/a.page", page.format("Öffnen Sie <gui>Dateien</gui>.",
                                                         "Klicken Sie."))
    assert gnome_user_docs.read(tmp_path / "C", tmp_path / "de") == [
        ("Open the Files app.", "Öffnen Sie Dateien ."), ("Click it.", "Klicken Sie.")]


def test_udhr_picks_the_plain_variant_and_aligns_articles(tmp_path):
    write(tmp_path / "index.js", "export const udhr = [\n"
          "{ bcp47: 'de-1901', code: 'deu_1901', name: 'German (1901)' },\n"
          "{ bcp47: 'de-1996', code: 'deu_1996', name: 'German (1996)' },\n"
          "{ bcp47: 'en', code: 'eng', name: 'English' },\n"
          "{ bcp47: 'en', code: 'eng_x', name: 'English (dialect)' }]\n")
    assert udhr.declaration_codes(tmp_path / "index.js") == {"de": "deu_1996", "en": "eng"}
    page = "<header><p>{}</p></header><article data-number='1'><h2>A</h2><p>{}</p></article>"
    en = write(tmp_path / "eng.html", page.format("Whereas peace.", "All are free."))
    de = write(tmp_path / "deu.html", page.format("Da der Frieden.", "Alle sind frei."))
    assert udhr.read(en, de) == [("Whereas peace.", "Da der Frieden."),
                                 ("All are free.", "Alle sind frei.")]


def test_nlp_corpus_reads_its_json_files_in_order(tmp_path):
    write(tmp_path / "doc-10.json", json.dumps(["Third one."]))
    write(tmp_path / "doc-2.json", json.dumps(["First  one.", "Second one."]))
    assert nlp_corpus.read(tmp_path) == [("en", "First one."), ("en", "Second one."),
                                         ("en", "Third one.")]


def test_language_check_tells_a_translation_from_english():
    assert is_language("Sélectionnez le fichier à ouvrir et cliquez sur Ouvrir.", "fr")
    assert not is_language("Select the file you want to open and click Open.", "fr")
    assert is_language("افتح الملف", "ar") and not is_language("Open the file", "ar")
    assert is_language("ファイルを開く", "ja") and not is_language("Open file", "zh")


def test_eval_sentences_reads_every_evaluation_format(eval_dir):
    assert sorted(eval_sentences(eval_dir)) == sorted([
        TATOEBA_FR, "Bonjour.", TATOEBA_EN, "Hello.", "sentence1", "sentence2", "score",
        "Un homme joue de la guitare dans la rue.", "A man plays the guitar.",
        "Paris est en France."])
    (eval_dir / "docs").mkdir()
    write(eval_dir / "docs/notes.md", "Only notes here.\n")
    with pytest.raises(EdgekitError, match="no evaluation files"):
        list(eval_sentences(eval_dir / "docs"))


def test_the_filter_drops_planted_and_lightly_edited_evaluation_sentences(eval_dir):
    index = EvalIndex.from_dirs([eval_dir])
    assert index.contains(TATOEBA_FR)
    assert index.contains("je ne sais PAS ce que tu veux dire  par là !")   # normalised
    assert index.contains("Je ne sais pas ce que tu veux dire par ici.")   # near-duplicate
    assert index.contains("A man plays the guitar")
    assert not index.contains("Je ne sais pas ce que tu veux manger ce soir, mon ami.")
    assert not index.contains("Not an evaluation file at all, a README sentence.")


def test_gather_cleans_dedupes_filters_and_counts(eval_dir, tmp_path, monkeypatch):
    rows = Rows()
    rows.pairs["fr"] += [
        (TATOEBA_EN, TATOEBA_FR),                                   # planted
        ("I do not know what you mean by that!", "Je ne sais pas ce que tu veux dire par la !"),
        ("Open the file you want.", "Open the file you want."),     # untranslated
        ("Choose the file to open.", "Choose the file to open now."),  # English "translation"
        ("Save the document. Then close it.", "Enregistrez le document. Puis fermez-le."),
        ("Save the document.", "Enregistrez le document."),         # duplicate of a sentence
    ]
    rows.mono += [("fr", "Un proverbe bien connu de tous."), ("fr", "x")]
    monkeypatch.setattr(fortunes, "load", lambda langs, cache: rows)
    got = gather(["fortunes"], ["fr"], tmp_path, EvalIndex.from_dirs([eval_dir]))
    assert got.pairs["fr"] == [("Save the document.", "Enregistrez le document."),
                               ("Then close it.", "Puis fermez-le.")]
    assert got.mono == [("fr", "Un proverbe bien connu de tous.")]
    assert got.stats["fortunes"]["fr"]["dropped"] == {
        "duplicate": 1, "evaluation overlap": 2, "not the language": 1, "too short": 1,
        "untranslated": 1}
    assert got.stats["fortunes"]["fr"]["kept"] == 3
    capped = gather(["fortunes"], ["fr"], tmp_path, None, max_per_source=1)
    assert len(capped.pairs["fr"]) == 1 and capped.mono == [
        ("fr", "Un proverbe bien connu de tous.")]
    assert capped.stats["fortunes"]["fr"]["dropped"]["over max_per_source"] >= 1


def test_corpus_is_shuffled_and_read_back_interleaved(tmp_path, eval_dir):
    corpus = data.Corpus(train=[("fr", f"pair {i}", f"paire {i}") for i in range(30)],
                         mono=[("fr", f"texte {i}") for i in range(10)])
    data.save_corpus(corpus, tmp_path / "c")
    rows = list(data.read_rows(tmp_path / "c"))
    assert sorted(rows) == sorted(corpus.train + [(lang, t, "") for lang, t in corpus.mono])
    assert [r for r in rows if r[2]] != corpus.train  # shuffled
    first = rows[:8]  # a prefix holds both kinds in proportion
    assert sum(not r[2] for r in first) == 2


def test_build_corpus_refuses_unknown_sources_and_missing_exclude(tmp_path):
    with pytest.raises(EdgekitError, match="unknown source 'wikipedia'"):
        data.build_corpus([], tmp_path / "c", sources=["wikipedia"])
    with pytest.raises(EdgekitError, match="no such folder"):
        data.build_corpus([], tmp_path / "c", tsv=[], exclude=[tmp_path / "nope"])


def test_a_package_that_cannot_be_fetched_is_one_clear_error(tmp_path):
    from distill.sources import fetch

    with pytest.raises(EdgekitError, match="edgekit-no-such-package") as err:
        fetch.debian("edgekit-no-such-package", tmp_path)
    assert "\n" not in str(err.value)
    assert not any((tmp_path / "deb").glob("*"))  # nothing half-written
    # several at once: the error names the one apt cannot find, not the first asked for
    with pytest.raises(EdgekitError, match="package edgekit-no-such-package;"):
        fetch.debian_packages(["dpkg", "edgekit-no-such-package"], tmp_path)
    assert not any((tmp_path / "deb").glob("*"))


def test_known_debian_packages_asks_apt_once_for_many_names():
    from distill.sources import fetch

    if not shutil.which("apt-cache"):
        pytest.skip("no apt-cache on this machine")
    assert fetch.known_debian_packages(["dpkg", "edgekit-no-such-package"]) == {"dpkg"}
    assert fetch.known_debian_packages([]) == set()
