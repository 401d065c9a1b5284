"""Export and bundles on a small real student: lowering, parity, golden file, verification."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer

from distill.errors import EdgekitError
from distill.student import student_from_teacher
from export.bundle import SUFFIX, Bundle, export_bundle, post_process, sha256
from export.runtimes import executorch_runner, onnx_runner, torch_runner
from export.to_pte import QuantizedEmbedding, least_error_scales, spread_table

pytestmark = pytest.mark.slow


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


def test_manifest_lists_every_variant_with_parity_and_sizes(bundle):
    m = bundle.manifest
    assert m["schema"] == "edgekit.bundle/1" and m["task"] == "sentence-embedding"
    assert {(x["runtime"], x["precision"]) for x in m["models"]} == {
        ("executorch", "int8"), ("executorch", "fp32"), ("onnx", "int8"), ("onnx", "fp32")}
    assert m["models"][0]["file"] == "model.pte"
    cos = m["parity"]["cosine"]
    for key in ("executorch-fp32", "onnx-fp32"):
        assert cos[key]["min"] >= 0.9999
    for key in ("executorch-int8", "onnx-int8"):
        assert cos[key]["min"] >= 0.99 and cos[key]["mean"] >= 0.995
    sizes = m["size"]["bytes"]
    # int8 weights and an 8-bit embedding table: well under half of fp32
    assert sizes["executorch-int8"] < 0.4 * sizes["executorch-fp32"]
    assert sizes["onnx-int8"] < 0.4 * sizes["onnx-fp32"]
    assert m["tokenizer"]["kind"] == "unigram" and m["languages"] == ["de", "fr"]
    assert m["quality"]["dev_retrieval"] > 0
    for rel, meta in m["files"].items():
        assert (bundle.folder / rel).stat().st_size == meta["size"]


def test_golden_file_covers_languages_and_edge_cases_and_the_tokenizer_reproduces_it(bundle):
    golden = json.loads((bundle.folder / "golden.json").read_text("utf-8"))["items"]
    assert len(golden) >= 32
    assert len({g["lang"] for g in golden} - {"edge", "mixed"}) >= 10
    texts = [g["text"] for g in golden]
    assert "" in texts and any(len(t) > 2000 for t in texts)
    tokenizer = Tokenizer.from_file(str(bundle.folder / "tokenizer.json"))
    for g in golden:
        assert tokenizer.encode(g["text"]).ids == g["ids"], g["text"]
        assert g["attention_mask"] == [1] * len(g["ids"])
    lengths = [len(g["ids"]) for g in golden]
    assert min(lengths) == 2 and max(lengths) == bundle.max_len   # truncation is in the file
    emb = np.array([g["embedding"] for g in golden])
    assert emb.shape == (len(golden), bundle.dim)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("runtime, precision, least", [
    ("torch", None, 0.99999), ("executorch", "fp32", 0.9999), ("onnx", "fp32", 0.9999),
    ("executorch", "int8", 0.99), ("onnx", "int8", 0.99)])
def test_every_runtime_reproduces_the_golden_embeddings(bundle, runtime, precision, least):
    """The model's output against golden `embedding`; what `encode` returns (calibrated: the
    tiny preset centres its student) against `post_processed`, where fp32 leaves no slack."""
    golden = json.loads((bundle.folder / "golden.json").read_text("utf-8"))["items"]
    texts = [g["text"] for g in golden]
    raw = bundle.runner(runtime, precision)(bundle.tokenize(texts))
    assert cosine(raw, np.array([g["embedding"] for g in golden])).min() >= least
    got = bundle.encode(texts, runtime, precision)
    assert got.dtype == np.float32 and got.shape == (len(golden), bundle.dim)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    final = cosine(got, np.array([g["post_processed"] for g in golden]))
    assert final.min() >= (least if precision != "int8" else 0.9)


def test_one_token_and_max_len_inputs_run_without_re_export(bundle):
    reference = torch_runner(_torch_model(bundle), bundle.pad_id)
    ids = [[0], list(range(5, 5 + bundle.max_len)), [0, 7, 2]]
    want = reference(ids)
    for m in bundle.models:
        path = bundle.folder / m["file"]
        run = executorch_runner(path) if m["runtime"] == "executorch" else onnx_runner(path)
        least = 0.9999 if m["precision"] == "fp32" else 0.99
        assert cosine(run(ids), want).min() >= least, m


def _torch_model(bundle):
    from distill.student import StudentEncoder

    model = StudentEncoder.load(bundle.folder / "torch").model
    model.post_processing = False  # the programs' function: the bundle calibrates after them
    return model


def test_similarity_and_empty_input(bundle):
    a, b = "Ouvrir le fichier", "Die Datei öffnen"
    ea, eb = bundle.encode([a, b])
    assert bundle.similarity(a, b) == pytest.approx(float(ea @ eb), abs=1e-6)
    assert bundle.similarity(a, a) == pytest.approx(1.0, abs=1e-5)
    assert bundle.encode([]).shape == (0, bundle.dim)


@pytest.mark.parametrize("runtime, other", [("onnx", "executorch"), ("executorch", "onnx")])
def test_a_single_runtime_target_ships_its_program_only_and_encodes_with_it(
        tmp_path, student_dir, runtime, other):
    out = tmp_path / runtime
    export_bundle(student_dir, out, target=runtime)
    assert sorted(p.name for p in out.glob("model*")) == ["model" + SUFFIX[runtime]]
    b = Bundle.load(out)
    assert [(m["runtime"], m["precision"]) for m in b.models] == [(runtime, "int8")]
    with pytest.raises(EdgekitError, match=f"has no {other} model"):
        b.runner(other)
    golden = json.loads((out / "golden.json").read_text("utf-8"))["items"][:5]
    texts = [g["text"] for g in golden]
    raw = b.runner(runtime)(b.tokenize(texts))
    assert cosine(raw, np.array([g["embedding"] for g in golden])).min() >= 0.99
    got = b.encode(texts)  # no runtime named: the bundle's one program, then its calibration
    np.testing.assert_allclose(got, post_process(raw, **b.calibration), atol=1e-6)


def test_a_calibrated_bundle_applies_its_post_processing_after_the_program(bundle, student_dir):
    """The tiny preset calibrates its student: the programs end before the calibration, the
    bundle carries it in post_process.json, and `encode` gives the student's own embeddings,
    which the calibration moved away from the programs' output."""
    from distill.student import StudentEncoder

    student = StudentEncoder.load(student_dir)
    assert student.model.center.norm() > 0.5
    assert torch.allclose(student.model.directions @ student.model.directions.T, torch.eye(3),
                          atol=1e-4)
    assert bundle.manifest["post_process"] == {"file": "post_process.json",
                                               "kind": "all-but-the-top"}
    texts = ["Open the file", "Ouvrir le fichier", "Datei öffnen"]
    want = student.encode(texts)
    for runtime in ("torch", "onnx", "executorch"):
        assert cosine(bundle.encode(texts, runtime, "fp32"), want).min() > 0.9999, runtime
    raw = bundle.runner("onnx", "fp32")(bundle.tokenize(texts))
    assert cosine(raw, want).max() < 0.99
    golden = json.loads((bundle.folder / "golden.json").read_text("utf-8"))["items"]
    np.testing.assert_allclose(
        post_process(np.array([g["embedding"] for g in golden]), **bundle.calibration),
        np.array([g["post_processed"] for g in golden]), atol=1e-5)


PAIRS = [("Ouvrir le fichier", "Datei öffnen", "Open the file"),
         ("Enregistrer sous un autre nom", "Unter anderem Namen speichern", "Save as another name"),
         ("Le chat dort sur le canapé", "Die Katze schläft auf dem Sofa",
          "The cat sleeps on the sofa"),
         ("Imprimer la page courante", "Aktuelle Seite drucken", "Print the current page"),
         ("Il pleut depuis ce matin", "Es regnet seit heute Morgen", "It has rained since morning"),
         ("Fermer toutes les fenêtres", "Alle Fenster schließen", "Close all windows")]


def _eval_sets(root):
    """Tatoeba (fra, deu) and STS17 (fr-en) folders of a few real sentence pairs."""
    tat, sts = root / "tatoeba", root / "sts17"
    tat.mkdir(), sts.mkdir()
    for i, lang in enumerate(("fra", "deu")):
        (tat / f"tatoeba.{lang}-eng.{lang}").write_text("\n".join(p[i] for p in PAIRS) + "\n")
        (tat / f"tatoeba.{lang}-eng.eng").write_text("\n".join(p[2] for p in PAIRS) + "\n")
    rows = [f"{fr}\t{PAIRS[(i + shift) % len(PAIRS)][2]}\t{5.0 - shift}"
            for i, (fr, _, _) in enumerate(PAIRS) for shift in (0, 1, 3)]
    (sts / "STS17.fr-en.tsv").write_text("sentence1\tsentence2\tscore\n" + "\n".join(rows))
    return tat, sts


def test_eval_scores_a_bundles_program_as_it_scores_the_student(bundle_dir, student_dir,
                                                                 tmp_path, capsys):
    """`edgekit eval BUNDLE` runs the app's program and post-processing through the same
    evaluation as the student it came from: fp32 matches the student, int8 stays close."""
    from edgekit.api import load_encoder
    from edgekit.cli import main

    tat, sts = _eval_sets(tmp_path)
    scored = {}
    for name, model in [("student", [student_dir]), ("int8", [bundle_dir]),
                        ("fp32", [bundle_dir, "--runtime", "onnx", "--precision", "fp32"])]:
        out = tmp_path / f"{name}.json"
        assert main(["eval", *map(str, model), "--tatoeba", str(tat), "--langs", "fra,deu",
                     "--sts17", str(sts), "--json", str(out)]) == 0
        scored[name] = json.loads(out.read_text())
    assert scored["int8"]["model"] == f"{bundle_dir} (executorch-int8)"
    assert f"model: {bundle_dir} (onnx-fp32)" in capsys.readouterr().out
    assert scored["fp32"]["parameters"] == scored["student"]["parameters"]
    for task in ("tatoeba", "sts17"):
        assert scored["fp32"][task]["mean"] == pytest.approx(scored["student"][task]["mean"],
                                                             abs=0.5), task
        assert scored["int8"][task]["mean"] == pytest.approx(scored["student"][task]["mean"],
                                                             abs=10), task
    texts = [t for p in PAIRS for t in p] * 30  # more than one batch
    program = load_encoder(bundle_dir, "executorch", "fp32").encode(texts, batch_size=64)
    want = load_encoder(student_dir).encode(texts)
    assert program.shape == want.shape and cosine(program, want).min() > 0.9999


def test_eval_of_a_sentence_bundle_refuses_ner_scoring(bundle_dir, tmp_path, capsys):
    from edgekit.cli import main

    assert main(["eval", str(bundle_dir), "--uner-pud", str(tmp_path)]) == 2
    assert ("is a sentence-embedding bundle; --uner-pud evaluates NER bundles"
            in capsys.readouterr().err)


# ------------------------------------------------------------------ verification

def _copy(bundle_dir, tmp_path):
    dest = tmp_path / "b"
    shutil.copytree(bundle_dir, dest)
    return dest


def test_a_corrupted_file_is_refused(bundle_dir, tmp_path):
    b = _copy(bundle_dir, tmp_path)
    data = bytearray((b / "model.pte").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (b / "model.pte").write_bytes(bytes(data))
    with pytest.raises(EdgekitError, match="corrupted: model.pte does not match its sha256"):
        Bundle.load(b)


def test_a_missing_file_is_refused(bundle_dir, tmp_path):
    b = _copy(bundle_dir, tmp_path)
    (b / "tokenizer.json").unlink()
    with pytest.raises(EdgekitError, match="incomplete: tokenizer.json is missing"):
        Bundle.load(b)


@pytest.mark.parametrize("schema, message", [
    ("something.else/1", "is not an edgekit bundle"),
    ("edgekit.bundle/2", "has schema edgekit.bundle/2; this edgekit reads edgekit.bundle/1")])
def test_a_foreign_or_newer_schema_is_refused(bundle_dir, tmp_path, schema, message):
    b = _copy(bundle_dir, tmp_path)
    m = json.loads((b / "manifest.json").read_text())
    (b / "manifest.json").write_text(json.dumps({**m, "schema": schema}))
    with pytest.raises(EdgekitError, match=message):
        Bundle.load(b)


@pytest.mark.parametrize("content, kind, message", [
    ('{"center": [0.5], "directions": []}', "all-but-the-top",
     "has a centre of width 1, the embedding has"),
    ('{"centre": []}', "all-but-the-top", "is not a centre and a list of directions"),
    (None, "whitening", "post-processing 'whitening' is unknown to this edgekit")])
def test_a_wrong_post_processing_is_refused(bundle_dir, tmp_path, content, kind, message):
    """Rewritten with matching hashes: the file itself is what is wrong, in one line."""
    b = _copy(bundle_dir, tmp_path)
    if content is not None:
        (b / "post_process.json").write_text(content)
    m = json.loads((b / "manifest.json").read_text())
    m["files"]["post_process.json"] = {"size": (b / "post_process.json").stat().st_size,
                                       "sha256": sha256(b / "post_process.json")}
    m["post_process"]["kind"] = kind
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(EdgekitError, match=message):
        Bundle.load(b)


def test_a_folder_without_manifest_is_refused(tmp_path):
    with pytest.raises(EdgekitError, match="not an edgekit bundle"):
        Bundle.load(tmp_path)


def test_cli_embed_and_similarity(bundle_dir):
    run = [sys.executable, "-m", "edgekit.cli"]
    p = subprocess.run(run + ["embed", "--bundle", str(bundle_dir), "Bonjour", "Hallo"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # model.pte by default, and ExecuTorch's own notes kept quiet
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["Bonjour", "Hallo"]
    assert abs(np.linalg.norm(rows[0]["embedding"]) - 1) < 1e-4
    p = subprocess.run(run + ["similarity", "--bundle", str(bundle_dir), "--runtime", "onnx",
                              "Bonjour", "Bonjour"], capture_output=True, text=True)
    assert p.returncode == 0 and float(p.stdout) == pytest.approx(1.0, abs=1e-3)


def test_the_cli_is_quiet_unless_asked(bundle_dir):
    """ExecuTorch's native notes on the CPU it probes reach the user only with -v (the
    default run is the embed call above, whose stderr is empty)."""
    loud = subprocess.run([sys.executable, "-m", "edgekit.cli", "similarity", "--bundle",
                           str(bundle_dir), "--runtime", "executorch", "-v", "Bonjour",
                           "Hallo"], capture_output=True, text=True)
    assert loud.returncode == 0, loud.stderr
    if "cpuinfo" not in loud.stderr:
        pytest.skip("this machine's ExecuTorch prints no CPU notes to hide")


def test_cli_refuses_a_corrupted_bundle_in_one_line(bundle_dir, tmp_path):
    b = _copy(bundle_dir, tmp_path)
    (b / "golden.json").write_text("{}")
    p = subprocess.run([sys.executable, "-m", "edgekit.cli", "similarity", "--bundle", str(b),
                        "a", "b"], capture_output=True, text=True)
    assert p.returncode == 2
    assert "edgekit: error: bundle" in p.stderr and "golden.json" in p.stderr
    assert "Traceback" not in p.stderr


def _edit_manifest(b, change) -> None:
    m = json.loads((b / "manifest.json").read_text())
    change(m)
    (b / "manifest.json").write_text(json.dumps(m))


def _bpe_tokenizer(b) -> None:
    tj = json.loads((b / "tokenizer.json").read_text())
    tj["model"] = {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}
    (b / "tokenizer.json").write_text(json.dumps(tj))
    _edit_manifest(b, lambda m: m["files"]["tokenizer.json"].update(
        size=(b / "tokenizer.json").stat().st_size, sha256=sha256(b / "tokenizer.json")))


def _symlinked_outside(b) -> None:
    """A symlinked sub-folder leading out of the bundle, its file's hash made to match."""
    outside = b.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not the bundle's")
    (b / "sub").symlink_to(outside)
    _edit_manifest(b, lambda m: (m["tokenizer"].update(file="sub/secret"),
                                 m["files"].update({"sub/secret": {
                                     "size": 16, "sha256": sha256(outside / "secret")}})))


@pytest.mark.parametrize("spoil, message", [
    (lambda b: _edit_manifest(b, lambda m: m.pop("tokenizer")), "manifest.json lacks tokenizer"),
    (lambda b: _edit_manifest(b, lambda m: m["files"]["model.pte"].update(size="big")),
     "files.model.pte.size must be a whole number"),
    (lambda b: _edit_manifest(b, lambda m: m.update(models="x")), "models must be a list"),
    (lambda b: _edit_manifest(b, lambda m: m["tokenizer"].update(pad_id=10**12)),
     "tokenizer.pad_id 1000000000000 is outside the vocabulary"),
    (lambda b: _edit_manifest(b, lambda m: m.update(max_seq_len=0)), "max_seq_len 0 is out"),
    (_symlinked_outside, "manifest names a file outside it: sub/secret"),
    (_bpe_tokenizer, "declares a unigram tokenizer but tokenizer.json is bpe"),
])
def test_a_bad_manifest_is_one_line_naming_the_key(bundle_dir, tmp_path, spoil, message,
                                                  capsys):
    from edgekit.cli import main

    b = _copy(bundle_dir, tmp_path)
    spoil(b)
    assert main(["embed", "--bundle", str(b), "hello"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and message in err, err
    assert out == ""


def test_embed_streams_stdin_and_refuses_bad_utf8(bundle_dir):
    run = [sys.executable, "-m", "edgekit.cli", "embed", "--bundle", str(bundle_dir)]
    lines = [f"Sentence number {i}" for i in range(600)]  # three chunks
    p = subprocess.run(run, input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["text"] for x in out] == lines
    bundle = Bundle.load(bundle_dir)
    assert np.allclose(out[599]["embedding"], bundle.encode([lines[599]])[0], atol=1e-5)
    p = subprocess.run(run, input=b"fine\n\xff\xfe\n", capture_output=True)
    assert p.returncode == 2 and b"standard input line 2 is not UTF-8 text" in p.stderr
    assert b"Traceback" not in p.stderr


# ------------------------------------------------------------------ components

@pytest.mark.parametrize("bits, width, least, scales", [
    (8, 64, 0.9999, 1), (4, 64, 0.98, 1), (4, 256, 0.98, 2)])
def test_quantized_embedding_stays_close_to_the_table(bits, width, least, scales):
    """8-bit: one scale per row; 4-bit: one per group of up to 128 columns."""
    import executorch.exir.passes._quant_patterns_and_replacements  # noqa: F401

    torch.manual_seed(0)
    table = torch.nn.Embedding(500, width)
    q = QuantizedEmbedding(table.weight, bits)
    ids = torch.arange(500)
    got, want = q(ids), table(ids).detach()
    assert torch.nn.functional.cosine_similarity(got, want).min() >= least
    assert q.weight.numel() * q.weight.element_size() == 500 * width * bits // 8
    assert q.scales.numel() == 500 * scales


def test_a_spread_table_is_the_same_model_and_quantises_a_spiky_row_closely():
    """The table turned by an orthogonal matrix the projection takes back: the same
    embeddings in float; a row with one large value (as </s> has) keeps its direction in
    4-bit rows once turned, where alone its spike rounds the rest to zero."""
    import executorch.exir.passes._quant_patterns_and_replacements  # noqa: F401

    from distill.student import Student, StudentConfig

    torch.manual_seed(0)
    model = Student(StudentConfig(vocab_size=50, embed_dim=128, hidden_size=32, num_layers=1,
                                  num_recurrences=1, num_heads=4, intermediate_size=64,
                                  max_len=16, pad_id=0)).eval()
    with torch.no_grad():
        model.token_embed.weight.mul_(0.05)[3, 7] = 1.0  # row 3: one spike
    ids = torch.arange(16)[None]
    want = model.embed(ids)
    table = model.token_embed.weight.detach().clone()
    turned = spread_table(model)  # turns model.embed_proj in place
    with torch.no_grad():
        model.token_embed.weight.copy_(turned)
        assert torch.allclose(model.embed(ids), want, atol=1e-5)

    def kept(t: torch.Tensor) -> float:  # the spiky row's cosine after 4-bit, in float
        return float(torch.nn.functional.cosine_similarity(
            QuantizedEmbedding(t, 4)(torch.tensor([3])) @ model.embed_proj.weight.T,
            t[3:4] @ model.embed_proj.weight.T).item())

    assert kept(turned) > 0.99 > 0.95 > kept(table @ torch.eye(128))


def test_least_error_scales_clip_a_rare_large_value():
    """Never a larger rounding error than the largest value's scale; clearly smaller where
    one value stands far above the rest."""
    torch.manual_seed(0)
    groups = torch.randn(20, 1, 128)
    groups[0, 0, 5] = 12.0

    def error(scales: torch.Tensor) -> torch.Tensor:
        q = torch.round(groups / scales[..., None]).clamp(-8, 7) * scales[..., None]
        return ((q - groups) ** 2).sum(-1)

    absmax = groups.abs().amax(-1) / 7
    assert (error(least_error_scales(groups, 7)) <= error(absmax) + 1e-6).all()
    assert error(least_error_scales(groups, 7))[0] < 0.9 * error(absmax)[0]


def test_the_default_embedding_bits_follow_the_table():
    from distill.student import StudentConfig
    from export.bundle import default_embedding_bits

    assert [default_embedding_bits(StudentConfig(vocab_size=10, embed_dim=e))
            for e in (64, 128, 256, 384)] == [8, 8, 4, 8]  # 384 = H: no factorisation
    # a preset's choice (the `quality` preset: a 128-column table in 4-bit rows) wins
    assert [default_embedding_bits(StudentConfig(vocab_size=10, embed_dim=e, embedding_bits=b))
            for e, b in ((128, 4), (256, 8))] == [4, 8]


def test_4bit_rows_reach_the_onnx_model_too(student_dir, tmp_path):
    """With `embedding_bits = 4` the int8 ONNX model stores its token table as 4-bit blocks
    (the position table untouched) and computes nearly the 8-bit model's function. (The
    tiny student's 32-column table is below where the exporter picks 4 bits by itself.)"""
    import onnx
    import onnxruntime as ort

    from distill.student import StudentEncoder
    from export.to_onnx import to_onnx

    encoder = StudentEncoder.load(student_dir)
    encoder.model.post_processing = False
    outputs = []
    for bits in (8, 4):
        path = tmp_path / f"{bits}.onnx"
        to_onnx(encoder.model, path, "int8", embedding_bits=bits)
        session = ort.InferenceSession(str(path))
        outputs.append(np.stack([session.run(None, {
            "input_ids": np.array([x]), "attention_mask": np.ones((1, len(x)), np.int64)})[0][0]
            for x in encoder.tokenize(["Ouvrir le fichier", "Die Datei öffnen", "a"])]))
    gathers = {n.input[0]: n.op_type for n in onnx.load(str(path)).graph.node
               if "Gather" in n.op_type}
    assert gathers == {"token_embed.weight_Q4": "GatherBlockQuantized",
                       "pos_embed.weight": "Gather"}
    assert cosine(outputs[1], outputs[0]).min() > 0.98


def test_teacher_twin_computes_the_teachers_embeddings(teacher):
    texts = ["Open the file", "Ouvrir le fichier", "无法打开文件。"]
    twin = student_from_teacher(teacher)
    got = torch_runner(twin, teacher.pad_id)(teacher.tokenize(texts))  # "query: " included
    want = teacher.encode(texts)
    assert cosine(got, want).min() > 0.99999
    assert twin.config.num_layers == 12 and twin.config.num_recurrences == 1


def test_the_onnx_runtime_loads_neither_torch_nor_executorch(bundle_dir):
    """An edge Linux app that runs model.onnx pays for ONNX Runtime only."""
    code = ("import sys; from export.bundle import Bundle; "
            f"b = Bundle.load({str(bundle_dir)!r}); "
            "print(b.similarity('Bonjour', 'Bonjour', runtime='onnx')); "
            "print(sorted(m for m in ('torch', 'executorch') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    similarity, loaded = p.stdout.splitlines()
    assert float(similarity) == pytest.approx(1.0, abs=1e-3) and loaded == "[]"
