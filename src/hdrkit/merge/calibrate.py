"""Estimating the inverse camera response from exposure brackets.

- :func:`debevec1997` -- Debevec & Malik 1997, "Recovering high dynamic range radiance maps from photographs",
  SIGGRAPH '97: least squares on ``Σ w(Z)·(g(Z) − ln E − ln t)² + λ Σ w(z)·g″(z)²`` with ``g = ln f⁻¹``,
  on samples picked by :func:`samples_grossberg2003`.
- :func:`robertson1999` -- Robertson, Borman & Stevenson 1999, "Dynamic range improvement through multiple
  exposures", ICIP '99 (and J. Electronic Imaging 12(2), 2003): alternate ``E_i = Σ_j w t_j g(Z_ij) / Σ_j w t_j²``
  and ``g(m) = mean{E_i t_j : Z_ij = m}`` until ``g`` stops changing.

Both work per channel, for 8-bit or 16-bit codes (16-bit data is solved on a coarser grid of ``nodes`` code
values, 1024 by default, and interpolated), from one bracket or from several brackets of the same camera
(pass ``images`` as a list of brackets and ``times`` as a list of time lists).  The result is a :class:`CRF`
normalised so that ``g(0.5) = 1`` in each channel.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from hdrkit.errors import InputError
from hdrkit.merge.bracket import check_bracket, code_levels
from hdrkit.merge.crf import CRF
from hdrkit.merge.weights import WeightFn, get_weight
from hdrkit.progress import ProgressFn, report

__all__ = ["samples_grossberg2003", "debevec1997", "robertson1999", "calibrate", "CALIBRATION_METHODS"]


def _brackets(images, times) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Normalise (images, times) into a list of checked brackets."""
    if times is None:
        raise InputError("exposure times are needed to estimate a camera response")
    times = list(times)
    nested = len(times) > 0 and isinstance(times[0], (list, tuple, np.ndarray))
    if nested:
        images = list(images)
        if len(images) != len(times):
            raise InputError(f"got {len(images)} brackets but {len(times)} lists of exposure times")
        out = [check_bracket(im, t) for im, t in zip(images, times)]
    else:
        out = [check_bracket(images, times)]
    dtypes = {b[0][0].dtype for b in out}
    if len(dtypes) > 1:
        raise InputError("all brackets given to one calibration must have the same bit depth")
    for _, t in out:
        if len(np.unique(t)) < 2:
            raise InputError("a bracket needs at least two different exposure times to estimate a response")
    return out


def samples_grossberg2003(codes: Sequence[np.ndarray], samples: int = 500, levels: Optional[int] = None) -> np.ndarray:
    """Pick corresponding code values across exposures by histogram matching.

    Grossberg & Nayar 2003, "Determining the camera response from images: what is knowable?", IEEE TPAMI 25(11):
    for a static scene the brightness transfer between two exposures is the composition of their cumulative
    histograms, so the ``q``-quantile code of each exposure sees the same scene radiance.  No registration needed.

    Half of the quantiles are evenly spaced; the other half are the quantiles at which each exposure in turn
    reaches evenly spaced code values, so that code ranges holding few pixels (deep shadows, highlights) get
    samples too.  ``codes``: list of P integer ``H×W×C`` images.  Returns int64 ``samples×P×C``.
    """
    levels = levels or code_levels(codes[0].dtype)
    P, C = len(codes), codes[0].shape[-1]
    cdfs = np.empty((P, C, levels))
    for j, z in enumerate(codes):
        flat = z.reshape(-1, C)
        for c in range(C):
            cdf = np.cumsum(np.bincount(flat[:, c], minlength=levels)).astype(np.float64)
            cdfs[j, c] = cdf / cdf[-1]
    n_even = samples - samples // 2
    n_code = samples - n_even
    q_even = (np.arange(n_even) + 0.5) / n_even
    out = np.empty((samples, P, C), dtype=np.int64)
    for c in range(C):
        per = np.full(P, n_code // P)
        per[: n_code % P] += 1
        q_code = [cdfs[j, c, np.rint(np.linspace(0, levels - 1, per[j] + 2)[1:-1]).astype(np.int64)]
                  for j in range(P)]
        q = np.concatenate([q_even] + q_code)
        for j in range(P):
            out[:, j, c] = np.minimum(np.searchsorted(cdfs[j, c], q), levels - 1)
    return out


def _default_nodes(levels: int, nodes: Optional[int]) -> int:
    if nodes is None:
        return min(levels, 1024)
    nodes = int(nodes)
    if nodes < 16 or nodes > levels:
        raise InputError(f"nodes must be between 16 and {levels}, got {nodes}")
    return nodes


def _gsolve(x: np.ndarray, log_t: np.ndarray, valid: np.ndarray, weight: WeightFn, smoothness: float,
            nodes: int) -> np.ndarray:
    """Solve Debevec–Malik for one channel; returns ln g at ``nodes`` evenly spaced codes.

    ``x``: N×P normalised codes in [0, 1]; ``log_t``: N×P log exposure times; ``valid``: N×P (False for the
    padding of shorter brackets).  A code between two nodes is linearly interpolated between them.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    w = np.where(valid, weight(x), 0.0)
    keep = w.sum(axis=1) > 0
    x, w, log_t = x[keep], w[keep], log_t[keep]
    N, P = x.shape
    if N == 0:
        raise InputError("no well-exposed samples in the bracket; cannot estimate a response")
    p = x * (nodes - 1)
    i0 = np.minimum(np.floor(p).astype(np.int64), nodes - 2)
    a = p - i0
    n_data = N * P
    rows = np.arange(n_data)
    sample = np.repeat(np.arange(N), P)
    # data rows: w·((1 − a)·g[i0] + a·g[i0 + 1] − ln E_i) = w·ln t_j
    r = [rows, rows, rows]
    c = [i0.ravel(), i0.ravel() + 1, nodes + sample]
    v = [(w * (1 - a)).ravel(), (w * a).ravel(), -w.ravel()]
    # gauge: g at the middle node = 0
    r.append(np.array([n_data]))
    c.append(np.array([nodes // 2]))
    v.append(np.array([1.0]))
    # smoothness: λ·w(z)·(g[k−1] − 2g[k] + g[k+1]) = 0, λ rescaled so that its meaning does not depend on `nodes`
    k = np.arange(1, nodes - 1)
    lam = smoothness * (nodes / 256.0) ** 1.5
    wk = lam * np.maximum(weight(k / (nodes - 1)), 1e-3)
    r.append(n_data + 1 + np.repeat(k - 1, 3))
    c.append(np.stack([k - 1, k, k + 1], axis=1).ravel())
    v.append((wk[:, None] * np.array([1.0, -2.0, 1.0])[None, :]).ravel())
    A = sp.csr_matrix((np.concatenate(v), (np.concatenate(r), np.concatenate(c))),
                      shape=(n_data + 1 + len(k), nodes + N))
    b = np.zeros(A.shape[0])
    b[:n_data] = (w * log_t).ravel()
    At = A.T.tocsr()
    sol = spsolve((At @ A).tocsc(), At @ b)
    return np.asarray(sol[:nodes])


def _to_crf(log_g: np.ndarray, levels: int, name: str, info: dict) -> CRF:
    """Nodes of ln g (nodes×3) → a monotone CRF table with ``levels`` entries normalised at code 0.5."""
    nodes = log_g.shape[0]
    g = np.exp(log_g - log_g.max())
    g = np.maximum.accumulate(g, axis=0)  # a response is monotone; remove tiny solver wiggles
    if nodes != levels:
        xs = np.linspace(0, 1, nodes)
        xl = np.linspace(0, 1, levels)
        g = np.stack([np.exp(np.interp(xl, xs, np.log(g[:, c]))) for c in range(g.shape[1])], axis=1)
    return CRF(g, name, info).normalized(0.5)


def debevec1997(
    images,
    times,
    *,
    samples: int = 500,
    smoothness: float = 20.0,
    weight: Union[str, WeightFn] = "triangle",
    nodes: Optional[int] = None,
    progress: Optional[ProgressFn] = None,
) -> CRF:
    """Estimate the inverse response by Debevec & Malik 1997 (SIGGRAPH '97, §2.1 and Appendix).

    Parameters
    ----------
    images, times : one bracket (list of ``H×W×3`` uint8/uint16 arrays and their exposure times) or several
        brackets of the same camera (a list of such lists and a list of time lists).
    samples : corresponding pixels per bracket, picked by :func:`samples_grossberg2003`.
    smoothness : λ, the weight of the second-derivative penalty (for 256 nodes; rescaled for other grids).
    weight : weighting function name or callable (see :mod:`hdrkit.merge.weights`).
    nodes : code values the curve is solved at (default: 256 for 8-bit input, 1024 for 16-bit).

    Returns a :class:`CRF` with ``2**bits`` entries, ``g(0.5) = 1`` per channel.
    """
    brackets = _brackets(images, times)
    levels = code_levels(brackets[0][0][0].dtype)
    nodes = _default_nodes(levels, nodes)
    wfn = get_weight(weight)
    if samples < 2:
        raise InputError(f"samples must be at least 2, got {samples}")
    xs, lts = [], []
    for bi, (codes, t) in enumerate(brackets):
        report(progress, bi, len(brackets) + 3, "sampling")
        s = samples_grossberg2003(codes, samples, levels)  # N×P×3
        xs.append(s / (levels - 1))
        lts.append(np.log(t))
    # Brackets may differ in length: pad to P exposures; padded entries are marked invalid.
    P = max(x.shape[1] for x in xs)
    pad = [((0, 0), (0, P - x.shape[1])) for x in xs]
    x_all = np.concatenate([np.pad(x, pw + ((0, 0),)) for x, pw in zip(xs, pad)])
    t_all = np.concatenate([np.pad(np.broadcast_to(lt, x.shape[:2]), pw) for x, lt, pw in zip(xs, lts, pad)])
    valid = np.concatenate([np.pad(np.ones(x.shape[:2], bool), pw) for x, pw in zip(xs, pad)])
    log_g = np.empty((nodes, 3))
    for ch in range(3):
        report(progress, len(brackets) + ch, len(brackets) + 3, f"solving channel {'RGB'[ch]}")
        log_g[:, ch] = _gsolve(x_all[..., ch], t_all, valid, wfn, smoothness, nodes)
    report(progress, len(brackets) + 3, len(brackets) + 3, "done")
    info = {"method": "debevec1997", "samples": samples, "smoothness": smoothness, "nodes": nodes,
            "weight": weight if isinstance(weight, str) else getattr(weight, "__name__", "custom"),
            "brackets": len(brackets)}
    return _to_crf(log_g, levels, "debevec1997", info)


def robertson1999(
    images,
    times,
    *,
    max_iter: int = 50,
    tol: float = 1e-4,
    weight: Union[str, WeightFn] = "gaussian",
    nodes: Optional[int] = None,
    max_pixels: int = 200_000,
    init: Union[str, CRF] = "debevec1997",
    clip: tuple[float, float] = (0.05, 0.95),
    progress: Optional[ProgressFn] = None,
) -> CRF:
    """Estimate the inverse response by Robertson, Borman & Stevenson 1999 (ICIP '99, eqs. 7–9).

    Iterates ``E_i = Σ_j w_ij t_j g(Z_ij) / Σ_j w_ij t_j²`` and ``g(m) = mean{E_i t_j : Z_ij = m}`` from a linear
    start, normalising ``g(0.5) = 1``, until the largest relative change of ``g`` is below ``tol``.  The images
    must be registered (it works pixel by pixel); at most ``max_pixels`` pixels per bracket are used (an even
    grid).  Codes outside ``clip`` (default 5 %…95 % of full scale) get no weight in the radiance update: clipped
    pixels would drag the estimates of well-exposed ones, and noise-dominated shadows, weighted by t² in that
    update, pull the whole curve flat.  (Measured with the paper's linear start and all codes weighted: RMS
    relative CRF errors of 2.7 to 20.6 in 10 of 16 noisy test brackets; with these defaults ≤ 1.5 %,
    docs/MERGE.md.)

    ``init``: the starting curve: ``"debevec1997"`` (default; :func:`debevec1997` on the same brackets),
    ``"linear"`` (the paper's choice) or a :class:`CRF`.  From a linear start, code values that only one exposure
    of a pixel ever records (deep shadows of the longest exposure) are self-consistent at any value and never
    leave the line; with the w·t² weighting those wrong shadows then pull the whole curve away.  Starting from the
    Debevec solution avoids that.
    """
    brackets = _brackets(images, times)
    levels = code_levels(brackets[0][0][0].dtype)
    nodes = _default_nodes(levels, nodes)
    wfn = get_weight(weight)
    xs = np.linspace(0, 1, nodes)
    wn = wfn(xs)
    wn[(xs < clip[0]) | (xs > clip[1])] = 0.0
    wn[0] = wn[-1] = 0.0
    # Per bracket and channel, everything that does not depend on g is computed once: the bins of the pixels
    # that have a weighted exposure, w·t, Σ w·t² and the bin counts.
    prepared: list[list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in range(3)]
    counts = np.zeros((3, nodes))
    for codes, t in brackets:
        h, w = codes[0].shape[:2]
        step = max(1, int(np.ceil(np.sqrt(h * w / max_pixels))))
        stack = np.stack([c[::step, ::step].reshape(-1, 3) for c in codes], axis=1)  # M×P×3
        bins = np.rint(stack.astype(np.float64) * ((nodes - 1) / (levels - 1))).astype(np.int64)
        for ch in range(3):
            bc = bins[..., ch]
            wt = wn[bc] * t[None, :]
            den = (wt * t[None, :]).sum(axis=1)
            ok = den > 0
            bc = np.ascontiguousarray(bc[ok])
            prepared[ch].append((bc, np.ascontiguousarray(wt[ok] / den[ok, None]), t, bc.ravel()))
            counts[ch] += np.bincount(bc.ravel(), minlength=nodes)
    mid = (nodes - 1) / 2
    if isinstance(init, CRF):
        start = init
    elif init == "linear":
        start = CRF(np.linspace(0, 1, nodes))
    elif init == "debevec1997":
        start = debevec1997([b[0] for b in brackets], [list(b[1]) for b in brackets], nodes=nodes)
    else:
        raise InputError(f"init must be 'debevec1997', 'linear' or a CRF, got {init!r}")
    g = start.resampled(nodes).normalized(0.5).table.copy()
    g[0] = np.maximum(g[0], 0.5 * g[1])
    idx = np.arange(nodes)
    it = 0
    for it in range(1, max_iter + 1):
        report(progress, it, max_iter, "robertson iterations")
        new = np.zeros_like(g)
        for ch in range(3):
            seen = counts[ch] > 0
            if seen.sum() < 2:
                raise InputError("too few distinct code values to estimate a response")
            num = np.zeros(nodes)
            for bc, wt_norm, t, flat in prepared[ch]:
                e = (wt_norm * g[bc, ch]).sum(axis=1)  # E_i = Σ w t g / Σ w t²
                num += np.bincount(flat, weights=(e[:, None] * t[None, :]).ravel(), minlength=nodes)
            gc = np.where(seen, num / np.where(seen, counts[ch], 1), 0.0)
            # unseen codes: interpolate (log domain) between seen neighbours, extend flat at the ends
            pos = seen & (gc > 0)
            gc = np.exp(np.interp(idx, idx[pos], np.log(gc[pos])))
            gc = np.maximum.accumulate(gc)
            gc /= np.interp(mid, idx, gc)
            new[:, ch] = gc
        change = np.max(np.abs(new - g) / np.maximum(new, 1e-12))
        g = new
        if change < tol:
            break
    info = {"method": "robertson1999", "iterations": it, "init": init if isinstance(init, str) else init.name,
            "clip": [float(clip[0]), float(clip[1])], "nodes": nodes, "max_pixels": max_pixels,
            "weight": weight if isinstance(weight, str) else getattr(weight, "__name__", "custom"),
            "brackets": len(brackets)}
    return _to_crf(np.log(g), levels, "robertson1999", info)


#: Response estimation methods by name.
CALIBRATION_METHODS = {"debevec1997": debevec1997, "robertson1999": robertson1999}


def calibrate(images, times, method: str = "debevec1997", **params) -> CRF:
    """Estimate an inverse camera response with ``method`` (``debevec1997`` or ``robertson1999``)."""
    try:
        fn = CALIBRATION_METHODS[method]
    except KeyError:
        raise InputError(f"unknown calibration method {method!r}; choose {', '.join(CALIBRATION_METHODS)}") from None
    return fn(images, times, **params)
