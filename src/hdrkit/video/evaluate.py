"""``hdrkit video eval REF TEST``: per-frame HDR metrics and temporal consistency of two HDR videos, streamed.

Per frame (absolute BT.2020 nits): PU21 PU-PSNR and ΔE_ITP (mean and worst frame).  Temporal, on PQ code
values in [0, 1]: MABD in both published forms (:mod:`hdrkit.metrics.mabd`: KPN-MFI's mean |f_{t+1} − f_t| of
the test video, and Jiang & Zheng 2019's MSE between the MABD vectors of test and reference) and Lai et al.
2018's warping error (:mod:`hdrkit.metrics.temporal`) of the test video with the flow and occlusion mask of
the *reference*, next to the reference's own warping error.  Two frames of each video are held at a time.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report


def evaluate_video(ref: str | os.PathLike, test: str | os.PathLike, warp: bool = True, max_frames: Optional[int] = None,
                   progress: Optional[ProgressFn] = None, keep_worst: bool = False) -> dict:
    """Compare two HDR videos frame by frame; returns ``{"summary": {...}, "per_frame": {...}[, "worst": ...]}``."""
    from hdrkit import color
    from hdrkit.metrics import delta_e_itp, mabd_kpnmfi, mabd_vector, pu_psnr, warping_error_pair
    from hdrkit.video.io import VideoReader

    per = {"pu_psnr": [], "delta_e_itp": [], "ref_mean_pq": [], "test_mean_pq": [], "mabd_ref": [], "mabd_test": [], "kpn_ref": [], "kpn_test": [],
           "warp_test": [], "warp_ref": []}
    worst = None
    with VideoReader(ref) as rr, VideoReader(test) as tr:
        for r in (rr, tr):
            if not r.info.is_hdr:
                raise InputError(f"{r.path.name} is not HDR (transfer {r.info.transfer}); video eval compares HDR videos")
        if (rr.info.width, rr.info.height) != (tr.info.width, tr.info.height):
            raise InputError(f"frame sizes differ: {rr.info.width}×{rr.info.height} vs {tr.info.width}×{tr.info.height}")
        total = min(x for x in (rr.info.frames, tr.info.frames, max_frames) if x) if (rr.info.frames or max_frames) else 0
        prev = None
        for t, (a, b) in enumerate(zip(rr.frames(), tr.frames())):
            if max_frames is not None and t >= max_frames:
                break
            pa = np.asarray(color.pq_inverse_eotf(np.clip(a, 0, 10000)), np.float32)
            pb = np.asarray(color.pq_inverse_eotf(np.clip(b, 0, 10000)), np.float32)
            psnr = float(pu_psnr(a.astype(np.float64), b.astype(np.float64)))
            per["pu_psnr"].append(psnr)
            per["delta_e_itp"].append(float(delta_e_itp(a.astype(np.float64), b.astype(np.float64))))
            per["ref_mean_pq"].append(float(pa.mean()))
            per["test_mean_pq"].append(float(pb.mean()))
            if prev is not None:
                qa, qb = prev
                per["mabd_ref"].append(float(mabd_vector(np.stack([qa, pa]))[0]))
                per["mabd_test"].append(float(mabd_vector(np.stack([qb, pb]))[0]))
                per["kpn_ref"].append(float(mabd_kpnmfi(np.stack([qa, pa]))))
                per["kpn_test"].append(float(mabd_kpnmfi(np.stack([qb, pb]))))
                if warp:
                    per["warp_test"].append(warping_error_pair(qb, pb, qa, pa))
                    per["warp_ref"].append(warping_error_pair(qa, pa, qa, pa))
            if keep_worst and (worst is None or psnr < worst[0]):
                worst = (psnr, t, a.copy(), b.copy())
            prev = (pa, pb)
            report(progress, t + 1, total, "evaluating")
    n = len(per["pu_psnr"])
    if n == 0:
        raise InputError("no frames to compare")
    mr, mt = np.array(per["mabd_ref"]), np.array(per["mabd_test"])
    fin = np.array([p for p in per["pu_psnr"] if np.isfinite(p)]) if n else np.zeros(0)
    summary = {
        "frames": n,
        "pu_psnr_mean": float(fin.mean()) if fin.size else float("inf"),
        "pu_psnr_worst": float(np.min(per["pu_psnr"])),
        "delta_e_itp_mean": float(np.mean(per["delta_e_itp"])),
        "delta_e_itp_worst": float(np.max(per["delta_e_itp"])),
        "mabd_kpnmfi_test": float(np.mean(per["kpn_test"])) if mt.size else 0.0,
        "mabd_kpnmfi_ref": float(np.mean(per["kpn_ref"])) if mr.size else 0.0,
        "mabd_mse_jiang2019": float(np.mean((mt - mr) ** 2)) if mt.size else 0.0,
    }
    if warp and per["warp_test"]:
        summary["warping_error_test"] = float(np.mean(per["warp_test"]))
        summary["warping_error_ref"] = float(np.mean(per["warp_ref"]))
    out = {"summary": summary, "per_frame": per}
    if keep_worst and worst is not None:
        out["worst"] = worst
    return out
