"""Teacher outputs cached on disk, keyed by teacher and text, shared by every run.

A view is one thing the teacher says about a text: its sentence embedding ("embedding"), or the
mean-pooled hidden state after layer L ("layer6"). Each (teacher, view) is a folder of shards:

    <cache>/targets/<teacher key>/<view>/<n>.emb.npy    float16 rows
    <cache>/targets/<teacher key>/<view>/<n>.keys.npy   16-byte sha256 prefixes of the texts

A shard's keys file is written last and atomically, so an interrupted run leaves no shard that
looks complete. Rows are read through memory maps: a large corpus need not fit in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from distill.progress import progress_bar

# texts -> {view: (len(texts), dim) float array}
TeacherViews = Callable[[Sequence[str], Sequence[str]], dict[str, np.ndarray]]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class TargetCache:
    def __init__(self, root: Path, teacher_key: str):
        self.root = Path(root) / "targets" / teacher_key
        self._index: dict[str, dict[bytes, tuple[int, int]]] = {}
        self._shards: dict[tuple[str, int], np.ndarray] = {}

    def _dir(self, view: str) -> Path:
        return self.root / view

    def _load_index(self, view: str) -> dict[bytes, tuple[int, int]]:
        if view not in self._index:
            index: dict[bytes, tuple[int, int]] = {}
            folder = self._dir(view)
            for keys_file in sorted(folder.glob("*.keys.npy")) if folder.is_dir() else []:
                shard = int(keys_file.name.split(".")[0])
                for row, key in enumerate(np.load(keys_file)):
                    index[key.tobytes()] = (shard, row)
            self._index[view] = index
        return self._index[view]

    def missing(self, views: Sequence[str], texts: Sequence[str]) -> list[str]:
        """The distinct texts some view lacks, in first-seen order."""
        seen: set[bytes] = set()
        out = []
        indexes = [self._load_index(v) for v in views]
        for t in texts:
            k = text_key(t)
            if k not in seen and any(k not in ix for ix in indexes):
                seen.add(k)
                out.append(t)
        return out

    def fill(self, views: Sequence[str], texts: Sequence[str], compute: TeacherViews,
             chunk: int = 8192, progress: bool = True) -> None:
        """Compute and store whatever `views` lack for `texts`, `chunk` texts per shard."""
        todo = self.missing(views, texts)
        bar = progress_bar(total=len(todo), desc="teacher targets", unit="text",
                           disable=not progress or not todo)
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            for view, rows in compute(part, views).items():
                self._write_shard(view, part, rows)
            bar.update(len(part))
        bar.close()

    def _write_shard(self, view: str, texts: Sequence[str], rows: np.ndarray) -> None:
        folder = self._dir(view)
        folder.mkdir(parents=True, exist_ok=True)
        shard = 1 + max((int(p.name.split(".")[0]) for p in folder.glob("*.keys.npy")),
                        default=-1)
        # raw bytes, not numpy's "S16", which drops trailing zero bytes
        keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8
                             ).reshape(-1, 16)
        for suffix, array in (("emb", rows.astype(np.float16)), ("keys", keys)):
            tmp = folder / f"{shard}.{suffix}.tmp.npy"
            np.save(tmp, array)
            os.replace(tmp, folder / f"{shard}.{suffix}.npy")
        index = self._load_index(view)
        for row, key in enumerate(keys):
            index[key.tobytes()] = (shard, row)

    def get(self, view: str, texts: Sequence[str]) -> np.ndarray:
        """Rows for `texts` (float32); every text must have been filled."""
        index = self._load_index(view)
        out = None
        for i, t in enumerate(texts):
            shard, row = index[text_key(t)]
            array = self._shards.get((view, shard))
            if array is None:
                array = np.load(self._dir(view) / f"{shard}.emb.npy", mmap_mode="r")
                self._shards[(view, shard)] = array
            if out is None:
                out = np.empty((len(texts), array.shape[1]), dtype=np.float32)
            out[i] = array[row]
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)
