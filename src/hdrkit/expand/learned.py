"""Learned inverse tone mapping: the masked U-Net (HDRCNN-style) and MetaHDR (MAML few-shot adaptation).

Both take SDR code values (``H×W×3`` in [0, 1], BT.709 / BT.1886) and return absolute linear BT.2020 cd/m²
(float32), like every operator of :mod:`hdrkit.expand`:

- :func:`unet` -- Eilertsen et al. 2017 ("HDRCNN", ACM TOG 36(6)) soft-mask blend around a CPU-sized U-Net
  (:mod:`hdrkit.models.unet`) trained here (``python -m hdrkit.expand.learned_train unet``); runs tiled with
  real-context margins so 4K inputs need bounded memory.
- :func:`metahdr` -- Pan & Vento 2021, "MetaHDR: model-agnostic meta-learning for HDR image reconstruction"
  (Stanford CS330; Finn et al. 2017 MAML): a U-Net whose initialisation θ is meta-learned so that a few SGD steps
  on a scene's exposures give a scene-specific model φ.  Without exposures it runs θ single shot; with
  ``adapt_with="true"`` it adapts on the exposures labelled with their Debevec & Malik 1997 fusion
  (:func:`hdrkit.merge.merge`, response curve estimated from the bracket); with ``adapt_with="simulated"`` the
  labels are the single-shot U-Net's predictions of the exposures, fused.  Either label is relative (a bracket
  does not know cd/m²); it is scaled to the single-shot U-Net's prediction of the input over the pixels the
  input exposes well (:func:`align_scale`).

The weights ship in ``hdrkit/assets/models`` (``unet_itm.npz``, ``metahdr.npz``; ``.npz`` read with
``allow_pickle=False``); nothing downloads.  torch is imported only when a learned method runs.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report

MODELS = {"unet": "unet_itm.npz", "metahdr": "metahdr.npz", "gcm": "gcm.npz"}
#: Test-time adaptation defaults: 5 unclipped SGD steps of 0.002 on 96-pixel crops (chosen on the held-out
#: views at yaw 0°/180°; docs/EXPAND.md reports them apart from the other views).
ADAPT_STEPS = 5
ADAPT_LR = 0.002
#: Code-value range (largest channel) of the pixels used to anchor a relative label's scale.
WELL_EXPOSED = (0.05, 0.9)


def model_path(name: str) -> Path:
    return Path(str(resources.files("hdrkit") / "assets" / "models" / MODELS[name]))


@lru_cache(maxsize=4)
def _load(path: str):
    from hdrkit.models.unet import load_weights

    return load_weights(path)


def load_model(name_or_path: str):
    """``(UNetConfig, params, info)`` of a shipped model name (``"unet"``, ``"metahdr"``) or an ``.npz`` path."""
    p = model_path(name_or_path) if name_or_path in MODELS else Path(name_or_path)
    if not p.is_file():
        raise InputError(f"model weights {p} are missing (train them: python -m hdrkit.expand.learned_train)")
    return _load(str(p.resolve()))


#: The networks predict an HDR10 grade for this display peak (their training masters'), cd/m².
GRADE_PEAK = 1000.0


def _finish(nits: np.ndarray, peak: Optional[float], grade_peak: float = GRADE_PEAK) -> np.ndarray:
    """Clip to the PQ range; with ``peak``, re-grade the 1000 cd/m² prediction to it
    (:func:`hdrkit.tonemap.regrade_peak`: BT.2390 EETF inverted, then applied towards ``peak``)."""
    nits = np.clip(np.nan_to_num(nits, nan=0.0, posinf=1e4), 0.0, 1e4).astype(np.float32)
    if peak is None:
        return nits
    from hdrkit.tonemap import regrade_peak

    return regrade_peak(nits, float(peak), float(grade_peak))


def _device(device):
    from hdrkit._array import resolve_device

    return resolve_device(device)


def unet(sdr: np.ndarray, peak: Optional[float] = None, model: str = "unet", tile: int = 1024, margin: int = 128,
         device: str = "cpu", progress: Optional[ProgressFn] = None) -> np.ndarray:
    """Masked U-Net iTM (HDRCNN blend, τ = 0.95): SDR code values → cd/m² BT.2020.

    ``tile``/``margin``: block size and real-context margin of the tiled inference (multiples of 16); ``peak``:
    optional BT.2390 roll-off to a display peak; ``model``: ``"unet"`` or a weight file."""
    from hdrkit.models.unet import predict

    cfg, params, _ = load_model(model)
    out = predict(params, np.asarray(sdr, np.float32), cfg, tile=int(tile), margin=int(margin),
                  device=_device(device), progress=progress)
    return _finish(out, peak)


# ------------------------------------------------------------------------------------------------ MetaHDR
def _as_codes(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(np.asarray(x, np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def _luma(nits: np.ndarray) -> np.ndarray:
    from hdrkit.color import luminance

    return np.asarray(luminance(np.maximum(nits, 0.0), "bt2020"), np.float64)


def align_scale(label: np.ndarray, anchor: np.ndarray, sdr: np.ndarray) -> np.ndarray:
    """Scale ``label`` (relative radiance) to ``anchor`` (cd/m²): the median log-luminance ratio over the pixels
    that ``sdr`` exposes well (largest code value in ``WELL_EXPOSED``; all pixels if there are none)."""
    m = sdr.max(axis=-1)
    ok = (m > WELL_EXPOSED[0]) & (m < WELL_EXPOSED[1])
    a, b = _luma(anchor), _luma(label)
    ok &= (a > 0) & (b > 0)
    if ok.sum() < 16:
        ok = (a > 0) & (b > 0)
    if not ok.any():
        return label
    return (label * float(np.exp(np.median(np.log(a[ok]) - np.log(b[ok]))))).astype(np.float32)


def true_label(exposures: Sequence[np.ndarray], times: Sequence[float]) -> np.ndarray:
    """Debevec & Malik 1997 fusion of the bracket (response estimated from it) → relative BT.2020 radiance."""
    from hdrkit.color import convert_primaries
    from hdrkit.merge import merge

    rad = merge([_as_codes(e) for e in exposures], list(times), crf=None)
    return np.clip(np.asarray(convert_primaries(rad, "bt709", "bt2020"), np.float32), 0.0, None)


def simulated_label(exposures: Sequence[np.ndarray], progress: Optional[ProgressFn] = None) -> np.ndarray:
    """The single-shot U-Net's prediction of each exposure, scaled to the first one's exposure and averaged in
    the log domain with triangle weights of each exposure's code values (so each region comes mostly from the
    exposures that see it well)."""
    preds = [unet(e) for e in exposures]
    ref = preds[0]
    logs, weights = [], []
    for e, p in zip(exposures, preds):
        p = align_scale(p, ref, e) if p is not ref else p
        m = np.asarray(e, np.float64).max(axis=-1)
        w = 1.0 - np.abs(2.0 * m - 1.0) + 1e-3
        logs.append(np.log(np.maximum(p, 1e-4)) * w[..., None])
        weights.append(w)
    return np.exp(np.sum(logs, axis=0) / np.sum(weights, axis=0)[..., None]).astype(np.float32)


def adapt_params(cfg, theta, exposures: Sequence[np.ndarray], labels: np.ndarray, steps: int, lr: float,
                 clip_norm: float = 1.0, crop: int = 96, batch: int = 4, seed: int = 0, device: str = "cpu",
                 only: Optional[Sequence[str]] = None, progress: Optional[ProgressFn] = None):
    """Test-time adaptation: ``steps`` SGD steps (MAML inner loop, first order) of the MetaHDR loss on ``batch``
    random ``crop``-pixel crops of (exposure, label) pairs.  Returns the adapted parameters φ."""
    import torch

    from hdrkit.expand.learned_train import ssim_l1_loss, to_nchw
    from hdrkit.meta.maml import adapt
    from hdrkit.models.unet import UNetITM

    h, w = labels.shape[:2]
    m = cfg.multiple
    c = max(m, min(crop, h // m * m, w // m * m))
    model = UNetITM(cfg, theta).to(device)
    phi = dict(model.named_parameters())
    if only is not None:  # adapt only the parameters whose names start with one of ``only``; the rest stay θ
        phi = {k: v for k, v in phi.items() if k.split(".", 1)[1].replace("__", ".").startswith(tuple(only))}
    rng = np.random.default_rng(seed)
    for s in range(int(steps)):
        xs, ys = [], []
        for _ in range(batch):
            i = int(rng.integers(len(exposures)))
            y0, x0 = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
            xs.append(exposures[i][y0:y0 + c, x0:x0 + c])
            ys.append(labels[y0:y0 + c, x0:x0 + c])
        batch_xy = (to_nchw(xs).to(device), to_nchw(ys).to(device))
        phi = {k: v.detach().requires_grad_(True) for k, v in adapt(model, phi, batch_xy, ssim_l1_loss, 1, lr,
                                                                  clip_norm=clip_norm).items()}
        report(progress, s + 1, int(steps), "adapting")
    out = {k: v.detach() for k, v in theta.items()}
    out.update({k.split(".", 1)[1].replace("__", "."): v.detach() for k, v in phi.items()})
    return out


def metahdr(sdr: np.ndarray, peak: Optional[float] = None, adapt_with: Optional[str] = None,
            exposures: Sequence[np.ndarray] = (), times: Optional[Sequence[float]] = None,
            steps: Optional[int] = None, lr: Optional[float] = None, model: str = "metahdr", tile: int = 1024,
            margin: int = 128, device: str = "cpu", seed: int = 0, include_input: bool = True,
            progress: Optional[ProgressFn] = None) -> np.ndarray:
    """MetaHDR: single shot (``adapt_with=None``) or adapted to the scene from its ``exposures``.

    Parameters
    ----------
    sdr : the SDR image to expand (code values).
    adapt_with : ``None``, ``"true"`` (labels = Debevec fusion of ``exposures`` taken at ``times``) or
        ``"simulated"`` (labels = fused single-shot U-Net predictions of ``exposures``).
    exposures : the scene's LDR exposures, same size as ``sdr`` (``sdr`` itself may be one of them).
    steps, lr : test-time adaptation: unclipped SGD steps and step size (default :data:`ADAPT_STEPS`,
        :data:`ADAPT_LR`; the meta-training inner loop's 3 clipped steps of 0.05 made held-out results worse).
    include_input : also adapt on ``sdr`` itself (with the same label); ``False`` is the MetaHDR poster's
        protocol (adapt on the other exposures only), which we measured to *hurt* (docs/EXPAND.md).
    """
    from hdrkit.models.unet import predict

    cfg, theta, _ = load_model(model)
    steps = ADAPT_STEPS if steps is None else int(steps)
    lr = ADAPT_LR if lr is None else float(lr)
    x = np.asarray(sdr, np.float32)
    if adapt_with is None:
        if len(exposures):
            raise InputError("exposures were given but adapt_with is not set (use 'true' or 'simulated')")
        return _finish(predict(theta, x, cfg, tile=int(tile), margin=int(margin), device=_device(device),
                               progress=progress), peak)
    if adapt_with not in ("true", "simulated"):
        raise InputError(f"adapt_with must be 'true' or 'simulated', got {adapt_with!r}")
    if not len(exposures):
        raise InputError(f"adaptation with {adapt_with} labels needs the scene's exposures")
    from hdrkit.expand import check_sdr

    exps = [check_sdr(e).astype(np.float32) for e in exposures]
    if any(e.shape != x.shape for e in exps):
        raise InputError(f"every exposure must have the size of the input {x.shape[1]}×{x.shape[0]}")
    if adapt_with == "true":
        if times is None or len(times) != len(exps):
            raise InputError("true-HDR labels need one exposure time per exposure (--times)")
        if len(exps) < 2:
            raise InputError("a Debevec fusion needs at least two exposures")
        label = true_label(exps, times)
    else:
        label = simulated_label(exps)
    # a fused bracket has no absolute scale: anchor it on the single-shot U-Net's estimate of the input
    label = align_scale(label, unet(x, tile=tile, margin=margin, device=device), x)
    adapt_set = exps + [x] if include_input else exps
    phi = adapt_params(cfg, theta, adapt_set, label, steps, lr, 0.0, seed=seed, device=device,
                       progress=progress)
    out = predict(phi, x, cfg, tile=int(tile), margin=int(margin), device=_device(device))
    return _finish(out, peak)


# ---------------------------------------------------------------------------------------------------- gcm
@lru_cache(maxsize=4)
def _load_gcm(path: str):
    from hdrkit.models.gcm import load_weights

    return load_weights(path)[0]


def gcm(sdr: np.ndarray, peak: Optional[float] = None, model: str = "gcm", rows: int = 512, device: str = "cpu",
        highlights: str = "dome", progress: Optional[ProgressFn] = None) -> np.ndarray:
    """Global conditional colour mapping (baked to a per-picture 3D LUT) + hue-keeping highlight reconstruction
    (:mod:`hdrkit.models.gcm`): SDR code values → cd/m² BT.2020.

    The network predicts a 1000 cd/m² HDR10 grade (``max(R, G, B)`` limited to 1000); ``peak`` re-grades it
    (:func:`hdrkit.tonemap.regrade_peak`), so highlights near 1000 cd/m² reach towards ``peak``.  Above the
    grade's peak, ``highlights="dome"`` (the default) also lifts the clipped region the model grades brightest
    towards 0.9 · ``peak`` (:func:`hdrkit.expand.highlights.highlight_dome`): the SDR cannot say how bright a
    clipped light was, and without it the re-grade leaves the sun or a lamp far below a 4000 cd/m² display's
    peak; ``"regrade"``: the re-grade only.  ``model``: ``"gcm"`` or a weight file; ``rows``: band height of the
    LUT pass (memory bound only)."""
    from hdrkit.models.gcm import predict

    if highlights not in ("dome", "regrade"):
        raise InputError(f"highlights must be 'dome' or 'regrade', got {highlights!r}")
    p = model_path(model) if model in MODELS else Path(model)
    if not p.is_file():
        raise InputError(f"model weights {p} are missing (train them: python -m hdrkit.expand.gcm_train)")
    net = _load_gcm(str(p.resolve()))
    report(progress, 0, 1, "expanding")
    grade = net.grade_peak(peak)
    out = predict(net, np.asarray(sdr, np.float32), rows=int(rows), device=_device(device), peak=grade)
    report(progress, 1, 1, "expanding")
    if peak is None or highlights == "regrade" or not float(peak) > grade:
        return _finish(out, grade if peak is None else peak, grade)
    from hdrkit.expand.highlights import highlight_dome
    from hdrkit.tonemap import regrade_peak

    graded = _finish(out, None)  # clipped to the PQ range once; the re-grade and the dome both start from it
    return highlight_dome(regrade_peak(graded, float(peak), grade), sdr, float(peak), grade=graded, grade_peak=grade)


#: The learned operators added to :data:`hdrkit.expand.METHODS`.
METHODS = {"gcm": gcm, "unet": unet, "metahdr": metahdr}
