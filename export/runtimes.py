"""Run an exported model: one function per runtime, all mapping token-id lists to embeddings.

Every runner takes a list of token-id lists (special tokens included, already truncated) and
returns float32 (n, dim) embeddings, or for a tagger a list of (len(ids), labels) logits.
ExecuTorch runs one text at a time (the on-device program has batch size 1); ONNX Runtime and
PyTorch run length-bucketed padded batches.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from distill.encoding import encode_ids, length_batches, pad_arrays, token_outputs
from distill.errors import EdgekitError

log = logging.getLogger("edgekit")
Runner = Callable[[Sequence[Sequence[int]]], np.ndarray | list[np.ndarray]]
RUNTIMES = ("executorch", "onnx", "torch")


@cache
def executorch_bindings() -> ModuleType:
    """ExecuTorch's C++ runtime as its pip wheel binds it, and nothing more. The wheel's
    `executorch.runtime` wraps the same module but imports the exporter (`exir`, torchao)
    first, 200 MB of RSS an embedding process never uses; the bindings link libtorch, so
    torch is loaded first. The quantised kernels (embedding_byte/4bit) are left
    unregistered by the wheel: loading their library registers them."""
    import torch  # noqa: F401  (the bindings' libtorch symbols)
    from executorch.extension.pybindings import _C

    lib = Path(_C.__file__).parent.parent.parent / "lib" / "libexecutorch_kernels_quantized.so"
    if lib.is_file():
        ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    return _C


@contextlib.contextmanager
def native_notes_hidden() -> Iterator[None]:
    """ExecuTorch's C++ prints notes on the CPU it probes ("[cpuinfo_utils.cpp:71] Reading
    file ...") straight to file descriptor 2 when it loads a program. Catch what is written
    there meanwhile and pass on every other line; with edgekit's debug logging (`-v`),
    everything."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode("utf-8", errors="replace").splitlines():
                if not _NATIVE_NOTE.match(line):
                    print(line, file=sys.stderr)


_NATIVE_NOTE = re.compile(r"\[cpuinfo_utils\.cpp:\d+\]")


def executorch_runner(path: Path) -> Runner:
    import torch  # the ExecuTorch Python runtime takes torch tensors

    bindings = executorch_bindings()
    try:
        with native_notes_hidden():
            program = bindings._load_program(
                str(path), program_verification=bindings.Verification.InternalConsistency)
            method = program.load_method("forward")
    except RuntimeError as e:
        raise EdgekitError(f"ExecuTorch cannot load {path}: {e}") from None

    def run(ids: Sequence[Sequence[int]], _program=program) -> np.ndarray:
        # (the method lives in its program: the default argument keeps the program alive)
        rows = []
        for x in ids:
            t = torch.tensor([list(x)], dtype=torch.long)
            rows.append(method([t, torch.ones_like(t)])[0].numpy()[0])
        if rows and rows[0].ndim == 2:  # per-token logits
            return rows
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)

    return run


def onnx_runner(path: Path, pad_id: int = 0, threads: int = 0, batch_size: int = 32
                ) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    per_token = session.get_outputs()[0].name == "token_logits"

    def run(ids: Sequence[Sequence[int]]) -> np.ndarray | list[np.ndarray]:
        if not len(ids):
            return [] if per_token else np.zeros((0, 0), dtype=np.float32)
        out: list = [None] * len(ids)
        for index in length_batches([len(x) for x in ids], batch_size):
            tokens, mask = pad_arrays([ids[i] for i in index], pad_id)
            result = session.run(None, {"input_ids": tokens, "attention_mask": mask})[0]
            for row, i in enumerate(index):
                out[i] = result[row, : len(ids[i])] if per_token else result[row]
        if per_token:
            return out
        return np.asarray(out, dtype=np.float32).reshape(len(ids), -1)

    return run


def torch_runner(model, pad_id: int) -> Runner:
    """A PyTorch student (`torch.nn.Module`) as a runner."""
    model.eval()
    if getattr(model.config, "labels", None):
        return lambda ids: token_outputs(model, ids, pad_id)
    return lambda ids: encode_ids(model, ids, pad_id)
