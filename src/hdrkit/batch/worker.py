"""The per-item work, run inside a Ray worker process (or in a plain loop): hash the inputs, run the op,
report ``done`` or ``failed`` with a one-line error.  Nothing here talks to the manifest (the driver does)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from hdrkit.batch import storage
from hdrkit.batch.ops import Op
from hdrkit.errors import HdrkitError, InputError


def one_line(exc: BaseException) -> str:
    """The one-line message of an error (hdrkit errors as they are, others prefixed with their type)."""
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    return msg if isinstance(exc, HdrkitError) else f"{type(exc).__name__}: {msg}".rstrip(": ")


def input_hash(digests: list[str]) -> str:
    """The content hash of an item's inputs (order matters: HDR then SDR, REF then TEST)."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def process(op: Op, name: str, inputs: list[str], output: str, setup_error: str | None = None) -> dict:
    """Run ``op`` on one item; never raises for a bad item (the error is in the returned row).  Remote inputs
    and outputs (URIs) go through a local temporary folder (:mod:`hdrkit.batch.storage`)."""
    t0 = time.perf_counter()
    files: list = []
    row = {"name": name, "inputs": inputs, "output": output, "status": "failed", "error": None, "input_hash": "",
           "output_size": None, "result": {}, "worker": f"{os.uname().nodename}:{os.getpid()}"}
    try:
        with tempfile.TemporaryDirectory(prefix="hdrkit-batch-") as tmp:
            local = []
            for p in inputs:
                st = storage.stat(p)
                if st is None:
                    raise InputError(f"no such file: {p}")
                path, sha = storage.fetch(p, Path(tmp))
                local.append(path)
                files.append([str(p), st[0], st[1], sha])
            row["input_hash"] = input_hash([f[3] for f in files])
            if setup_error is not None:
                raise HdrkitError(setup_error)
            with storage.local_output(output, Path(tmp)) as out:
                row["result"] = op.run(local, out) or {}
                row["output_size"] = out.stat().st_size
        row["status"] = "done"
    except (Exception, MemoryError) as exc:  # a bad item never stops the job
        row["error"] = one_line(exc)
    row["files"] = files
    row["seconds"] = time.perf_counter() - t0
    row["finished"] = time.time()  # wall clock of the worker (benchmarks: when items finish, not when seen)
    return row


def limit_threads(threads: int) -> None:
    """One worker process = ``threads`` BLAS/OpenMP/torch/numba threads (the worker owns its process)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)


class BatchWorker:
    """Ray Data actor: sets its thread count and loads the op's models once, then processes batches of rows
    ``{name, inputs (JSON list), output}`` into rows ``{row (JSON of the result of process())}``."""

    def __init__(self, op: Op, threads: int = 1):
        limit_threads(threads)
        self.op, self.setup_error = op, None
        try:
            op.setup()
        except (Exception, MemoryError) as exc:  # reported on every item instead of an actor crash loop
            self.setup_error = one_line(exc)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        out = []
        for name, inputs, output in zip(batch["name"], batch["inputs"], batch["output"]):
            row = process(self.op, str(name), json.loads(str(inputs)), str(output), self.setup_error)
            out.append(json.dumps(row))
        return {"row": np.array(out, dtype=object)}
