"""The bundle: a folder an app can trust, and the code that writes and reads it.

    manifest.json   schema edgekit.bundle/1: task, dims, tokenizer kind, models, every file's
                    size and sha256, teacher, quality, sizes, parity figures
    model.pte       ExecuTorch program, XNNPACK (targets android, linux)
    model.onnx      ONNX (targets android, linux, onnx)
    tokenizer.json  HF tokenizers format, truncation to max_len included
    golden.json     texts -> token ids, attention mask, reference embedding
    post_process.json  a calibrated student's centre and common directions, applied after the
                    model in float (absent for uncalibrated students and taggers)
    torch/          the PyTorch weights as a student folder (target linux only)

`model.pte` / `model.onnx` have the bundle's precision; target linux also keeps the other
precision as `model-fp32.pte` / `model-int8.onnx` etc. for benchmarks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from distill.encoding import tokenize
from distill.errors import EdgekitError
from distill.fsutil import atomic_dir
from distill.ner import WORD_RULE, encode_words, entities, split_words, word_tags, words_of
from distill.progress import progress_bar
from export import parity
from export.golden import GOLDEN_NER_TEXTS, GOLDEN_TEXTS, golden_ner_record, golden_record
from export.runtimes import RUNTIMES, executorch_runner, onnx_runner, torch_runner

log = logging.getLogger("edgekit")

SCHEMA = "edgekit.bundle/1"
TARGETS = ("android", "linux", "onnx", "executorch")
PRECISIONS = ("int8", "fp32")
SUFFIX = {"executorch": ".pte", "onnx": ".onnx"}
POST_PROCESS = "post_process.json"
TOKENIZER_KINDS = {"Unigram": "unigram", "WordPiece": "wordpiece"}


def model_file(runtime: str, precision: str, default: str) -> str:
    stem = "model" if precision == default else f"model-{precision}"
    return stem + SUFFIX[runtime]


def default_embedding_bits(config) -> int:
    """4-bit rows for a factorised table of 256 columns or more, where they cost the default
    student's start under a point of Tatoeba and halve the bulk of the file; 8-bit for
    narrower tables and unfactorised ones (a teacher's). A student's preset may choose."""
    if getattr(config, "embedding_bits", 0):
        return config.embedding_bits
    return 4 if 256 <= config.embed_dim < config.hidden_size else 8


def check_options(target: str, precision: str, embedding_bits: int | None) -> None:
    if target not in TARGETS:
        raise EdgekitError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if precision not in PRECISIONS:
        raise EdgekitError(f"unknown precision {precision!r}: use int8 or fp32")
    if embedding_bits not in (None, 4, 8):
        raise EdgekitError(f"embedding bits must be 4 or 8, not {embedding_bits}")


def kept_variants(target: str, precision: str) -> list[tuple[str, str]]:
    """(runtime, precision) pairs a target ships; the bundle's precision first."""
    runtimes = [target] if target in ("onnx", "executorch") else ["executorch", "onnx"]
    precisions = list(PRECISIONS) if target == "linux" else [precision]
    precisions.sort(key=lambda p: p != precision)
    return [(r, p) for p in precisions for r in runtimes]


def bundle_tokenizer(tokenizer_json: dict, max_len: int) -> dict:
    """The tokenizer with truncation to max_len, so the file alone reproduces our ids."""
    kind = tokenizer_json.get("model", {}).get("type")
    if kind not in TOKENIZER_KINDS:
        raise EdgekitError(f"tokenizer kind {kind!r} is not supported in bundles (the app "
                           f"reads {', '.join(TOKENIZER_KINDS)})")
    return {**tokenizer_json, "padding": None,
            "truncation": {"direction": "Right", "max_length": max_len,
                           "strategy": "LongestFirst", "stride": 0}}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _runner(runtime: str, path: Path, pad_id: int):
    return executorch_runner(path) if runtime == "executorch" else onnx_runner(path, pad_id)


def _lower(source, runtime: str, precision: str, path: Path,
           calibration: list[list[int]], embedding_bits: int) -> None:
    if runtime == "executorch":
        from export.to_pte import to_pte

        to_pte(source.model, path, precision, calibration, embedding_bits)
    else:
        from export.to_onnx import to_onnx

        to_onnx(source.model, path, precision, embedding_bits)


def _calibration(model) -> dict[str, np.ndarray] | None:
    """A calibrated sentence student's centre and directions (float32 arrays)."""
    if model.config.labels or not model.calibrated:
        return None
    return {"center": model.center.numpy().astype(np.float32),
            "directions": model.directions.numpy().astype(np.float32)}


def post_process(embeddings: np.ndarray, center: np.ndarray, directions: np.ndarray
                 ) -> np.ndarray:
    """What a calibrated bundle does after its model (`Student.post_process`, in numpy):
    subtract `center`, remove the components along the rows of `directions`, normalise."""
    e = np.asarray(embeddings, dtype=np.float32) - center
    e = e - (e @ directions.T) @ directions
    return e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), 1e-12)


def export_bundle(model: str | Path, out: str | Path, target: str = "linux",
                  precision: str = "int8", embedding_bits: int | None = None,
                  quality: dict | None = None) -> dict:
    """Export a student folder (or a teacher) into a verified bundle folder; returns the
    manifest. The target's variants and their fp32 twins are lowered and checked against
    PyTorch; the target decides which are kept. Raises EdgekitError, leaving nothing at
    `out`, when parity fails."""
    # torch is imported here: writing a bundle needs it, reading one does not
    from distill.student import num_parameters, save_student
    from export.source import load_source

    check_options(target, precision, embedding_bits)
    keep = kept_variants(target, precision)
    out = Path(out)
    source = load_source(model)
    config = source.model.config
    embedding_bits = embedding_bits or default_embedding_bits(config)
    tok_json = bundle_tokenizer(source.tokenizer_json, config.max_len)
    tokenizer = Tokenizer.from_str(json.dumps(tok_json))
    training_tokenizer = Tokenizer.from_str(json.dumps(source.tokenizer_json))
    if config.labels:
        words = [words_of(t) for _, t in GOLDEN_NER_TEXTS]
        encoded = [encode_words(tokenizer, w, config.max_len) for w in words]
        ids = [x for x, _ in encoded]
        training_ids = [encode_words(training_tokenizer, w, config.max_len)[0] for w in words]
    else:
        texts = [t for _, t in GOLDEN_TEXTS]
        ids = [e.ids for e in tokenizer.encode_batch([source.text_prefix + t for t in texts])]
        training_ids = tokenize(training_tokenizer, texts, config.max_len, source.text_prefix,
                                warn=False)
    if ids != training_ids:
        raise EdgekitError("the bundle tokenizer disagrees with the training tokenizer")
    # the golden texts span 2..max_len tokens; also probe a single token
    probes = ids + [ids[0][:1]]
    calibration = _calibration(source.model)
    final = torch_runner(source.model, config.pad_id)(probes) if calibration else None
    # the programs end before the calibration: int8 error is measured on what int8 computes,
    # and the bundle applies post_process.json in float (docs/bundle-format.md)
    source.model.post_processing = False
    probe_reference = torch_runner(source.model, config.pad_id)(probes)
    reference = probe_reference[: len(ids)]
    if config.labels:
        golden = golden_ner_record(GOLDEN_NER_TEXTS, words, ids, [f for _, f in encoded],
                                   reference, config.labels)
    else:
        golden = golden_record(GOLDEN_TEXTS, source.text_prefix, ids, reference,
                               None if final is None else final[: len(ids)])

    # the kept variants, plus the fp32 twin of each so that int8 parity is always reported
    # next to fp32 (for a teacher, --precision fp32 lowers only fp32)
    variants = list(dict.fromkeys(keep + [(r, "fp32") for r, _ in keep]))
    started = time.time()
    with atomic_dir(out) as tmp:
        figures, sizes = {}, {}
        for runtime, prec in progress_bar(variants, desc="export", unit="model", leave=False):
            name = model_file(runtime, prec, precision)
            t0 = time.time()
            _lower(source, runtime, prec, tmp / name, ids, embedding_bits)
            outputs = _runner(runtime, tmp / name, config.pad_id)(probes)
            key = f"{runtime}-{prec}"
            figures[key] = parity.cosines(probe_reference, outputs)
            if calibration:
                # reported, not gated: the calibration removes the component all embeddings
                # share, so the same int8 error is a larger share of what is left
                after = parity.cosines(final, post_process(outputs, **calibration))
                figures[key]["post_processed"] = {k: after[k] for k in ("min", "mean")}
            sizes[key] = (tmp / name).stat().st_size
            log.info("%s: %.1f MB, cosine min %.5f mean %.5f (%.0f s)", key, sizes[key] / 1e6,
                     figures[key]["min"], figures[key]["mean"], time.time() - t0)
            if (runtime, prec) not in keep:
                (tmp / name).unlink()
        parity.check(figures)

        (tmp / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False),
                                            encoding="utf-8")
        (tmp / "golden.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1),
                                         encoding="utf-8")
        if calibration:
            (tmp / POST_PROCESS).write_text(json.dumps(
                {k: np.asarray(v).round(7).tolist() for k, v in calibration.items()}))
        if target == "linux":
            save_student(source.model, tok_json, tmp / "torch")
        manifest = {
            "schema": SCHEMA,
            "task": config.task,
            **task_fields(config),
            "max_seq_len": config.max_len,
            "text_prefix": source.text_prefix,
            "languages": source.languages,
            "tokenizer": {"file": "tokenizer.json",
                          "kind": TOKENIZER_KINDS[tok_json["model"]["type"]],
                          "pad_id": config.pad_id},
            **({"post_process": {"file": POST_PROCESS, "kind": "all-but-the-top"}}
               if calibration else {}),
            "inputs": [{"name": n, "dtype": "int64", "shape": ["batch", "seq"]}
                       for n in ("input_ids", "attention_mask")],
            "models": [{"runtime": r, "precision": p, "file": model_file(r, p, precision),
                        **({"backend": "xnnpack", "batch_size": 1} if r == "executorch"
                           else {"batch_size": "dynamic"}),
                        "embedding_bits": embedding_bits if p == "int8" else 32}
                       for r, p in keep],
            "target": target,
            "source": {"kind": source.kind, "name": source.name,
                       "config": asdict(config)},
            "teacher": source.teacher,
            "quality": {**({"dev_retrieval": source.training["dev_retrieval"]["mean"]}
                           if "dev_retrieval" in source.training else {}),
                        **({"dev_f1": source.training["dev_f1"]}
                           if "dev_f1" in source.training else {}), **(quality or {})},
            "size": {"parameters": num_parameters(source.model),
                     "teacher_parameters": source.training.get("teacher_parameters"),
                     "bytes": sizes},
            "parity": {"texts": len(probes), "cosine": figures},
            "export_seconds": round(time.time() - started, 1),
            "files": {},
        }
        for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
            rel = f.relative_to(tmp).as_posix()
            manifest["files"][rel] = {"size": f.stat().st_size, "sha256": sha256(f)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def task_fields(config) -> dict:
    """What an app needs to know to read the model's output."""
    if config.labels:
        return {"labels": list(config.labels), "word_rule": WORD_RULE,
                "output": {"name": "token_logits", "dtype": "float32",
                           "shape": ["batch", "seq", len(config.labels)]}}
    return {"embedding_dim": config.hidden_size, "pooling": "mean", "normalization": "l2",
            "output": {"name": "sentence_embedding", "dtype": "float32",
                       "shape": ["batch", config.hidden_size]}}


# ------------------------------------------------------------------ reading

class Bundle:
    """A verified bundle: `Bundle.load(path).encode(texts, runtime="executorch")`."""

    def __init__(self, folder: Path, manifest: dict, tokenizer: Tokenizer):
        self.folder, self.manifest, self.tokenizer = folder, manifest, tokenizer
        self.task = manifest.get("task", "sentence-embedding")
        self.labels: list[str] = manifest.get("labels", [])
        self.dim = int(manifest.get("embedding_dim", 0))
        self.max_len = int(manifest["max_seq_len"])
        self.text_prefix = manifest.get("text_prefix", "")
        self.pad_id = int(manifest["tokenizer"]["pad_id"])
        self.calibration = _read_calibration(folder, manifest)
        self._runners: dict = {}

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        folder = Path(path)
        return cls(folder, *verify(folder))

    @property
    def models(self) -> list[dict]:
        return self.manifest["models"]

    def runtimes(self) -> list[str]:
        names = [m["runtime"] for m in self.models]
        return list(dict.fromkeys(names + (["torch"] if "torch/config.json" in
                                           self.manifest["files"] else [])))

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch([self.text_prefix + t for t in texts])
        too_long = sum(bool(e.overflowing) for e in encodings)
        if too_long:
            log.warning("%d text(s) longer than %d tokens were truncated", too_long,
                        self.max_len)
        return [e.ids for e in encodings]

    def runner(self, runtime: str, precision: str | None = None):
        """The function ids -> embeddings for one of the bundle's models (loaded once)."""
        if runtime not in RUNTIMES:
            raise EdgekitError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        key = (runtime, precision)
        if key in self._runners:
            return self._runners[key]
        if runtime == "torch":
            if "torch" not in self.runtimes():
                raise EdgekitError(f"bundle {self.folder} has no PyTorch weights (only target "
                                   "linux keeps them); use runtime executorch or onnx")
            from distill.student import StudentEncoder

            model = StudentEncoder.load(self.folder / "torch").model
            model.post_processing = False  # like the programs: `encode` applies it
            runner = torch_runner(model, self.pad_id)
        else:
            runner = _runner(runtime, self.folder / self.program(runtime, precision)["file"],
                             self.pad_id)
        self._runners[key] = runner
        return runner

    def program(self, runtime: str, precision: str | None = None) -> dict:
        """The manifest's entry of the `runtime` model (in `precision`, default its first)."""
        match = [m for m in self.models if m["runtime"] == runtime
                 and precision in (None, m["precision"])]
        if not match:
            have = ", ".join(f"{m['runtime']}/{m['precision']}" for m in self.models)
            raise EdgekitError(f"bundle {self.folder} has no {runtime} model"
                               f"{'' if precision is None else ' in ' + precision} "
                               f"(it has {have})")
        return match[0]

    def encode(self, texts: Sequence[str], runtime: str | None = None,
               precision: str | None = None) -> np.ndarray:
        """float32 (n, dim), rows L2-normalised. runtime: executorch, onnx or torch (default:
        the bundle's first model, model.pte where there is one)."""
        if self.labels:
            raise EdgekitError(f"bundle {self.folder} is a {self.task} model: tag texts with "
                               "it (`edgekit tag`), it does not embed them")
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        run = self.runner(runtime or self.models[0]["runtime"], precision)
        out = run(self.tokenize(texts))
        return post_process(out, **self.calibration) if self.calibration else out

    def similarity(self, a: str, b: str, runtime: str | None = None) -> float:
        ea, eb = self.encode([a, b], runtime)
        return float(ea @ eb)

    def tag(self, texts: Sequence[str], runtime: str | None = None,
            precision: str | None = None) -> list[list[dict]]:
        """Entities per text: {"type", "start", "end", "text"} with character offsets, from
        a token-classification bundle."""
        if not self.labels:
            raise EdgekitError(f"bundle {self.folder} is a {self.task} model; tagging needs "
                               "one built with --task ner")
        if isinstance(texts, str):
            texts = [texts]
        spans = [split_words(t) for t in texts]
        encoded = [encode_words(self.tokenizer, [t[a:b] for a, b in sp], self.max_len)
                   for t, sp in zip(texts, spans, strict=True)]
        logits = self.runner(runtime or self.models[0]["runtime"], precision)(
            [x for x, _ in encoded]) if texts else []
        result = []
        for text, sp, (_, first), out in zip(texts, spans, encoded, logits, strict=True):
            tags = word_tags(out, first, self.labels)
            result.append([{"type": kind, "start": sp[a][0], "end": sp[b - 1][1],
                            "text": text[sp[a][0]: sp[b - 1][1]]}
                           for a, b, kind in sorted(entities(tags))])
        return result


def is_bundle_folder(folder: Path) -> bool:
    return (folder / "manifest.json").is_file()


def verify(folder: Path) -> tuple[dict, Tokenizer]:
    """The manifest and tokenizer of a bundle whose files all match their sha256;
    EdgekitError otherwise."""
    path = folder / "manifest.json"
    if not folder.is_dir():
        raise EdgekitError(f"bundle {folder}: no such folder")
    if not is_bundle_folder(folder):
        raise EdgekitError(f"{folder} is not an edgekit bundle (no manifest.json); build one "
                           "with `edgekit export` or `edgekit build`")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EdgekitError(f"bundle {folder}: manifest.json is not valid JSON ({e})") from None
    schema = manifest.get("schema") if isinstance(manifest, dict) else None
    if not isinstance(schema, str) or not schema.startswith("edgekit.bundle/"):
        raise EdgekitError(f"{folder} is not an edgekit bundle (schema {schema!r})")
    if schema != SCHEMA:
        raise EdgekitError(f"bundle {folder} has schema {schema}; this edgekit reads {SCHEMA}")
    _check_fields(folder, manifest)
    files = manifest["files"]
    root = folder.resolve()
    for rel, meta in files.items():
        f = folder / rel
        # resolved, so a symlinked folder inside the bundle cannot lead out of it either
        if Path(rel).is_absolute() or not f.resolve().is_relative_to(root):
            raise EdgekitError(f"bundle {folder}: manifest names a file outside it: {rel}")
        if not f.is_file():
            raise EdgekitError(f"bundle {folder} is incomplete: {rel} is missing")
        if f.stat().st_size != meta["size"] or sha256(f) != meta["sha256"]:
            raise EdgekitError(f"bundle {folder} is corrupted: {rel} does not match its "
                               "sha256 in manifest.json")
    needed = [manifest["tokenizer"]["file"]] + [m["file"] for m in manifest["models"]]
    if "post_process" in manifest:
        needed.append(manifest["post_process"]["file"])
    for rel in needed:
        if rel not in files:
            raise EdgekitError(f"bundle {folder}: {rel} is not listed in manifest.json")
    return manifest, _check_tokenizer(folder, manifest["tokenizer"])


# manifest keys a reader relies on: name -> type (a dict: the keys inside it)
_FIELDS = {"max_seq_len": int, "tokenizer": {"file": str, "kind": str, "pad_id": int},
           "models": list, "files": dict}
_OPTIONAL_FIELDS = {"post_process": {"file": str, "kind": str}}
_MODEL_FIELDS = {"runtime": str, "precision": str, "file": str}
_FILE_FIELDS = {"size": int, "sha256": str}
_TYPE_NAMES = {int: "a whole number", str: "a string", list: "a list", dict: "an object"}


def _check_fields(folder: Path, manifest: dict) -> None:
    """Every key a reader uses, present and of its type: one line naming the key."""
    def need(where: str, value, fields: dict) -> None:
        if not isinstance(value, dict):
            raise EdgekitError(f"bundle {folder}: manifest.json: {where} must be an object")
        for key, kind in fields.items():
            if key not in value:
                raise EdgekitError(f"bundle {folder}: manifest.json lacks {where}{key}")
            if isinstance(kind, dict):
                need(f"{where}{key}.", value[key], kind)
            elif not isinstance(value[key], kind) or isinstance(value[key], bool):
                raise EdgekitError(f"bundle {folder}: manifest.json: {where}{key} must be "
                                   f"{_TYPE_NAMES[kind]}")
    need("", manifest, _FIELDS)
    need("", manifest, {k: v for k, v in _OPTIONAL_FIELDS.items() if k in manifest})
    if not manifest["models"]:
        raise EdgekitError(f"bundle {folder}: manifest.json lists no models")
    for i, model in enumerate(manifest["models"]):
        need(f"models[{i}].", model, _MODEL_FIELDS)
    for rel, meta in manifest["files"].items():
        need(f"files.{rel}.", meta, _FILE_FIELDS)
    if not 1 <= manifest["max_seq_len"] <= 8192:
        raise EdgekitError(f"bundle {folder}: manifest.json: max_seq_len "
                           f"{manifest['max_seq_len']} is out of range")


def _read_calibration(folder: Path, manifest: dict) -> dict[str, np.ndarray] | None:
    """The bundle's post_process.json as arrays of the embedding's width, or None."""
    if "post_process" not in manifest:
        return None
    rel, kind = manifest["post_process"]["file"], manifest["post_process"]["kind"]
    if kind != "all-but-the-top":
        raise EdgekitError(f"bundle {folder}: post-processing {kind!r} is unknown to this "
                           "edgekit (it applies all-but-the-top)")
    try:
        raw = json.loads((folder / rel).read_text("utf-8"))
        center = np.asarray(raw["center"], dtype=np.float32)
        directions = np.asarray(raw["directions"], dtype=np.float32).reshape(-1, len(center))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise EdgekitError(f"bundle {folder}: {rel} is not a centre and a list of "
                           "directions") from None
    dim = int(manifest.get("embedding_dim", len(center)))
    if center.shape != (dim,):
        raise EdgekitError(f"bundle {folder}: {rel} has a centre of width {len(center)}, "
                           f"the embedding has {dim}")
    return {"center": center, "directions": directions}


def _check_tokenizer(folder: Path, spec: dict) -> Tokenizer:
    """The tokenizer, loaded, when it is of the kind the manifest declares and knows its pad
    id. (Read by `tokenizers` itself: parsing the JSON in Python would cost more memory
    than the model.)"""
    try:
        tokenizer = Tokenizer.from_file(str(folder / spec["file"]))
    except Exception:  # tokenizers raises its own error types for every malformed file
        raise EdgekitError(f"bundle {folder}: {spec['file']} is not a tokenizers "
                           "tokenizer.json") from None
    kind = type(tokenizer.model).__name__.lower()
    if kind != spec["kind"]:
        raise EdgekitError(f"bundle {folder}: the manifest declares a {spec['kind']} "
                           f"tokenizer but {spec['file']} is {kind}")
    if not 0 <= spec["pad_id"] < tokenizer.get_vocab_size():
        raise EdgekitError(f"bundle {folder}: manifest.json: tokenizer.pad_id "
                           f"{spec['pad_id']} is outside the vocabulary "
                           f"({tokenizer.get_vocab_size()} pieces)")
    return tokenizer
