"""Saving and loading meta-trained initialisations (our own container, fp32; never pickle)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

from hdrkit.codec.container import Container, pack, unpack
from hdrkit.errors import InputError
from hdrkit.io.atomic import atomic_write_bytes
from hdrkit.models.siren import Params, SirenConfig, init_params

#: File name of the shipped theta_init inside ``hdrkit/assets/models``.
SHIPPED = "theta_init.hdrkit"


def shipped_path() -> Path:
    return Path(str(resources.files("hdrkit") / "assets" / "models" / SHIPPED))


def save_theta(path: str | Path, params: Params, cfg: SirenConfig) -> None:
    """Write ``params`` as an fp32 hdrkit container (atomic)."""
    blob = pack(Container(cfg=cfg, weights={k: v.detach().cpu().numpy() for k, v in params.items()}, quant="fp32"))
    atomic_write_bytes(path, blob)


def load_theta(path: str | Path | None = None) -> Tuple[SirenConfig, Params]:
    """Load a saved initialisation; ``None`` -> the shipped one; ``"random"`` -> SIREN random init (seed 0)."""
    if path is not None and str(path) == "random":
        cfg = SirenConfig()
        return cfg, init_params(cfg, torch.Generator().manual_seed(0))
    p = Path(path) if path is not None else shipped_path()
    if not p.is_file():
        raise InputError(f"no initialisation file {p}")
    c = unpack(p.read_bytes())
    return c.cfg, c.params()
