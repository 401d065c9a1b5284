"""The student model, its folder, and vocabulary pruning from the teacher."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from distill.encoding import pad_batch, tokenize
from distill.errors import EdgekitError
from distill.student import (
    Student,
    StudentConfig,
    StudentEncoder,
    check_shape_matches_teacher,
    init_from_teacher,
    neuron_statistics,
    num_parameters,
    save_student,
)
from distill.vocab import load_tokenizer_json, prune

TEXTS = ["Open the file", "Ouvrir le fichier", "Datei öffnen", "打开文件", "ファイルを開く",
         "Открыть файл", "فتح الملف"]


def tiny(**kw) -> StudentConfig:
    base = dict(vocab_size=50, embed_dim=8, hidden_size=32, num_layers=2, num_recurrences=2,
                num_heads=4, intermediate_size=64, max_len=16, pad_id=1)
    return StudentConfig(**{**base, **kw})


def test_output_is_normalised_and_ignores_padding():
    torch.manual_seed(0)
    model = Student(tiny()).eval()
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    padded = torch.tensor([[0, 5, 6, 7, 2, 1, 1, 1]])
    a = model(ids, torch.ones_like(ids))
    b = model(padded, (padded != 1).long())
    assert torch.allclose(a.norm(dim=-1), torch.ones(1))
    assert torch.allclose(a, b, atol=1e-5)


def test_parameters_are_shared_across_recurrences():
    once, twice = tiny(num_recurrences=1), tiny(num_recurrences=3)
    assert num_parameters(Student(once)) == num_parameters(Student(twice))
    expected_embed = 50 * 8 + 8 * 32 + 16 * 32 + 2 * 32
    layer = 4 * (32 * 32 + 32) + 2 * 2 * 32 + (32 * 64 + 64) + (64 * 32 + 32)
    assert num_parameters(Student(once)) == expected_embed + 2 * layer
    torch.manual_seed(0)
    model = Student(twice).eval()
    ids = torch.tensor([[0, 3, 4, 2]])
    deeper = model(ids, torch.ones_like(ids))
    model.config.num_recurrences = 1
    assert not torch.allclose(deeper, model(ids, torch.ones_like(ids)))


def test_save_and_load_round_trip(tmp_path, teacher):
    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    model = Student(tiny(vocab_size=len(old_ids))).eval()
    save_student(model, tj, tmp_path / "s", extra={"training": {"note": "x"}})
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        ".edgekit", "config.json", "model.safetensors", "tokenizer.json"]
    loaded = StudentEncoder.load(tmp_path / "s")
    assert loaded.info["training"] == {"note": "x"}
    direct = StudentEncoder(model, Tokenizer.from_str(json.dumps(tj))).encode(TEXTS)
    assert np.allclose(loaded.encode(TEXTS), direct, atol=1e-6)


def test_calibration_removes_the_common_component_and_spreads_the_cosines():
    """Raw embeddings sharing one large direction (cosine ~0.9 between unrelated rows) come
    out centred, free of the removed directions and spread apart; uncalibrated (zeros),
    post-processing changes nothing."""
    torch.manual_seed(0)
    model = Student(tiny(hidden_size=32, common_directions=2)).eval()
    raw = F.normalize(torch.randn(32) * 3 + 0.3 * torch.randn(200, 32), dim=-1)
    assert torch.allclose(model.post_process(raw), raw, atol=1e-6)
    model.calibrate(raw)
    out = model.post_process(raw)
    assert torch.allclose(out.norm(dim=-1), torch.ones(200), atol=1e-5)
    assert (out @ model.directions.T).abs().max() < 1e-5
    off_diagonal = ~torch.eye(200, dtype=torch.bool)
    assert (raw @ raw.T)[off_diagonal].mean() > 0.8
    assert (out @ out.T)[off_diagonal].mean().abs() < 0.05


def test_language_directions_bring_translations_together():
    """Three languages, each shifted by its own offset from the same meanings: the language
    directions remove what tells them apart, which the common ones alone do not; directions
    beyond what the languages' means span stay zero."""
    torch.manual_seed(0)
    axis = F.normalize(torch.randn(32), dim=0)  # where the meanings vary most: the common one
    meanings = torch.randn(100, 32) + 8 * torch.randn(100, 1) * axis
    langs = [F.normalize(meanings + 1.5 * torch.randn(32) + 0.1 * torch.randn(100, 32), dim=-1)
             for _ in range(3)]
    raw = torch.cat(langs)

    def translation_cosine(language_directions: int) -> tuple[float, torch.Tensor]:
        model = Student(tiny(hidden_size=32, common_directions=1,
                             language_directions=language_directions)).eval()
        model.calibrate(raw, langs)
        a, b = model.post_process(langs[0]), model.post_process(langs[1])
        return float((a * b).sum(-1).mean()), model.directions

    common_only, _ = translation_cosine(0)
    both, directions = translation_cosine(4)
    assert directions.shape == (5, 32)
    assert torch.allclose(directions[:3] @ directions[:3].T, torch.eye(3), atol=1e-5)
    assert not directions[3:].any()  # three languages' means span two directions
    assert abs(float(directions[0] @ axis)) > 0.99
    assert both > 0.95 and both > common_only + 0.2, (common_only, both)


def test_a_student_saved_before_calibration_loads_uncentred(tmp_path, teacher):
    from safetensors.torch import load_file, save_file

    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    torch.manual_seed(0)
    model = Student(tiny(vocab_size=len(old_ids))).eval()
    save_student(model, tj, tmp_path / "s")
    weights = tmp_path / "s" / "model.safetensors"
    state = load_file(weights)
    del state["center"], state["directions"]
    save_file(state, weights)
    direct = StudentEncoder(model, Tokenizer.from_str(json.dumps(tj))).encode(TEXTS)
    assert np.allclose(StudentEncoder.load(tmp_path / "s").encode(TEXTS), direct, atol=1e-6)


def test_pruned_vocabulary_tokenises_like_the_teacher(teacher):
    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    assert len(old_ids) < 5000  # from 250k
    student_tok = Tokenizer.from_str(json.dumps(tj))
    for text in TEXTS:
        ours = student_tok.encode(text)
        theirs = teacher.tokenizer.encode(text)
        assert ours.tokens == theirs.tokens
        assert [old_ids[i] for i in ours.ids] == theirs.ids
    # unseen words of seen characters still tokenise, without <unk>
    unk = tj["model"]["unk_id"]
    unseen = student_tok.encode("frire le fiche")
    assert unk not in unseen.ids
    assert "".join(unseen.tokens[1:-1]).replace("▁", " ").strip() == "frire le fiche"
    assert student_tok.token_to_id("<pad>") == old_ids.index(1)


def test_pruned_vocabulary_has_the_asked_size_and_keeps_the_frequent_pieces(teacher):
    tj_json = load_tokenizer_json(teacher.folder / "tokenizer.json")
    needed = len(prune(tj_json, TEXTS)[1])
    texts = TEXTS + ["la la la la la la la"]  # "la" is frequent: it must survive the cap
    size = needed - 5
    tj, old_ids, _ = prune(tj_json, texts, fill_to=size)
    assert len(old_ids) == size
    student_tok = Tokenizer.from_str(json.dumps(tj))
    assert "▁la" in student_tok.encode("la").tokens
    unk = tj["model"]["unk_id"]
    for text in TEXTS:  # rarer words fall apart into smaller pieces, never into <unk>
        ours = student_tok.encode(text)
        assert unk not in ours.ids
        assert "".join(ours.tokens[1:-1]).replace("▁", " ").strip() == " ".join(text.split())
    assert len(prune(tj_json, TEXTS, fill_to=needed + 50)[1]) == needed + 50  # topped up


def test_word_lists_rank_the_pieces_of_each_language(teacher, caplog):
    """German's frequent words keep their pieces though the corpus has no German sentence;
    a language without a word list warns and leaves its text to the corpus."""
    tj_json = load_tokenizer_json(teacher.folder / "tokenizer.json")
    texts = ["Ouvrir le fichier"]
    with caplog.at_level("WARNING", logger="edgekit"):
        tj, old_ids, mass = prune(tj_json, texts, fill_to=3000, languages=["de", "tlh"],
                                  words_per_language=5000)
    assert "'tlh'" in caplog.text
    assert len(old_ids) == len(mass) == 3000
    tok = Tokenizer.from_str(json.dumps(tj))
    for word in ("und", "nicht", "werden"):
        assert tok.encode(word).tokens[1:-1] == teacher.tokenizer.encode(word).tokens[1:-1]
    assert "▁fichier" in tok.encode("fichier").tokens  # the corpus's pieces stay too
    by_piece = dict(zip(tok.get_vocab(), [0.0] * len(old_ids), strict=True))
    by_piece.update({p: mass[i] for p, i in tok.get_vocab().items()})
    assert by_piece["▁und"] > by_piece["▁werden"] > 0


def test_word_lists_keep_the_capitalised_forms_text_is_written_in(teacher):
    """Word lists are lower-case; German writes every noun capitalised and every language
    starts its sentences so. Each word's frequency is split between the two forms by the
    teacher's Unigram scores: the nouns keep their capitalised pieces, while a function
    word's lower-case piece keeps most of its mass. Turkish capitalises i as İ."""
    tj_json = load_tokenizer_json(teacher.folder / "tokenizer.json")
    tj, _, mass = prune(tj_json, ["Ouvrir le fichier"], fill_to=3000, languages=["de", "tr"],
                        words_per_language=5000)
    tok = Tokenizer.from_str(json.dumps(tj))
    for word in ("Mann", "Frau", "Wasser", "Kinder", "İki"):
        assert tok.encode(word).tokens[1:-1] == ["▁" + word], word
    by_piece = {p: mass[i] for p, i in tok.get_vocab().items()}
    assert by_piece["▁und"] > 10 * by_piece["▁Und"] > 0
    assert by_piece["▁Wasser"] > 10 * by_piece.get("▁wasser", 0.0)


def test_word_list_mass_splits_a_word_between_its_forms(teacher):
    """Without piece scores each form gets half the word's frequency; a word that reads the
    same capitalised (a digit, a script without case) keeps it whole."""
    from distill.vocab import capitalised, word_list_mass

    tok = teacher.tokenizer
    mass = word_list_mass(tok, [("haus", 3.0), ("2024", 1.0)])
    ids = {p: i for p, i in tok.get_vocab().items()}
    assert mass[ids["▁Haus"]] == pytest.approx(0.375)
    assert sum(mass.values()) == pytest.approx(
        0.75 * (len(tok.encode("haus").ids) - 2 + len(tok.encode("Haus").ids) - 2) / 2
        + 0.25 * (len(tok.encode("2024").ids) - 2))
    assert capitalised("istanbul", "tr") == "İstanbul" and capitalised("ırmak", "tr") == "Irmak"
    assert capitalised("istanbul", "en") == "Istanbul"


def test_mass_weighted_svd_keeps_the_frequent_pieces_closer(teacher):
    """At E=16, weighting the SVD by the pieces' mass must reconstruct the heavy pieces'
    teacher rows better than the plain SVD does, and the light ones worse."""
    tj_json = load_tokenizer_json(teacher.folder / "tokenizer.json")
    _, old_ids, mass = prune(tj_json, TEXTS, fill_to=2000, languages=["fr"],
                             words_per_language=3000)
    word = next(v for k, v in teacher.model.state_dict().items()
                if k.endswith("embeddings.word_embeddings.weight"))[old_ids]
    heavy = torch.tensor(mass) >= torch.tensor(mass).quantile(0.95)

    def error(weighted: bool) -> tuple[float, float]:
        cfg = StudentConfig(vocab_size=len(old_ids), embed_dim=16, num_layers=1,
                            num_recurrences=1, max_len=16, pad_id=0)
        student = Student(cfg)
        init_from_teacher(student, teacher.model, old_ids, mass if weighted else None)
        with torch.no_grad():
            rebuilt = student.token_embed.weight @ student.embed_proj.weight.T
        err = (rebuilt - word).norm(dim=1)
        return float(err[heavy].mean()), float(err[~heavy].mean())

    (heavy_w, light_w), (heavy_p, light_p) = error(True), error(False)
    assert heavy_w < heavy_p and light_w > light_p


def test_init_from_teacher_reproduces_the_teacher(teacher):
    """All 12 layers, no bottleneck, one pass: the student *is* the teacher."""
    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    cfg = StudentConfig(vocab_size=len(old_ids), embed_dim=384, num_layers=12,
                        num_recurrences=1, max_len=64, pad_id=old_ids.index(1))
    student = Student(cfg)
    init_from_teacher(student, teacher.model, old_ids)
    enc = StudentEncoder(student, Tokenizer.from_str(json.dumps(tj)))
    ours = enc.encode(TEXTS)
    teacher.prefix, saved = "", teacher.prefix
    try:
        ref = teacher.encode(TEXTS)
    finally:
        teacher.prefix = saved
    assert (ours * ref).sum(1).min() > 0.9999


def _two_layer_student(teacher_model, old_ids: list[int], **shape) -> Student:
    """Two unfactorised layers started from `teacher_model`, its shape checked first."""
    cfg = StudentConfig(vocab_size=len(old_ids), embed_dim=384, num_layers=2,
                        num_recurrences=1, max_len=64, pad_id=old_ids.index(1), **shape)
    check_shape_matches_teacher(cfg, teacher_model.config)
    model = Student(cfg).eval()
    init_from_teacher(model, teacher_model, old_ids)
    return model


def test_teacher_layers_choose_which_layers_the_student_starts_from(teacher):
    """k=2 from the teacher's layers 0 and 11 must compute what the teacher does with its
    layers 1..10 skipped; a bad choice is refused in one line."""
    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    skipped = copy.deepcopy(teacher.model)
    skipped.encoder.layer = torch.nn.ModuleList([skipped.encoder.layer[i] for i in (0, 11)])
    skipped.config.num_hidden_layers = 2

    def student(layers: list[int], source) -> Student:
        return _two_layer_student(source, old_ids, teacher_layers=layers)

    ids = torch.tensor([[0, 5, 17, 40, 2]])
    mask = torch.ones_like(ids)
    chosen, reference = student([0, 11], teacher.model), student([], skipped)
    first_two = student([], teacher.model)
    assert torch.allclose(chosen.hidden_states(ids, mask), reference.hidden_states(ids, mask),
                          atol=1e-5)
    assert not torch.allclose(chosen.hidden_states(ids, mask),
                              first_two.hidden_states(ids, mask), atol=1e-3)
    for bad in ([0, 12], [3, 3], [0]):
        with pytest.raises(EdgekitError, match="teacher_layers"):
            student(bad, teacher.model)


def test_a_narrower_feed_forward_keeps_the_teachers_strongest_neurons(teacher):
    """Silence half of each teacher layer's feed-forward neurons: a student with half the
    width must keep exactly the others, so it computes what the full-width one does."""
    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    silenced = copy.deepcopy(teacher.model)
    gen = torch.Generator().manual_seed(0)
    for layer in silenced.encoder.layer[:2]:
        width = silenced.config.intermediate_size  # 1536
        dropped = torch.randperm(width, generator=gen)[: width // 2]
        with torch.no_grad():
            layer.intermediate.dense.weight[dropped] = 0
            layer.output.dense.weight[:, dropped] = 0

    def student(width: int) -> Student:
        return _two_layer_student(silenced, old_ids, intermediate_size=width)

    ids = torch.tensor([[0, 5, 17, 40, 2]])
    mask = torch.ones_like(ids)
    narrow, full = student(768), student(1536)
    assert num_parameters(narrow) < num_parameters(full)
    assert torch.allclose(narrow.hidden_states(ids, mask), full.hidden_states(ids, mask),
                          atol=1e-5)
    with pytest.raises(EdgekitError, match="intermediate_size 2048 exceeds"):
        student(2048)


def test_a_narrower_feed_forward_drops_the_constant_neurons_into_the_bias(teacher):
    """Make half of each teacher layer's neurons constant (no input weights, a bias): their
    output is then a fixed vector. Measured on text, the half-width student must drop
    exactly those and fold their output into the bias, computing what the full-width one
    does on any text; chosen by weight norms alone, it loses that vector."""
    tj, old_ids, _ = prune(load_tokenizer_json(teacher.folder / "tokenizer.json"), TEXTS)
    constant = copy.deepcopy(teacher.model)
    gen = torch.Generator().manual_seed(0)
    for layer in constant.encoder.layer[:2]:
        width = constant.config.intermediate_size
        fixed = torch.randperm(width, generator=gen)[: width // 2]
        with torch.no_grad():
            layer.intermediate.dense.weight[fixed] = 0
            layer.intermediate.dense.bias[fixed] = 1.0
    sample = [pad_batch(tokenize(teacher.tokenizer, TEXTS, 64), teacher.pad_id)]
    stats = neuron_statistics(constant, sample, [0, 1])
    assert set(stats) == {0, 1} and all(len(m) == len(s) == 1536 for m, s in stats.values())

    def student(width: int, measured: bool) -> Student:
        cfg = StudentConfig(vocab_size=len(old_ids), embed_dim=384, num_layers=2,
                            num_recurrences=1, max_len=64, pad_id=old_ids.index(1),
                            intermediate_size=width)
        model = Student(cfg).eval()
        init_from_teacher(model, constant, old_ids, neuron_stats=stats if measured else None)
        return model

    other = torch.tensor([[0, 5, 17, 40, 2]])  # text the statistics never saw
    full = student(1536, False).hidden_states(other, torch.ones_like(other))
    measured = student(768, True).hidden_states(other, torch.ones_like(other))
    by_weights = student(768, False).hidden_states(other, torch.ones_like(other))
    assert torch.allclose(measured, full, atol=1e-4)
    assert not torch.allclose(by_weights, full, atol=1e-2)


def test_overlong_text_is_truncated_with_a_warning(caplog):
    torch.manual_seed(0)
    tok_json = {"version": "1.0", "model": {"type": "WordPiece", "unk_token": "[UNK]",
                "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                "vocab": {"[UNK]": 0, "[PAD]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4}},
                "pre_tokenizer": {"type": "Whitespace"},
                "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3],
                                   "cls": ["[CLS]", 2]}}
    enc = StudentEncoder(Student(tiny(vocab_size=5)), Tokenizer.from_str(json.dumps(tok_json)))
    with caplog.at_level("WARNING", logger="edgekit"):
        ids = enc.tokenize(["a " * 100])
    assert len(ids[0]) == 16 and ids[0][0] == 2 and ids[0][-1] == 3
    assert "truncated" in caplog.text
    assert enc.encode(["a " * 100]).shape == (1, 32)
