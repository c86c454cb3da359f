"""``evaluate``: every full-reference HDR metric of one image pair, as the dict ``hdrkit eval --json`` prints."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from hdrkit.errors import InputError
from hdrkit.metrics._backend import prepare_pair
from hdrkit.progress import ProgressFn, report

#: Metric keys in output order, with a one-line description and whether higher is better.
METRICS: dict[str, tuple[str, bool]] = {
    "pu_psnr": ("PU21-PSNR on RGB, peak 256 (dB)", True),
    "pu_psnr_y": ("PU21-PSNR on luminance, peak 256 (dB)", True),
    "pu_ssim": ("PU21-SSIM on luminance, range 256", True),
    "pu_msssim": ("PU21-MS-SSIM on luminance, range 256", True),
    "pu_fsim": ("PU21-FSIM (Zhang et al. 2011)", True),
    "pu_vsi": ("PU21-VSI (Zhang et al. 2014)", True),
    "delta_itp": ("mean ΔE_ITP, BT.2124 (1 ≈ just noticeable)", False),
    "pq_psnr": ("PSNR of PQ code values, peak 1 (dB)", True),
    "pq_ssim": ("SSIM of PQ code values, mean of R'G'B'", True),
    "cvvdp": ("ColorVideoVDP, standard_hdr_pq (JOD)", True),
}
#: What :func:`evaluate` computes when ``metrics`` is not given (ColorVideoVDP is opt-in).
DEFAULT_METRICS: tuple[str, ...] = tuple(k for k in METRICS if k != "cvvdp")


def _check_finite(xp, x, name: str) -> None:
    bad = xp.sum(~xp.isfinite(x))
    bad = int(bad) if xp.name == "numpy" else int(bad.item())
    if bad:
        raise InputError(f"{name} image has {bad} non-finite values (NaN or Inf)")


def evaluate(
    ref_nits: Any,
    test_nits: Any,
    metrics: Optional[Iterable[str]] = None,
    *,
    params: str = "banding_glare",
    cvvdp: bool = False,
    progress: Optional[ProgressFn] = None,
) -> dict[str, float]:
    """Compute HDR quality metrics of ``test_nits`` against ``ref_nits``.

    Parameters
    ----------
    ref_nits, test_nits : ``H×W×3`` absolute linear BT.2020 RGB in cd/m² (numpy or torch, any device)
    metrics : keys of :data:`METRICS` to compute; default :data:`DEFAULT_METRICS`
    params : PU21 parameter set for the ``pu_*`` metrics
    cvvdp : also compute ColorVideoVDP (needs the ``cvvdp`` extra)
    progress : ``progress(done, total, name)`` after each metric

    Returns
    -------
    ``{key: float}`` in the order of :data:`METRICS` -- the JSON object of ``hdrkit eval --json``.  A metric
    that is undefined for the pair is NaN: MS-SSIM of images too small for 5 scales, FSIM/VSI when both
    images are flat (no phase congruency / saliency anywhere).

    Raises
    ------
    InputError : different sizes, not ``H×W×3``, NaN/Inf pixels, an unknown metric name.
    """
    from hdrkit.color import pq_inverse_eotf
    from hdrkit.metrics.cvvdp import cvvdp_jod
    from hdrkit.metrics.fsim import fsim, vsi
    from hdrkit.metrics.itp import delta_e_itp
    from hdrkit.metrics.pu import PU21_LUMINANCE_WEIGHTS, PU21_PEAK, _luminance
    from hdrkit.metrics.pu21 import pu21_encode
    from hdrkit.metrics.ssim import ms_ssim, psnr, ssim, ssim_map

    keys = list(DEFAULT_METRICS if metrics is None else metrics)
    if cvvdp and "cvvdp" not in keys:
        keys.append("cvvdp")
    unknown = [k for k in keys if k not in METRICS]
    if unknown:
        raise InputError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    keys = [k for k in METRICS if k in keys]
    if "cvvdp" in keys:
        from hdrkit.metrics.cvvdp import require_cvvdp

        require_cvvdp()  # fail before the other metrics run
    xp, ref, test = prepare_pair(ref_nits, test_nits)
    if ref.ndim != 3:
        raise InputError(f"evaluate takes one H×W×3 image pair, got shape {tuple(ref.shape)}")
    _check_finite(xp, ref, "reference")
    _check_finite(xp, test, "test")
    cache: dict[str, Any] = {}

    def once(name, fn):
        if name not in cache:
            cache[name] = fn()
        return cache[name]

    # Encodings shared between metrics (each metric equals its stand-alone function in hdrkit.metrics).
    pu_rgb = lambda: once("pu_rgb", lambda: (pu21_encode(ref, params), pu21_encode(test, params)))  # noqa: E731
    pu_y = lambda: once(  # noqa: E731
        "pu_y",
        lambda: tuple(pu21_encode(_luminance(xp, x, PU21_LUMINANCE_WEIGHTS), params) for x in (ref, test)),
    )

    def pq_planes():
        def enc(x):
            p = xp.clip(pq_inverse_eotf(x), 0.0, 1.0)
            return xp.stack([p[..., c] for c in range(3)], axis=-3)

        return once("pq", lambda: (enc(ref), enc(test)))

    funcs = {
        "pu_psnr": lambda: psnr(*pu_rgb(), PU21_PEAK),
        "pu_psnr_y": lambda: psnr(*pu_y(), PU21_PEAK),
        "pu_ssim": lambda: ssim(pu_y()[1], pu_y()[0], PU21_PEAK),
        "pu_msssim": lambda: ms_ssim(pu_y()[1], pu_y()[0], PU21_PEAK),
        "pu_fsim": lambda: fsim(pu_rgb()[1], pu_rgb()[0]),
        "pu_vsi": lambda: vsi(pu_rgb()[1], pu_rgb()[0]),
        "delta_itp": lambda: delta_e_itp(ref, test),
        "pq_psnr": lambda: psnr(*pq_planes(), 1.0),
        "pq_ssim": lambda: xp.mean(ssim_map(pq_planes()[1], pq_planes()[0], 1.0)),
        "cvvdp": lambda: cvvdp_jod(xp.to_numpy(ref), xp.to_numpy(test)),
    }
    out: dict[str, float] = {}
    for i, k in enumerate(keys):
        try:
            v = funcs[k]()
        except InputError:
            if k != "pu_msssim":  # only MS-SSIM has a minimum size (5 scales need 16x16)
                raise
            v = float("nan")
        out[k] = float(v) if not hasattr(v, "detach") else float(v.detach().cpu())
        report(progress, i + 1, len(keys), k)
    return out
