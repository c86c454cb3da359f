"""A self-contained HTML report of an HDR comparison: previews at several exposures, error maps, a luminance
histogram and the metric table.  Everything (images included, as base64 JPEG) lives in one ``index.html``.

Previews are a plain exposure + clip + sRGB encode of BT.709 light (no tone curve), so what is shown is what
the pixels hold; error maps use OpenCV's *inferno* colour map.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from hdrkit.metrics.evaluate import METRICS

#: Exposure offsets (stops) of the previews, relative to the automatic exposure of the reference.
PREVIEW_STOPS: tuple[float, ...] = (-3.0, 0.0, 3.0)


@dataclass
class ReportItem:
    """One image pair of a report."""

    name: str
    ref_nits: np.ndarray  # H×W×3 BT.2020 cd/m²
    test_nits: np.ndarray
    metrics: dict[str, float]
    ref_label: str = "reference"
    test_label: str = "test"
    notes: list[str] = field(default_factory=list)


def _jpeg_data_uri(rgb8: np.ndarray, quality: int = 90) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
        raise RuntimeError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _shrink(img: np.ndarray, max_width: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if w <= max_width:
        return img
    nh = max(1, round(h * max_width / w))
    return cv2.resize(img, (max_width, nh), interpolation=cv2.INTER_AREA)


def auto_exposure(nits: np.ndarray) -> float:
    """Scale that maps the log-average BT.2020 luminance to 18 % of display white (Reinhard's key)."""
    from hdrkit.color import luminance

    Y = luminance(nits.astype(np.float32), "bt2020")
    logavg = float(np.exp(np.mean(np.log(np.maximum(Y, 1e-4)))))
    return 0.18 / max(logavg, 1e-6)


def preview(nits: np.ndarray, scale: float) -> np.ndarray:
    """``uint8`` sRGB preview: BT.2020 → BT.709 light, ×``scale``, clip to [0, 1], sRGB encode."""
    from hdrkit.color import convert_primaries, srgb_inverse_eotf

    lin = convert_primaries(nits.astype(np.float32) * np.float32(scale), "bt2020", "bt709")
    v = srgb_inverse_eotf(np.clip(lin, 0.0, 1.0))
    return np.clip(np.round(v * 255), 0, 255).astype(np.uint8)


def colour_map(values: np.ndarray, vmax: float) -> np.ndarray:
    """``H×W`` → ``H×W×3`` uint8 RGB with OpenCV's inferno map over [0, ``vmax``]."""
    import cv2

    v = np.nan_to_num(values.astype(np.float64), nan=0.0) / max(vmax, 1e-12)
    u8 = np.clip(np.round(v * 255), 0, 255).astype(np.uint8)
    return cv2.applyColorMap(u8, cv2.COLORMAP_INFERNO)[..., ::-1]


def _colour_bar() -> str:
    ramp = np.tile(np.linspace(0, 1, 256)[None, :], (12, 1))
    return _jpeg_data_uri(colour_map(ramp, 1.0), 95)


def _histogram_svg(ref_nits: np.ndarray, test_nits: np.ndarray, labels: Sequence[str]) -> str:
    """Inline SVG: histograms of log10 BT.2020 luminance (cd/m²) of both images."""
    from hdrkit.color import luminance

    lo, hi, bins = -3.0, 5.0, 128
    w, h, pad = 640, 220, 36
    hists = []
    for img in (ref_nits, test_nits):
        Y = luminance(img.astype(np.float32), "bt2020").ravel()
        logy = np.log10(np.clip(Y, 10**lo, 10**hi))
        c, _ = np.histogram(logy, bins=bins, range=(lo, hi))
        hists.append(c / max(c.sum(), 1))
    top = max(float(max(hh.max() for hh in hists)), 1e-9)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" class="hist">',
             f'<rect x="{pad}" y="8" width="{w - pad - 8}" height="{h - pad - 8}" fill="#fafafa" stroke="#999"/>']
    for k, (hh, colour) in enumerate(zip(hists, ("#1f77b4", "#d62728"))):
        pts = " ".join(
            f"{pad + (i + 0.5) / bins * (w - pad - 8):.1f},{8 + (1 - v / top) * (h - pad - 8):.1f}"
            for i, v in enumerate(hh)
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        parts.append(f'<text x="{pad + 8}" y="{26 + 16 * k}" fill="{colour}" font-size="12">'
                     f"{html.escape(labels[k])}</text>")
    for e in range(int(lo), int(hi) + 1):
        x = pad + (e - lo) / (hi - lo) * (w - pad - 8)
        parts.append(f'<line x1="{x:.1f}" y1="{h - pad}" x2="{x:.1f}" y2="{h - pad + 4}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{h - pad + 16}" font-size="11" text-anchor="middle">1e{e}</text>')
    parts.append(f'<text x="{w / 2}" y="{h - 4}" font-size="12" text-anchor="middle">luminance (cd/m², log scale)'
                 "</text></svg>")
    return "".join(parts)


def _fmt(v: Optional[float]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if math.isinf(v):
        return "∞"
    return f"{v:.4f}" if abs(v) < 10 else f"{v:.3f}"


def metric_table_html(rows: Sequence[tuple[str, dict[str, float]]]) -> str:
    keys = [k for k in METRICS if any(k in m for _, m in rows)]
    head = "".join(f'<th title="{html.escape(METRICS[k][0])}">{k}<br><small>{"↑" if METRICS[k][1] else "↓"}'
                   "</small></th>" for k in keys)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{_fmt(m.get(k))}</td>" for k in keys) + "</tr>"
        for name, m in rows
    )
    legend = "".join(f"<li><b>{k}</b>: {html.escape(METRICS[k][0])}</li>" for k in keys)
    return f'<table class="metrics"><tr><th>image</th>{head}</tr>{body}</table><ul class="legend">{legend}</ul>'


def _item_html(item: ReportItem, max_width: int, stops: Sequence[float]) -> str:
    from hdrkit.metrics.itp import delta_e_itp_map
    from hdrkit.metrics.pu import pu_error_map

    scale = auto_exposure(item.ref_nits)
    rows = []
    for ev in stops:
        s = scale * 2.0**ev
        a = _jpeg_data_uri(_shrink(preview(item.ref_nits, s), max_width))
        b = _jpeg_data_uri(_shrink(preview(item.test_nits, s), max_width))
        rows.append(
            f'<div class="row"><figure><img src="{a}" alt="reference {ev:+g} EV"><figcaption>'
            f"{html.escape(item.ref_label)} · {ev:+g} EV</figcaption></figure><figure><img src=\"{b}\" "
            f'alt="test {ev:+g} EV"><figcaption>{html.escape(item.test_label)} · {ev:+g} EV</figcaption></figure>'
            "</div>"
        )
    pu = pu_error_map(item.ref_nits.astype(np.float64), item.test_nits.astype(np.float64))
    de = delta_e_itp_map(item.ref_nits.astype(np.float64), item.test_nits.astype(np.float64))
    pu_max = max(float(np.nanpercentile(pu, 99.5)), 1e-3)
    de_max = max(float(np.nanpercentile(de, 99.5)), 1.0)
    bar = _colour_bar()
    maps = (
        '<div class="row">'
        f'<figure><img src="{_jpeg_data_uri(_shrink(colour_map(pu, pu_max), max_width))}" alt="PU21 error map">'
        f'<figcaption>PU21 error (RMS over R,G,B, PU units)<br><img class="bar" src="{bar}" alt="scale"> '
        f"0 … {pu_max:.3g}</figcaption></figure>"
        f'<figure><img src="{_jpeg_data_uri(_shrink(colour_map(de, de_max), max_width))}" alt="ΔE_ITP map">'
        f'<figcaption>ΔE_ITP (BT.2124; 1 ≈ just noticeable)<br><img class="bar" src="{bar}" alt="scale"> '
        f"0 … {de_max:.3g}</figcaption></figure></div>"
    )
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in item.notes)
    hist = _histogram_svg(item.ref_nits, item.test_nits, (item.ref_label, item.test_label))
    h, w = item.ref_nits.shape[:2]
    return (
        f'<section><h2>{html.escape(item.name)} <small>{w}×{h}</small></h2>{notes}'
        f"{metric_table_html([(item.name, item.metrics)])}<h3>Previews (exposure + clip, sRGB)</h3>"
        f"{''.join(rows)}<h3>Error maps</h3>{maps}<h3>Luminance histogram</h3>{hist}</section>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:17px;border-top:1px solid #ccc;padding-top:8px}h3{font-size:14px;margin:10px 0 4px}
.row{display:flex;gap:8px}.row figure{flex:1 1 0;min-width:0;margin:0}figure img{display:block;width:100%}
figcaption{font-size:12px;color:#444}img.bar{width:160px;height:10px;vertical-align:middle;display:inline}
table.metrics{border-collapse:collapse;font-size:13px;margin:6px 0}
table.metrics td,table.metrics th{border:1px solid #bbb;padding:3px 6px;text-align:right}
table.metrics td:first-child{text-align:left}.legend{font-size:12px;color:#555}.note{color:#a60}
"""


def render_report(items: Sequence[ReportItem], title: str = "hdrkit eval", max_width: Optional[int] = None,
                  stops: Sequence[float] = PREVIEW_STOPS, progress=None) -> str:
    """The HTML text of a report: a summary table (with the mean row for several items) and one section per
    item.  ``max_width``: preview width in pixels (default 768, 384 for more than one item)."""
    from hdrkit.progress import report as tick

    if max_width is None:
        max_width = 768 if len(items) == 1 else 384
    sections = []
    for i, it in enumerate(items):
        sections.append(_item_html(it, max_width, stops))
        tick(progress, i + 1, len(items), f"report {it.name}")
    summary = ""
    if len(items) > 1:
        rows = [(it.name, it.metrics) for it in items]
        rows.append(("mean", mean_metrics([it.metrics for it in items])))
        summary = "<h2>Summary</h2>" + metric_table_html(rows)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        '<p class="legend">Absolute BT.2020 light in cd/m². Metrics: PU21 (Mantiuk &amp; Azimi 2021) as '
        "pu21_metric.m, ΔE_ITP (ITU-R BT.2124), PSNR/SSIM on PQ code values.</p>"
        f"{summary}{''.join(sections)}</body></html>"
    )


def mean_metrics(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-key mean over rows, ignoring NaN (NaN when every row is NaN); +inf stays +inf."""
    out: dict[str, float] = {}
    for k in METRICS:
        vals = [r[k] for r in rows if k in r and not math.isnan(r[k])]
        if any(k in r for r in rows):
            out[k] = float(np.mean(vals)) if vals else float("nan")
    return out


def write_report(folder: str | Path, items: Sequence[ReportItem], title: str = "hdrkit eval",
                 progress=None) -> Path:
    """Write ``folder/index.html`` atomically (the folder is created if its parent exists); returns the path."""
    return write_report_html(folder, lambda: render_report(items, title, progress=progress))


def write_report_html(folder: str | Path, render) -> Path:
    """Create ``folder`` if its parent exists, then write ``render()`` to ``folder/index.html`` atomically."""
    from hdrkit.errors import InputError
    from hdrkit.io.atomic import atomic_write_bytes

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"report folder {folder} is a file")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise InputError(f"cannot create report folder {folder}: {folder.parent} does not exist")
        try:
            folder.mkdir()
        except OSError as exc:  # unwritable parent, read-only file system, ...
            raise InputError(f"cannot create report folder {folder}: {exc.strerror or exc}") from None
    out = folder / "index.html"
    atomic_write_bytes(out, render().encode("utf-8"))
    return out


def line_plot_svg(series: dict[str, Sequence[float]], title: str, ylabel: str, width: int = 720,
                  height: int = 220) -> str:
    """An inline SVG line plot of one or more per-frame series (x = frame number)."""
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    vals = [np.asarray(v, dtype=np.float64) for v in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(1)
    if finite.size == 0:
        finite = np.zeros(1)
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    n = max(len(v) for v in vals) if vals else 1
    pad_l, pad_b, pad_t = 56, 28, 22

    def xy(i: int, v: float) -> str:
        x = pad_l + (width - pad_l - 8) * (i / max(n - 1, 1))
        y = pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))
        return f"{x:.1f},{y:.1f}"

    lines = []
    for (name, _), v, c in zip(series.items(), vals, colours):
        pts = " ".join(xy(i, float(x)) for i, x in enumerate(v) if np.isfinite(x))
        lines.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{pts}"/>')
    legend = "".join(f'<text x="{pad_l + 8 + 150 * k}" y="14" fill="{c}" font-size="12">{html.escape(name)}</text>'
                     for k, (name, c) in enumerate(zip(series, colours)))
    axes = (f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - 8}" y2="{height - pad_b}" stroke="#888"/>'
            f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{height - pad_b}" stroke="#888"/>'
            f'<text x="4" y="{pad_t + 8}" font-size="11">{hi:.4g}</text>'
            f'<text x="4" y="{height - pad_b}" font-size="11">{lo:.4g}</text>'
            f'<text x="{pad_l}" y="{height - 8}" font-size="11">frame 0</text>'
            f'<text x="{width - 70}" y="{height - 8}" font-size="11">frame {n - 1}</text>'
            f'<text x="4" y="{height / 2:.0f}" font-size="11">{html.escape(ylabel)}</text>')
    return (f'<figure><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{html.escape(title)}">{axes}{"".join(lines)}{legend}</svg>'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")


def render_video_report(summary: dict[str, float], per_frame: dict[str, Sequence[float]],
                        worst: Optional[ReportItem] = None, title: str = "hdrkit video eval") -> str:
    """HTML of a video comparison: the summary, the flicker plot (per-frame mean PQ of reference and test),
    per-frame PU-PSNR and ΔE_ITP, and the full image section of the worst frame."""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(float(v)) if isinstance(v, (int, float)) else html.escape(str(v))}</td></tr>"
                   for k, v in summary.items())
    plots = line_plot_svg({"reference": per_frame["ref_mean_pq"], "test": per_frame["test_mean_pq"]},
                          "Flicker plot: per-frame mean PQ code value", "mean PQ")
    plots += line_plot_svg({"PU-PSNR": per_frame["pu_psnr"]}, "PU-PSNR per frame (dB)", "dB")
    plots += line_plot_svg({"ΔE_ITP": per_frame["delta_e_itp"]}, "mean ΔE_ITP per frame", "ΔE_ITP")
    section = _item_html(worst, 768, PREVIEW_STOPS) if worst is not None else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<table class="metrics"><tr><th>metric</th><th>value</th></tr>{rows}</table>'
        f"<h2>Temporal behaviour</h2>{plots}{section}</body></html>"
    )
