"""A dependency-free line chart (OpenCV drawing) for training curves in docs/."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np


def line_chart(path: str, series: Sequence[Tuple[str, Sequence[float], Sequence[float], Tuple[int, int, int]]],
               title: str, xlabel: str, ylabel: str, log_y: bool = False, size=(900, 500)) -> None:
    """Draw ``series`` = [(label, xs, ys, bgr colour)] into a PNG at ``path`` (written atomically)."""
    import cv2

    from hdrkit.io.atomic import atomic_path

    W, H = size
    L, R, T, B = 80, 20, 40, 50
    img = np.full((H, W, 3), 255, np.uint8)
    xs_all = np.concatenate([np.asarray(s[1], float) for s in series if len(s[1])]) if series else np.zeros(1)
    ys_all = np.concatenate([np.asarray(s[2], float) for s in series if len(s[2])]) if series else np.zeros(1)
    f = (lambda v: np.log10(np.maximum(v, 1e-12))) if log_y else (lambda v: np.asarray(v, float))
    ys_t = f(ys_all)
    x0, x1 = float(xs_all.min()), float(xs_all.max()) or 1.0
    y0, y1 = float(np.nanmin(ys_t)), float(np.nanmax(ys_t))
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1, y1 + 1
    if x1 - x0 < 1e-9:
        x1 = x0 + 1

    def px(x, y):
        return (int(L + (x - x0) / (x1 - x0) * (W - L - R)), int(H - B - (y - y0) / (y1 - y0) * (H - T - B)))

    cv2.rectangle(img, (L, T), (W - R, H - B), (0, 0, 0), 1)
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        p = px(x0, yv)
        cv2.line(img, (L - 4, p[1]), (L, p[1]), (0, 0, 0), 1)
        label = f"{10 ** yv:.1e}" if log_y else f"{yv:.2f}"
        cv2.putText(img, label, (2, p[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        xv = x0 + (x1 - x0) * i / 4
        q = px(xv, y0)
        cv2.putText(img, f"{xv:.0f}", (q[0] - 10, H - B + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    for j, (label, xs, ys, col) in enumerate(series):
        pts = [px(x, y) for x, y in zip(xs, f(np.asarray(ys, float)))]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, col, 1, cv2.LINE_AA)
        for p in pts if len(pts) < 60 else []:
            cv2.circle(img, p, 2, col, -1)
        cv2.putText(img, label, (L + 10, T + 18 + 18 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.5, col, 1, cv2.LINE_AA)
    cv2.putText(img, title, (L, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, xlabel, (W // 2 - 40, H - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (2, T - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), img):
            raise OSError(f"cannot write {path}")
