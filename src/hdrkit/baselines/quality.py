"""``hdrkit bench quality``: every metadata method on the same (SDR, HDR) pairs, at counted bytes.

A *method spec* is ``name[:key=value,...]``, e.g. ``gainmap:scale=4,q=95,ch=3``, ``mlp:quant=int8``,
``gamutmlp:steps=300``, ``inf:steps=150``.  Methods:

* ``naive``     SDR linearised, BT.2020, white = 203 cd/m² (0 bytes)
* ``blind``     the shipped meta-trained theta_init without adaptation (0 bytes per image)
* ``mlp``       our embedded network (:func:`hdrkit.codec.api.encode_arrays`, default: the gamma-map family);
  keys ``quant`` (fp16/int8/fp32), ``steps``, ``lr``, ``init`` (path, ``siren`` = the paper's SIREN, ``random``);
  gamma family: ``batch``, ``hl`` (lr half-life), ``loss`` (pq/itp/mix); SIREN: ``sf`` (sample fraction), ``ef``
  (OHEM error fraction), ``resample`` (0 = uniform grid)
* ``gainmap``   ISO 21496-1 gain map; keys ``scale`` (1/2/4/8), ``q`` (map JPEG quality), ``ch`` (1 or 3); bytes
  = everything the Ultra HDR JPEG adds to the plain SDR JPEG (map JPEG, XMP, ISO blocks, MPF)
* ``gamutmlp``  GamutMLP-style residual MLP; keys ``steps``, ``batch``, ``init`` (path of a Reptile init)
* ``inf``       INF-style per-patch SIREN fitted at decode time to stride-8 HDR samples; keys ``steps``, ``patch``
* ``expand``    a blind up-conversion of :mod:`hdrkit.expand` (key ``from``, e.g. ``akyuz2007``; 0 bytes)
* ``distill``   our MLP fitted to that blind method's output instead of the true HDR (paper §4.6; key ``from``)

Every method sees the SDR exactly as stored in the pair (8-bit PNG) so the comparison is of the metadata alone.
Results are rows ``{pair, method, bytes, encode_s, decode_s, metrics...}``; :func:`tables` renders markdown.
"""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report

METRIC_KEYS = ("pu_psnr", "pu_psnr_y", "pu_msssim", "delta_itp", "pq_psnr", "pq_ssim")
METRIC_NAMES = {"pu_psnr": "PU-PSNR", "pu_psnr_y": "PU-PSNR-Y", "pu_msssim": "PU-MS-SSIM", "delta_itp": "ΔE_ITP",
                "pq_psnr": "PQ-PSNR", "pq_ssim": "PQ-SSIM"}
METHODS = ("naive", "blind", "mlp", "gainmap", "gamutmlp", "gainmlp", "inf", "expand", "distill")


@dataclass
class Pair:
    name: str
    sdr: np.ndarray      # uint8 (H, W, 3), BT.709 γ2.4
    hdr_nits: np.ndarray  # float32 (H, W, 3), BT.2020 cd/m²


def load_pairs(folder: str | Path, exclude: Sequence[str] = ()) -> List[Pair]:
    """Pairs of a ``hdrkit pairs`` folder (``NAME_hdr.png`` 16-bit PQ + ``NAME_sdr.png``), minus ``exclude``
    (shell patterns on NAME)."""
    from hdrkit import color
    from hdrkit.codec.bench import find_pairs
    from hdrkit.io import read_image

    out = []
    for name, hp, sp in find_pairs(folder):
        if any(fnmatch.fnmatch(name, pat) for pat in exclude):
            continue
        hdr = np.clip(color.to_nits(read_image(hp)), 0, 10000).astype(np.float32)
        s = read_image(sp).pixels
        sdr = np.clip(np.round(np.asarray(s) * 255), 0, 255).astype(np.uint8)
        if sdr.shape != hdr.shape:
            raise InputError(f"pair {name}: SDR and HDR sizes differ")
        out.append(Pair(name, sdr, hdr))
    if not out:
        raise InputError(f"no pairs left in {folder}")
    return out


def parse_spec(spec: str) -> Tuple[str, Dict[str, str]]:
    """``"gainmap:scale=4,q=95"`` -> ``("gainmap", {"scale": "4", "q": "95"})``."""
    name, _, rest = spec.strip().partition(":")
    if name not in METHODS:
        raise InputError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    kw = {}
    for item in filter(None, rest.split(",")):
        k, eq, v = item.partition("=")
        if not eq:
            raise InputError(f"method option {item!r} must be key=value")
        kw[k.strip()] = v.strip()
    return name, kw


# --------------------------------------------------------------------------------------------- methods
# Each runner: (pair, kw) -> (bytes, encode seconds, decode seconds, decoded HDR nits, extra info dict)
Runner = Callable[[Pair, Dict[str, str]], Tuple[int, float, float, np.ndarray, dict]]


def _pq_to_nits(pq: np.ndarray) -> np.ndarray:
    from hdrkit import color

    return np.asarray(color.pq_eotf(np.clip(pq, 0, 1)), np.float32)


def _pq(nits: np.ndarray) -> np.ndarray:
    from hdrkit import color

    return np.asarray(color.pq_inverse_eotf(np.clip(nits, 0, 10000)), np.float32)


def _run_naive(p: Pair, kw):
    from hdrkit.baselines.naive import sdr_linear_nits

    t = time.perf_counter()
    out = sdr_linear_nits(p.sdr)
    return 0, 0.0, time.perf_counter() - t, out, {}


def _run_blind(p: Pair, kw):
    from hdrkit.baselines.naive import theta_init_blind

    t = time.perf_counter()
    pq = theta_init_blind(p.sdr, kw.get("init"))
    return 0, 0.0, time.perf_counter() - t, _pq_to_nits(pq), {}


def _run_mlp(p: Pair, kw):
    from dataclasses import replace

    from hdrkit.codec.adapters import jpeg_added_bytes
    from hdrkit.codec.api import decode_arrays, default_adapt_config, encode_arrays

    cfg = default_adapt_config(kw.get("init"))
    floats = {"lr": "lr", "sf": "sample_fraction", "ef": "error_fraction", "hl": "lr_halflife"}
    ints = {"steps": "steps", "batch": "batch"}
    for key, field in list(floats.items()) + list(ints.items()):
        if key in kw:
            if not hasattr(cfg, field):
                raise InputError(f"mlp option {key} does not apply to {type(cfg).__name__}")
            cfg = replace(cfg, **{field: (float if key in floats else int)(kw[key])})
    if "loss" in kw:
        cfg = replace(cfg, loss=kw["loss"])
    if kw.get("resample") == "0" and hasattr(cfg, "resample_at"):
        cfg = replace(cfg, resample_at=())
    res = encode_arrays(p.sdr, p.hdr_nits, adapt_cfg=cfg, quant=kw.get("quant", "fp16"), theta_init=kw.get("init"))
    t = time.perf_counter()
    pq = decode_arrays(res.blob, p.sdr)
    return (jpeg_added_bytes(len(res.blob)), res.adapt_seconds, time.perf_counter() - t, _pq_to_nits(pq),
            {"steps": res.info.steps_run})


def _run_gainmap(p: Pair, kw):
    from hdrkit.codec import gainmap as G
    from hdrkit.codec import ultrahdr as U

    scale, q, ch = int(kw.get("scale", 4)), int(kw.get("q", 95)), int(kw.get("ch", 3))
    t = time.perf_counter()
    gm, map_jpeg = G.encode(p.sdr, p.hdr_nits, scale=scale, quality=q, multichannel=ch == 3)
    enc = time.perf_counter() - t
    primary = U.encode_sdr_jpeg(p.sdr, 95)
    n_bytes = len(U.assemble(primary, map_jpeg, gm.metadata)) - len(primary)
    t = time.perf_counter()
    out = G.decode(p.sdr, gm)
    return n_bytes, enc, time.perf_counter() - t, out, {"map_jpeg": len(map_jpeg)}


def _run_gamutmlp(p: Pair, kw):
    from hdrkit.baselines import gamutmlp as GM

    acfg = GM.GamutAdaptConfig(steps=int(kw.get("steps", 1200)), batch=int(kw.get("batch", 1 << 16)))
    theta, cfg = None, GM.GamutMLPConfig()
    if kw.get("init"):
        cfg, theta = GM.load_init(kw["init"])
    params, info = GM.adapt(p.sdr, _pq(p.hdr_nits), theta, cfg, acfg)
    blob = GM.pack(params, cfg)
    t = time.perf_counter()
    c2, prm = GM.unpack(blob)
    pq = GM.decode(prm, p.sdr, c2)
    return len(blob), info.seconds, time.perf_counter() - t, _pq_to_nits(pq), {"pool": info.pool}


def _run_gainmlp(p: Pair, kw):
    """Gain-MLP / Gamma-MLP (Canham et al. 2025): ``gainmlp:mode=gamma|gain,steps=N,batch=B,hidden=W``."""
    from hdrkit.baselines import gainmlp as GM
    from hdrkit.codec.adapters import jpeg_added_bytes

    w = int(kw.get("hidden", 16))
    cfg = GM.GainMLPConfig(kw.get("mode", "gamma"), (w, w))
    fcfg = GM.GainMLPFitConfig(steps=int(kw.get("steps", 1000)), batch=int(kw.get("batch", 1 << 16)))
    blob, enc = GM.fit(p.sdr, _pq(p.hdr_nits), cfg, fcfg)
    t = time.perf_counter()
    pq = GM.decode(blob, p.sdr)
    return jpeg_added_bytes(len(blob)), enc, time.perf_counter() - t, _pq_to_nits(pq), {}


def _run_inf(p: Pair, kw):
    from hdrkit.baselines import inf as INF

    cfg = INF.InfConfig(steps=int(kw.get("steps", 500)), patch=int(kw.get("patch", 512)))
    t = time.perf_counter()
    blob = INF.encode(_pq(p.hdr_nits), cfg.stride)
    enc = time.perf_counter() - t
    pq, dec = INF.decode(blob, p.sdr, cfg)
    return len(blob), enc, dec, _pq_to_nits(pq), {}


def _run_expand(p: Pair, kw):
    from hdrkit.baselines.distill import distill_target

    t = time.perf_counter()
    out = distill_target(p.sdr, kw.get("from", "akyuz2007"))
    return 0, 0.0, time.perf_counter() - t, out, {}


def _run_distill(p: Pair, kw):
    """Our MLP fitted to a blind method's output (paper §4.6), scored against the true HDR."""
    from hdrkit.baselines.distill import distill_target
    from hdrkit.codec.adapters import jpeg_added_bytes
    from hdrkit.codec.api import decode_arrays, encode_arrays

    target = distill_target(p.sdr, kw.get("from", "akyuz2007"))
    res = encode_arrays(p.sdr, target, theta_init=kw.get("init"))
    t = time.perf_counter()
    pq = decode_arrays(res.blob, p.sdr)
    return jpeg_added_bytes(len(res.blob)), res.adapt_seconds, time.perf_counter() - t, _pq_to_nits(pq), {}


RUNNERS: Dict[str, Runner] = {"expand": _run_expand, "distill": _run_distill, "naive": _run_naive, "blind": _run_blind, "mlp": _run_mlp, "gainmap": _run_gainmap,
                              "gamutmlp": _run_gamutmlp, "gainmlp": _run_gainmlp, "inf": _run_inf}


def run(pairs: Sequence[Pair], specs: Sequence[str], *, progress: Optional[ProgressFn] = None,
        on_row: Optional[Callable[[dict], None]] = None) -> List[dict]:
    """Run every method spec on every pair; a row per (pair, spec)."""
    from hdrkit.metrics import evaluate

    parsed = [(s, *parse_spec(s)) for s in specs]
    rows, total, done = [], len(pairs) * len(parsed), 0
    for spec, name, kw in parsed:
        for p in pairs:
            n_bytes, enc, dec, out, extra = RUNNERS[name](p, kw)
            q = evaluate(p.hdr_nits, out, metrics=METRIC_KEYS)
            row = {"pair": p.name, "method": spec, "bytes": int(n_bytes), "encode_s": enc, "decode_s": dec,
                   "size": f"{p.sdr.shape[1]}x{p.sdr.shape[0]}", **{k: float(q[k]) for k in METRIC_KEYS}, **extra}
            rows.append(row)
            if on_row is not None:
                on_row(row)
            done += 1
            report(progress, done, total, f"{spec} {p.name}")
    return rows


def common_pairs(rows: Sequence[dict]) -> List[dict]:
    """The rows of the pairs that every method in ``rows`` has results for (so that means compare alike)."""
    methods = set(r["method"] for r in rows)
    keep = set.intersection(*[set(r["pair"] for r in rows if r["method"] == m) for m in methods]) if methods else set()
    return [r for r in rows if r["pair"] in keep]


def means(rows: Sequence[dict]) -> Dict[str, dict]:
    """Mean of every numeric column per method, in first-seen order, with the number of pairs."""
    out: Dict[str, dict] = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == m]
        d = {"n": len(sel)}
        for k in ("bytes", "encode_s", "decode_s", *METRIC_KEYS):
            d[k] = float(np.mean([r[k] for r in sel]))
        out[m] = d
    return out


def label(spec: str) -> str:
    """Display form of a spec: path values shortened to the file stem (``init=/tmp/x/theta.hdrkit`` -> ``init=theta``)."""
    name, kw = parse_spec(spec)
    if not kw:
        return name
    return name + ":" + ",".join(f"{k}={Path(v).stem if '/' in v else v}" for k, v in kw.items())


def table(rows: Sequence[dict], methods: Optional[Sequence[str]] = None, labels: Optional[Dict[str, str]] = None) -> str:
    """Markdown table of the per-method means (Table 1 layout)."""
    mm = means(rows)
    methods = [m for m in (methods or mm) if m in mm]
    head = "| method | pairs | bytes | encode s | decode s | " + " | ".join(METRIC_NAMES[k] for k in METRIC_KEYS) + " |"
    lines = [head, "|---|---:|---:|---:|---:|" + "---:|" * len(METRIC_KEYS)]
    for m in methods:
        d = mm[m]
        lab = (labels or {}).get(m, f"`{label(m)}`")
        vals = " | ".join(f"{d[k]:.4f}" if k in ("pu_msssim", "pq_ssim") else f"{d[k]:.2f}" for k in METRIC_KEYS)
        lines.append(f"| {lab} | {d['n']} | {d['bytes']:,.0f} | {d['encode_s']:.2f} | {d['decode_s']:.2f} | {vals} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ efficiency (4K)
def _frame(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sdr = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin(xx / 37.0)], -1)
    return np.clip(np.round((sdr + rng.random(sdr.shape, dtype=np.float32) * 0.05) * 255), 0, 255).astype(np.uint8)


def decode_4k(methods: Sequence[str] = ("naive", "gainmap", "mlp", "gamutmlp"), width: int = 3840,
              height: int = 2160, repeats: int = 2, progress: Optional[ProgressFn] = None) -> Dict[str, float]:
    """Best-of-``repeats`` seconds to decode one ``width x height`` frame per method (weights/maps made for a
    synthetic frame: the cost does not depend on their values).  INF is not timed here: its decode *is* its
    fitting (see Table 1's decode column at 1024x512)."""
    import torch

    from hdrkit import color
    from hdrkit.codec import gainmap as G

    sdr = _frame(width, height)
    hdr = np.asarray(color.convert_primaries(G.sdr_to_linear(sdr, "bt709"), "bt709", "bt2020"), np.float32) * 300
    out: Dict[str, float] = {}
    for i, m in enumerate(methods):
        if m == "naive":
            from hdrkit.baselines.naive import sdr_linear_nits

            fn = lambda: sdr_linear_nits(sdr)  # noqa: E731
        elif m == "gainmap":
            gm, _ = G.encode(sdr, hdr, scale=4, quality=95)
            fn = lambda: G.decode(sdr, gm)  # noqa: E731
        elif m == "mlp":
            from hdrkit.models.fast import decode_pq
            from hdrkit.models.siren import SirenConfig, init_params

            prm = init_params(SirenConfig(), torch.Generator().manual_seed(0))
            fn = lambda: decode_pq(prm, sdr, SirenConfig())  # noqa: E731
        elif m == "gamutmlp":
            from hdrkit.baselines import gamutmlp as GM

            prm = GM.init_params(GM.GamutMLPConfig(), torch.Generator().manual_seed(0))
            fn = lambda: GM.decode(prm, sdr)  # noqa: E731
        else:
            raise InputError(f"no 4K decode timing for {m!r}")
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        out[m] = min(ts)
        report(progress, i + 1, len(methods), f"4K decode {m}")
    return out


# --------------------------------------------------------------------------------------------- reports
def rd_plot(rows: Sequence[dict], path: str | Path, metric: str = "pu_psnr") -> None:
    """Rate-distortion chart (mean ``metric`` vs mean metadata bytes) of every method family with bytes > 0."""
    from hdrkit.meta.plot import line_chart

    mm = means(rows)
    fam: Dict[str, List[Tuple[float, float]]] = {}
    for spec, d in mm.items():
        if d["bytes"] <= 0:
            continue
        name, kw = parse_spec(spec)
        rest = {k: v for k, v in kw.items() if k not in ("scale", "q", "quant")}  # keys that move along a curve
        if name == "gainmap":
            rest["ch"] = rest.get("ch", "3")
        key = name + (" " + ",".join(f"{k}={Path(v).stem if '/' in v else v}" for k, v in sorted(rest.items()))
                      if rest else "")
        fam.setdefault(key, []).append((math.log10(d["bytes"] / 1000.0), d[metric]))
    colours = [(200, 60, 0), (0, 140, 0), (0, 0, 220), (160, 0, 160), (0, 150, 200), (90, 90, 90)]
    series = []
    for i, (k, pts) in enumerate(sorted(fam.items())):
        pts.sort()
        series.append((k, [p[0] for p in pts], [p[1] for p in pts], colours[i % len(colours)]))
    line_chart(str(path), series, f"{METRIC_NAMES[metric]} vs metadata size (mean over pairs)",
               "metadata size: log10(kB)  (1 = 10 kB, 2 = 100 kB)", METRIC_NAMES[metric])
