"""One `.pte` on an emulated ARM64 CPU: run by `bench.emulate` with the aarch64 Python under
qemu-aarch64 and the instruction-count plugin (`bench/insn_marks.c`).

Reads a job (JSON) on stdin: the golden inputs run first (their outputs come back for the
agreement check with x86, and they warm the model up), then `repeats` forwards at each
benchmark length, with an instruction-count mark before and after each length. Prints the
outputs (JSON) as the last line of stdout; the marks go to the plugin's log.
"""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path

GETPID_AARCH64, MARK_MAGIC = 172, 0x6ED6  # what insn_marks.c listens for


def main() -> None:
    job = json.loads(sys.stdin.read())
    libc = ctypes.CDLL(None)

    def mark() -> None:
        libc.syscall(ctypes.c_long(GETPID_AARCH64), ctypes.c_long(MARK_MAGIC))

    from export.runtimes import executorch_bindings, executorch_runner

    executorch_bindings()._unsafe_reset_threadpool(1)  # one thread: the count is then deterministic
    run = executorch_runner(Path(job["model_file"]))
    outputs = run(job["golden_ids"])
    for length in job["lengths"]:
        ids = job["sequences"][str(length)]
        mark()
        for _ in range(job["repeats"]):
            run([ids])
        mark()
    print(json.dumps({"outputs": [o.tolist() for o in outputs]}))


if __name__ == "__main__":
    main()
