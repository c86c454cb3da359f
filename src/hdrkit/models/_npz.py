"""Weight files of the shipped networks: ``.npz`` of fp32 arrays plus a JSON ``__config__`` string (read with
``allow_pickle=False``: untrusted files are parsed, never unpickled)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch
from torch import Tensor

from hdrkit.errors import InputError


def save_npz(path: str | Path, tensors: Dict[str, Tensor], meta: dict) -> None:
    """Write ``tensors`` (as float32) and ``meta`` (JSON) atomically."""
    import io

    from hdrkit.io.atomic import atomic_write_bytes

    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in tensors.items()}
    arrays["__config__"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: str | Path) -> Tuple[Dict[str, Tensor], dict]:
    """``(tensors, meta)`` of a :func:`save_npz` file; a missing file is an :class:`InputError`; a malformed one
    raises ``ValueError``/``KeyError``/``OSError`` for the caller to word."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no model file {p}")
    with np.load(p, allow_pickle=False) as z:
        meta = json.loads(str(z["__config__"]))
        tensors = {k: torch.from_numpy(z[k].copy()) for k in z.files if k != "__config__"}
    return tensors, meta
