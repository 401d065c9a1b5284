"""Recipes, stages, losses, gradual unfreezing, the teacher-output cache and torchrun DDP."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from distill.errors import EdgekitError
from distill.stages import (
    Stage,
    StageLoss,
    TeacherOnPieces,
    blocks_top_down,
    hidden_depths,
    hidden_targets,
    phase_of,
    trainable_blocks,
)
from distill.student import Student, StudentConfig
from distill.target_cache import TargetCache, text_key
from edgekit.presets import load_preset, load_recipe, preset_names, recipe_names

ROOT = Path(__file__).resolve().parents[1]


def tiny_student(k: int = 2, r: int = 2) -> Student:
    torch.manual_seed(0)
    return Student(StudentConfig(vocab_size=50, embed_dim=8, hidden_size=16, num_layers=k,
                                 num_recurrences=r, num_heads=2, intermediate_size=32,
                                 max_len=12, pad_id=0))


def test_every_shipped_recipe_and_preset_loads():
    assert {"ding", "xtremedistil", "tiny", "xtremedistil-ner", "ner-tiny"} <= set(
        recipe_names())
    for name in preset_names():  # each preset's recipe is for the preset's task
        preset = load_preset(name)
        assert preset["recipe"] in recipe_names()
        load_recipe(preset["recipe"], preset["task"])
    for name in recipe_names():
        task = "token-classification" if "ner" in name else "sentence-embedding"
        stages = [Stage.from_dict(s) for s in load_recipe(name, task)]
        assert stages and abs(sum(s.share for s in stages) - 1.0) < 1e-6, name
    kinds = {Stage.from_dict(s).kind for s in load_recipe("tiny")}
    assert kinds == {"align", "kd", "mcl", "infonce"}  # the tests exercise every kind
    ner_kinds = {Stage.from_dict(s).kind for s in load_recipe("ner-tiny",
                                                            "token-classification")}
    assert ner_kinds == {"repr", "logits", "labels"}


@pytest.mark.parametrize("bad, message", [
    ({"kind": "magic"}, "kind 'magic'"),
    ({"share": 0.5}, "no kind"),
    ({"kind": "kd", "sharee": 0.5}, "unknown setting sharee"),
    ({"kind": "kd", "train": "heads"}, "train 'heads'"),
    ({"kind": "kd", "share": 0}, "share must be positive"),
    ({"kind": "logits", "unlabelled_share": 0.5}, "unlabelled_share is for kind labels"),
    ({"kind": "labels", "unlabelled_share": 1.0}, "up to \\(not including\\) 1"),
    ({"kind": "align", "neighbours": 16}, "neighbours is for kinds kd, mcl and infonce"),
    ({"kind": "repr", "centred": True}, "centred is for kinds kd, mcl and infonce"),
])
def test_bad_stage_settings_are_named(bad, message):
    with pytest.raises(EdgekitError, match=message):
        Stage.from_dict(bad)


def test_unknown_recipe_lists_the_shipped_ones(tmp_path):
    with pytest.raises(EdgekitError, match="ding"):
        load_recipe("nope")
    empty = tmp_path / "r.toml"
    empty.write_text("stage = []\n")
    with pytest.raises(EdgekitError, match="at least one stage"):
        load_recipe(str(empty))


def test_hidden_points_are_evenly_spaced():
    assert hidden_targets(2, 12) == [6, 12]
    assert hidden_depths(2, 6) == [3, 6]       # k=3, r=2: after each pass
    assert hidden_depths(3, 6) == [2, 4, 6]


def test_gradual_unfreezing_trains_top_down():
    student = tiny_student(k=2, r=1)
    stage = Stage.from_dict({"kind": "kd", "unfreeze": True})
    blocks = trainable_blocks(stage, student)
    assert blocks == blocks_top_down(student) and len(blocks) == 3  # layer1, layer0, embed
    assert [phase_of(s, 9, 3, True) for s in range(9)] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert phase_of(0, 9, 3, False) == 3
    # phase 1: one real optimiser step moves the top layer only
    loss_mod = StageLoss(stage, student, None, 16)
    before = {n: p.detach().clone() for n, p in student.named_parameters()}
    student.requires_grad_(False)
    for p in blocks[0]:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([p for b in blocks for p in b], lr=1e-2)
    batch = _batch(student)
    loss, _ = loss_mod(batch)
    loss.backward()
    opt.step()
    moved = {n for n, p in student.named_parameters() if not torch.equal(p, before[n])}
    assert moved and all(n.startswith("layers.1.") for n in moved)


def _batch(student: Student, pairs: int = 4) -> dict:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 50, (pairs, 7), generator=g)
    mask = torch.ones_like(ids)
    target = F.normalize(torch.randn(pairs, 16, generator=g), dim=-1)
    return {"a_ids": ids, "a_mask": mask, "b_ids": ids.flip(1), "b_mask": mask,
            "pair": torch.ones(pairs, dtype=torch.bool), "t_embedding": target}


def test_mcl_and_infonce_reward_the_teachers_geometry():
    student = tiny_student()
    batch = _batch(student)
    with torch.no_grad():
        s_en = student(batch["a_ids"], batch["a_mask"])
    # a teacher whose embeddings equal the student's English ones: KD is then only the
    # xx side, and MCL asks cos(en_i, xx_j) to match cos(en_i, en_j)
    batch["t_embedding"] = s_en
    mcl = StageLoss(Stage.from_dict({"kind": "mcl", "mse_weight": 0.0}), student, None, 16)
    with torch.no_grad():
        s_xx = student(batch["b_ids"], batch["b_mask"])
        expected = ((s_en @ s_xx.T - s_en @ s_en.T) ** 2).mean()
        assert torch.allclose(mcl(batch)[0], expected)
    nce = StageLoss(Stage.from_dict({"kind": "infonce", "mse_weight": 0.0}), student, None, 16)
    aligned = dict(batch, b_ids=batch["a_ids"])          # xx_i == en_i: the right answer
    shuffled = dict(batch, b_ids=batch["a_ids"].roll(1, 0))
    with torch.no_grad():
        assert nce(aligned)[0] < nce(shuffled)[0]


def test_similarity_weight_matches_the_teachers_centred_cosine_matrix():
    """The term compares in-batch cosines of batch-centred embeddings, side by side: zero when
    the teacher is the student, blind to a component every teacher embedding shares, and
    positive when the teacher pairs the sentences differently."""
    student = tiny_student()
    batch = _batch(student)
    with torch.no_grad():
        s_en = student(batch["a_ids"], batch["a_mask"])
        s_xx = student(batch["b_ids"], batch["b_mask"])
    stage = Stage.from_dict({"kind": "kd", "mse_weight": 0.0, "similarity_weight": 1.0})
    loss = StageLoss(stage, student, None, 16)
    pair = batch["pair"]

    def centred(e):
        e = F.normalize(e - e.mean(0), dim=-1)
        return e @ e.T

    with torch.no_grad():
        assert loss(dict(batch, t_embedding=s_en))[1]["similarity"] == pytest.approx(
            ((centred(s_xx) - centred(s_en[pair])) ** 2).mean().item(), rel=1e-5)
        same = dict(batch, b_ids=batch["a_ids"], t_embedding=s_en)
        assert loss(same)[0].item() == pytest.approx(0.0, abs=1e-6)
        shifted = s_en + torch.randn(s_en.shape[1])  # one vector added to every embedding
        assert loss(dict(same, t_embedding=shifted))[0].item() == pytest.approx(0.0, abs=1e-5)
        shuffled = s_en[torch.randperm(len(s_en), generator=torch.Generator().manual_seed(0))]
        assert loss(dict(same, t_embedding=shuffled))[0].item() > 1e-3


def test_bfloat16_layers_train_on_the_float32_loss_within_bfloat16_precision():
    """bf16 autocasts the student's layers only: the loss is the float32 one to bfloat16's
    few digits, and its gradients reach every trained weight in float32."""
    student = tiny_student()
    batch = _batch(student)
    stage = Stage.from_dict({"kind": "kd", "similarity_weight": 30.0})
    loss32, parts32 = StageLoss(stage, student, None, 16)(batch)
    loss16, parts16 = StageLoss(stage, student, None, 16, bf16=True)(batch)
    assert loss16.dtype == torch.float32 and loss16.item() != loss32.item()
    assert loss16.item() == pytest.approx(loss32.item(), rel=0.05)
    assert parts16["mse"] == pytest.approx(parts32["mse"], rel=0.05)
    loss16.backward()
    grads = [p.grad for p in student.parameters()]
    assert all(g is not None and g.dtype == torch.float32 and g.isfinite().all()
               for g in grads)


def test_training_precision_is_named_when_wrong(tmp_path):
    from distill.train import DistillConfig, TrainConfig, distill

    cfg = DistillConfig("t", tmp_path, tmp_path / "out", train=TrainConfig(precision="fp8"))
    with pytest.raises(EdgekitError, match="precision 'fp8': one of auto, float32, bfloat16"):
        distill(cfg)


def test_representation_transfer_starts_from_an_identity_projection():
    student = tiny_student(k=2, r=2)
    stage = Stage.from_dict({"kind": "kd", "hidden_weight": 1.0, "hidden_points": 2})
    loss_mod = StageLoss(stage, student, None, 16)
    assert [torch.equal(p.weight, torch.eye(16)) for p in loss_mod.proj] == [True, True]
    batch = _batch(student)
    with torch.no_grad():
        _, hidden, _ = loss_mod._encode(batch["a_ids"], batch["a_mask"])
    # targets equal to the student's own pooled states after pass 1 and 2: zero hidden loss
    batch["t_hidden0"], batch["t_hidden1"] = hidden[0], hidden[1]
    batch["pair"] = torch.zeros(4, dtype=torch.bool)
    with torch.no_grad():
        _, parts = loss_mod(batch)
    assert parts["hidden"] == pytest.approx(0.0, abs=1e-5)


class _HiddenStates(torch.nn.Module):
    """A stand-in for a Hugging Face encoder: `model(input_ids=, attention_mask=)` with a
    `last_hidden_state` from `states(ids, mask)`."""

    def __init__(self, states):
        super().__init__()
        self.states = states

    def forward(self, input_ids, attention_mask):
        return type("Out", (), {"last_hidden_state": self.states(input_ids, attention_mask)})


def test_the_teacher_reads_the_students_pieces_through_their_teacher_ids():
    table = torch.randn(100, 4)
    old_ids = [7, 3, 99, 0, 42]
    pieces = TeacherOnPieces(_HiddenStates(lambda ids, mask: table[ids]), old_ids)
    ids = torch.tensor([[0, 1, 4], [2, 2, 3]])
    assert torch.equal(pieces(ids, torch.ones_like(ids)),
                       table[torch.tensor([[7, 3, 42], [99, 99, 0]])])


def test_token_weight_matches_every_real_piece_to_the_teachers_state():
    """Zero when the teacher's per-piece states are the student's own, whatever the teacher
    says at padded positions; positive when they differ on real pieces."""
    student = tiny_student(k=2, r=1)
    batch = _batch(student)
    batch["a_mask"] = batch["a_mask"].clone()
    batch["a_mask"][0, 5:] = 0  # the first text is two pieces shorter: padding

    def own_states(ids, mask, noise_at_padding=True):
        x = student.embed(ids)
        for layer in student.layers:
            x = layer(x, student.attention_bias(mask))
        if noise_at_padding:
            x = torch.where(mask.unsqueeze(-1).bool(), x, torch.randn_like(x))
        return x

    stage = Stage.from_dict({"kind": "kd", "mse_weight": 0.0, "token_weight": 1.0})
    identity = list(range(student.config.vocab_size))
    same = StageLoss(stage, student, None, 16, TeacherOnPieces(_HiddenStates(own_states),
                                                               identity))
    other = StageLoss(stage, student, None, 16, TeacherOnPieces(
        _HiddenStates(lambda ids, mask: -own_states(ids, mask)), identity))
    with torch.no_grad():
        loss, parts = same(batch)
        assert parts["token"] == pytest.approx(0.0, abs=1e-5)
        assert loss.item() == pytest.approx(0.0, abs=1e-5)
        assert other(batch)[1]["token"] == pytest.approx(4.0, abs=1e-4)  # 2 per side
    with pytest.raises(EdgekitError, match="token_weight"):
        StageLoss(stage, student, None, 16)(batch)


def test_centred_kd_compares_directions_from_the_teachers_mean():
    """With `centred`, a student that points the teacher's way from the teacher's mean has
    no KD loss however far it lies from the teacher; one pointing the other way has the
    most. Uncentred, the same student is penalised for the distance."""
    student = tiny_student(k=2, r=1)
    batch = _batch(student)
    batch["pair"] = torch.zeros(4, dtype=torch.bool)  # one side: the English texts
    with torch.no_grad():
        s_en = student(batch["a_ids"], batch["a_mask"])
    centre = 0.5 * F.normalize(torch.ones(16), dim=0)
    plain = StageLoss(Stage.from_dict({"kind": "kd"}), student, None, 16)
    centred = StageLoss(Stage.from_dict({"kind": "kd", "centred": True}), student, None, 16,
                        teacher_centre=centre)
    with torch.no_grad():
        batch["t_embedding"] = centre + 3 * (s_en - centre)  # same direction, farther out
        assert centred(batch)[1]["mse"] == pytest.approx(0.0, abs=1e-5)
        assert plain(batch)[1]["mse"] > 0.5
        batch["t_embedding"] = centre - (s_en - centre)  # the opposite direction
        assert centred(batch)[1]["mse"] == pytest.approx(4.0, abs=1e-4)
    with pytest.raises(EdgekitError, match="centred"):
        StageLoss(Stage.from_dict({"kind": "kd", "centred": True}), student, None, 16)


def test_target_cache_fills_once_and_survives_a_new_process(tmp_path):
    calls = []

    def compute(texts, views):
        calls.append(list(texts))
        return {v: np.array([[len(t), i] for t in texts], dtype=np.float32)
                for i, v in enumerate(views)}

    # a text whose key ends in a zero byte: numpy's "S16" would silently drop it
    zero_end = next(f"t{i}" for i in range(100000) if text_key(f"t{i}")[-1] == 0)
    texts = ["a", "bb", "a", zero_end]
    cache = TargetCache(tmp_path, "teacher-x")
    cache.fill(["embedding", "layer6"], texts, compute, chunk=2, progress=False)
    assert calls == [["a", "bb"], [zero_end]]
    assert cache.get("embedding", texts)[:, 0].tolist() == [1, 2, 1, len(zero_end)]
    again = TargetCache(tmp_path, "teacher-x")
    assert again.missing(["embedding", "layer6"], [*texts, "ccc"]) == ["ccc"]
    again.fill(["embedding"], ["ccc", "a"], compute, progress=False)
    assert calls[-1] == ["ccc"]
    assert again.get("layer6", ["bb"]).tolist() == [[2, 1]]
    assert TargetCache(tmp_path, "teacher-y").missing(["embedding"], ["a"]) == ["a"]


def test_the_teacher_labels_and_training_read_only_the_rows_the_longest_stage_reaches(
        tmp_path):
    from distill.train import DistillConfig, Processes, TrainConfig, _batches, _chunks, rows_reached

    (tmp_path / "train.tsv").write_text("".join(f"fr\tline {i}\tligne {i}\n"
                                                for i in range(100)))
    (tmp_path / "mono.tsv").write_text("")
    stages = [{"kind": "kd", "share": 0.3}, {"kind": "kd", "share": 0.5},
              {"kind": "infonce", "share": 0.2}]
    cfg = DistillConfig("t", tmp_path, tmp_path / "out", stages=stages,
                        train=TrainConfig(steps=10, batch_size=4, chunk_rows=16))
    assert rows_reached(cfg) == 5 * 4  # the 5-step stage, 4 rows a step
    chunks = list(_chunks(cfg))
    assert [len(c) for c in chunks] == [16, 4]
    # a whole pass of the longest stage reads each of those rows once, and no other row
    tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    seen = [r[1] for rows, _, _ in itertools.islice(
        _batches(cfg, tokenizer, 8, 0, Processes()), 5) for r in rows]
    assert sorted(seen) == sorted(r[1] for c in chunks for r in c)


def test_neighbour_batches_group_the_texts_the_vectors_put_together():
    from distill.train import neighbour_batches

    torch.manual_seed(0)
    topics = torch.randn(40, 32)  # 40 topics of 16 texts each, shuffled
    label = torch.randperm(640) % 40
    vectors = topics[label] + 0.2 * torch.randn(640, 32)
    batches = neighbour_batches(vectors, batch_size=64, group=16, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(640))  # every row once
    assert [len(b) for b in batches] == [64] * 10
    groups = [b[i : i + 16] for b in batches for i in range(0, 64, 16)]
    same = [(label[i] == label[j]).item() for g in groups
            for i, j in itertools.combinations(g, 2)]
    assert sum(same) / len(same) > 0.7  # two texts of a group share a topic; at random 1/40
    again = neighbour_batches(vectors, batch_size=64, group=16, seed=1)
    assert again == batches and neighbour_batches(vectors, 64, 16, seed=2) != batches


def test_a_batch_of_neighbours_is_encoded_in_length_slices_to_the_same_loss():
    """Slices of similar length, each padded to its own longest text, give the loss and
    gradients of the whole padded batch (attention and pooling ignore the padding)."""
    student = tiny_student()
    g = torch.Generator().manual_seed(2)
    lengths = torch.randint(1, 12, (2, 40), generator=g)
    batch = {"pair": torch.ones(40, dtype=torch.bool),
             "t_embedding": F.normalize(torch.randn(40, 16, generator=g), dim=-1),
             "t_hidden0": torch.randn(40, 16, generator=g)}
    for side, n in zip("ab", lengths, strict=True):
        mask = (torch.arange(12) < n[:, None]).long()
        batch[f"{side}_ids"], batch[f"{side}_mask"] = torch.randint(1, 50, (40, 12),
                                                                   generator=g) * mask, mask
    settings = {"kind": "kd", "similarity_weight": 30.0, "hidden_weight": 1.0,
                "hidden_points": 1}
    results = []
    for neighbours in (0, 16):
        loss_mod = StageLoss(Stage.from_dict({**settings, "neighbours": neighbours}),
                             student, None, 16)
        student.zero_grad()
        loss, _ = loss_mod(batch)
        loss.backward()
        results.append((loss.item(), student.layers[0].query.weight.grad.clone()))
    (whole, grad_whole), (sliced, grad_sliced) = results
    assert sliced == pytest.approx(whole, rel=1e-5)
    assert torch.allclose(grad_sliced, grad_whole, atol=1e-6)


def test_a_run_resumes_with_another_thread_count_but_not_other_settings():
    from distill.train import DistillConfig, TrainConfig

    def fingerprint(**train) -> str:
        return DistillConfig("t", Path("corpus"), Path("out"),
                             train=TrainConfig(**train)).fingerprint()

    assert fingerprint(threads=1) == fingerprint(threads=2)
    assert fingerprint(steps=700) != fingerprint(steps=2800)


def test_distill_logs_every_stage_and_reuses_the_cached_teacher_outputs(student_dir,
                                                                         edgekit_cache):
    info = json.loads((student_dir / "config.json").read_text())["training"]
    assert [s["kind"] for s in info["stages"]] == ["align", "kd", "mcl", "infonce"]
    for s in info["stages"]:
        assert 0 <= s["dev_retrieval"] <= 100 and s["steps"] >= 1
    assert "hidden" in info["stages"][1] and "align" in info["stages"][0]
    shards = list((edgekit_cache / "targets").glob("*/embedding/*.keys.npy"))
    assert shards


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo")
def test_torchrun_trains_with_two_processes(tmp_path, student_dir, edgekit_cache):
    corpus = Path(f"{student_dir}.corpus")
    out = tmp_path / "ddp-student"
    env = {**os.environ, "EDGEKIT_CACHE": str(edgekit_cache), "OMP_NUM_THREADS": "1"}
    torchrun = Path(sys.executable).parent / "torchrun"
    r = subprocess.run([str(torchrun), "--nproc_per_node", "2", "--master_port", "29533",
                        "-m", "edgekit", "distill", "--preset", "tiny", "--corpus",
                        str(corpus), "--out", str(out), "--steps", "10"],
                       capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((out / "config.json").read_text())["training"]
    assert info["processes"] == 2
    assert not Path(f"{out}.partial").exists()
