"""Saving and loading meta-trained initialisations (our own container, fp32; never pickle).

The default (``None``) is the gamma-map family (:mod:`hdrkit.models.gammanet`) from its deterministic
initialisation (:func:`hdrkit.models.gammanet.init_params`, seed 0: Kaiming-uniform hidden layers, a constant
gamma of 0.9): the meta-trained initialisations we made (:mod:`hdrkit.meta.gamma`) measured worse after
adaptation on the dev split (docs/CODEC.md), so none is shipped for this family.  ``"siren"`` is the shipped
SIREN theta_init (``theta_init.hdrkit``, the MLP-iTM paper's network); ``"random"`` its untrained
initialisation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch

from hdrkit.codec.container import Container, pack, unpack
from hdrkit.errors import InputError
from hdrkit.io.atomic import atomic_write_bytes
from hdrkit.models.gammanet import GammaConfig
from hdrkit.models.gammanet import init_params as gamma_init_params
from hdrkit.models.siren import Params, SirenConfig, init_params

#: File name of the shipped SIREN theta_init inside ``hdrkit/assets/models``.
SHIPPED = "theta_init.hdrkit"


def shipped_path(name: str = SHIPPED) -> Path:
    return Path(str(resources.files("hdrkit") / "assets" / "models" / name))


def save_theta(path: str | Path, params: Params, cfg) -> None:
    """Write ``params`` (torch tensors or numpy arrays) as an fp32 hdrkit container (atomic)."""
    weights = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v, np.float32))
               for k, v in params.items()}
    atomic_write_bytes(path, pack(Container(cfg=cfg, weights=weights, quant="fp32")))


def load_theta(path: str | Path | None = None):
    """Load an initialisation -> ``(cfg, params)``: ``None`` or ``"random-gamma"`` -> the default, the gamma
    family's deterministic init (seed 0); ``"siren"`` -> the shipped SIREN theta_init; ``"random"`` -> SIREN
    random init (seed 0); else a saved file.  SIREN params are torch tensors, gamma-family params numpy float32
    arrays."""
    name = None if path is None else str(path)
    if name == "random":
        cfg = SirenConfig()
        return cfg, init_params(cfg, torch.Generator().manual_seed(0))
    if name is None or name == "random-gamma":
        gcfg = GammaConfig()
        return gcfg, gamma_init_params(gcfg)
    p = shipped_path(SHIPPED) if name == "siren" else Path(name)
    if not p.is_file():
        raise InputError(f"no initialisation file {p}")
    c = unpack(p.read_bytes())
    if isinstance(c.cfg, GammaConfig):
        return c.cfg, c.weights
    return c.cfg, c.params()
