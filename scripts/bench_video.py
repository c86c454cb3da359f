"""Video benchmarks of docs/VIDEO.md.

    python scripts/bench_video.py make  --seconds 5  -o /tmp/in5.mp4     # 1080p 8-bit H.264 test clip
    python scripts/bench_video.py speed /tmp/in5.mp4 --codec av1 --preset 10 [--method gcm] [--json OUT]
    python scripts/bench_video.py table --data ../shared/data/hdr_extra --json docs/video/mabd.json
    python scripts/bench_video.py roundtrip --data ../shared/data/hdr_extra --json docs/video/roundtrip.json

``speed`` runs ``hdrkit.video.expand.expand_video`` end to end (decode, analysis, light pass, LUT, encode) in
this process and prints frames/s (wall clock), the CPU seconds per frame (user + system, all threads: what the
run costs whatever the load of a shared machine; 2 / that is the rate two idle cores would reach with perfect
parallelism, 1 / that the rate of one) and the peak RSS (``ru_maxrss``) of the process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np


def make_clip(out: str, seconds: float, fps: int = 30, size=(1920, 1080), pano: str | None = None, seed: int = 0,
              audio: bool = False) -> None:
    """A textured 1080p SDR clip: a pan over a tone-mapped panorama (upscaled, with film grain), a moving disc,
    and a cut in the middle (the pan reverses over a second panorama), as H.264 8-bit 4:2:0, untagged colour."""
    import av
    import cv2

    from hdrkit.data import load_hdr_nits
    from hdrkit.tonemap import tonemap

    w, h = size
    data = Path(pano or "../shared/data/hdr")
    files = sorted(p for p in data.glob("*.exr"))[:2]
    strips = []
    for f in files:
        sdr = tonemap(load_hdr_nits(f), "bt2446a")
        big = cv2.resize(sdr, (int(h * 4), h), interpolation=cv2.INTER_CUBIC)
        strips.append(np.clip(big, 0, 1))
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    c = av.open(out, "w")
    s = c.add_stream("libx264", rate=fps, options={"crf": "16", "preset": "veryfast"})
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    if audio:
        a = c.add_stream("aac", rate=48000)
    yy, xx = np.mgrid[0:h, 0:w]
    for t in range(n):
        strip = strips[0] if t < n // 2 or len(strips) < 2 else strips[1]
        x0 = int((t % (n // 2 or 1)) * (strip.shape[1] - w) / max(n // 2, 1))
        frame = strip[:, x0:x0 + w].copy()
        cx, cy = w * (0.1 + 0.8 * t / n), h * 0.6
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (h * 0.08) ** 2
        frame[disc] = (1.0, 0.9, 0.7)
        grain = rng.normal(0, 1.5 / 255, (h // 2, w // 2, 1)).astype(np.float32)
        frame = frame + cv2.resize(grain, (w, h))[..., None]
        rgb8 = np.clip(np.round(frame * 255), 0, 255).astype(np.uint8)
        vf = av.VideoFrame.from_ndarray(rgb8, format="rgb24").reformat(
            format="yuv420p", dst_colorspace=av.video.reformatter.Colorspace.ITU709)
        vf.pts = t
        for p in s.encode(vf):
            c.mux(p)
    for p in s.encode(None):
        c.mux(p)
    c.close()


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024.0 for line in f if line.startswith("VmRSS"))


def speed(src: str, codec: str, preset: str | None, method: str, out_dir: str, crf=None, rss_every: int = 0,
          svtav1_params=None, stabilise: bool = False) -> dict:
    """``rss_every``: print the current RSS every N frames of each pass; ``svtav1_params``: replace
    ``hdrkit.video.io.HDR_SVTAV1_PARAMS`` (e.g. ``()`` for SVT-AV1's own defaults)."""
    import hdrkit.video.io as vio
    from hdrkit.video.expand import expand_video
    from hdrkit.video.io import probe

    if svtav1_params is not None:
        vio.HDR_SVTAV1_PARAMS = tuple(svtav1_params)
    trace = []

    def progress(done, total, text):
        if rss_every and done % rss_every == 0:
            trace.append((text.split()[0], done, round(_rss_mb())))
            print(*trace[-1], flush=True)

    out = Path(out_dir) / f"bench_{codec}_{preset}_{method}.mkv"
    t0 = time.perf_counter()
    u0 = resource.getrusage(resource.RUSAGE_SELF)
    r = expand_video(src, out, method=method, codec=codec, preset=preset, crf=crf, stabilise=stabilise,
                     progress=progress if rss_every else None)
    dt = time.perf_counter() - t0
    u1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
    info = probe(src, side_data=False)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res = {"input": src, "size": f"{info.width}x{info.height}", "frames": r.frames, "codec": codec,
           "preset": preset, "method": method, "stabilise": stabilise, "seconds": dt, "fps": r.frames / dt, "passes": r.passes,
           "cpu_seconds": cpu, "cpu_s_per_frame": cpu / r.frames,
           "fps_if_2_idle_cores": 2 * r.frames / cpu, "fps_if_1_idle_core": r.frames / cpu,
           "peak_rss_mb": rss, "output_bytes": out.stat().st_size, "loadavg": os.getloadavg(), "rss_trace": trace,
           "svtav1_params": list(vio.HDR_SVTAV1_PARAMS)}
    out.unlink()
    return res


def _clips(data: str, frames: int, size, seed: int, limit: int = 0, scenes: str = "all", exposures=None):
    """Held-out clips: one per hdr_extra panorama except ``sunrise`` (``scenes="held-out"``: only the
    ``hdrkit.data.split.HELD_OUT`` scenes, which no shipped model was trained on), each two shots (this scene, then
    the next scene in the list), so every clip has a cut.  ``exposures`` (a dict): clip name → the true log
    exposure of each SDR frame relative to its shot's mean (``hdrkit.video.synth.render_clip``)."""
    from hdrkit.data import load_hdr_nits
    from hdrkit.data.split import HELD_OUT
    from hdrkit.video.synth import make_clip_params, render_clip

    files = sorted(p for p in Path(data).glob("*.exr") if p.stem != "sunrise" or "hdr_extra" not in str(data))
    if scenes == "held-out":
        files = [p for p in files if p.stem in HELD_OUT]
    if limit:
        files = files[:limit]
    if not files:
        raise SystemExit(f"error: no HDR panoramas (*.exr) for the clips in {data!r} (scenes={scenes})")
    rng = np.random.default_rng(seed)
    panos = {f: load_hdr_nits(f) for f in files}
    for i, f in enumerate(files):
        g = files[(i + 1) % len(files)]
        hdr, sdr, ev = [], [], []
        for scene in (f, g):
            p = make_clip_params(rng, frames // 2, size)
            shot = []
            for a, b in render_clip(panos[scene], p, shot):
                hdr.append(a)
                sdr.append(b)
            ev += list(np.asarray(shot) - np.mean(shot))
        if exposures is not None:
            exposures[f.stem] = np.asarray(ev)
        yield f.stem, hdr, sdr


def table(data: str, frames: int, size, seed: int, methods, tmp: str, anchor: bool = True, scenes: str = "all",
          oracle: bool = False, stabilise: bool = False, hold: float = math.inf) -> dict:
    """MABD-MSE and PU-PSNR of the smoothed global baseline vs the same operator per frame, on the frames in
    memory (``hdrkit.video.expand.expand_frames``: the analysis, shots, smoothing and per-frame LUTs of
    ``expand_video``, without the codecs).  ``oracle``: also each per-frame output divided by the camera's *true*
    exposure change within its shot (``METHOD+oracle``: what perfect exposure compensation could reach);
    ``stabilise``: also each method with the level stabiliser of ``hdrkit.video.stabilize`` (``METHOD+stab``,
    ``hold`` seconds)."""
    from hdrkit import color
    from hdrkit.metrics import delta_e_itp, mabd_jiang2019, mabd_kpnmfi, pu_psnr
    from hdrkit.metrics.mabd import mabd_vector
    from hdrkit.video.expand import expand_frames

    rows = []
    ev = {}
    variants = list(methods) + ([(m + "+stab", s) for m, s in methods] if stabilise else []) \
        + ([(m + "+oracle", 0.0) for m, s in methods if s == 0] if oracle else [])
    for name, hdr, sdr in _clips(data, frames, size, seed, scenes=scenes, exposures=ev):
        ref_pq = np.stack([np.asarray(color.pq_inverse_eotf(h), np.float32) for h in hdr])
        for method, smooth in variants:
            test = expand_frames(sdr, 24.0, method=method.split("+")[0], smooth=smooth, anchor=anchor,
                                 stabilise=method.endswith("+stab"), hold=hold)
            if method.endswith("+oracle"):
                test = [np.clip(t * np.exp(-e), 0, 10000) for t, e in zip(test, ev[name])]
            test_pq = np.stack([np.asarray(color.pq_inverse_eotf(np.clip(t, 0, 10000)), np.float32) for t in test])
            rows.append({
                "clip": name, "method": method, "smooth": smooth, "anchor": anchor,
                "pu_psnr": float(np.mean([pu_psnr(a.astype(np.float64), b.astype(np.float64)) for a, b in zip(hdr, test)])),
                "delta_e_itp": float(np.mean([delta_e_itp(a.astype(np.float64), b.astype(np.float64)) for a, b in zip(hdr, test)])),
                "mabd_mse": float(mabd_jiang2019(ref_pq, test_pq)),
                # without the pair across the cut (frames // 2 − 1 → frames // 2), where no smoothing applies
                "mabd_mse_no_cut": float(np.mean(np.delete((mabd_vector(test_pq) - mabd_vector(ref_pq)) ** 2,
                                                           len(hdr) // 2 - 1))),
                "mabd_kpnmfi": float(mabd_kpnmfi(test_pq)),
                "mabd_kpnmfi_ref": float(mabd_kpnmfi(ref_pq)),
            })
            print(json.dumps(rows[-1]), flush=True)
    summary = {}
    for method, smooth in variants:
        sel = [r for r in rows if r["method"] == method and r["smooth"] == smooth]
        summary[f"{method}@{smooth}"] = {k: float(np.mean([r[k] for r in sel]))
                                         for k in ("pu_psnr", "delta_e_itp", "mabd_mse", "mabd_mse_no_cut", "mabd_kpnmfi")}
        per_frame = [r for r in rows if r["method"] == method.split("+")[0] and r["smooth"] == 0]
        if (smooth or "+" in method) and per_frame:  # the acceptance ratio: smoothed / the same operator per frame, per clip
            ratio = [a["mabd_mse"] / b["mabd_mse"] for a, b in zip(sel, per_frame)]
            summary[f"{method}@{smooth}"]["mabd_mse_ratio_median"] = float(np.median(ratio))
            summary[f"{method}@{smooth}"]["mabd_mse_ratio_of_means"] = float(
                np.mean([r["mabd_mse"] for r in sel]) / np.mean([r["mabd_mse"] for r in per_frame]))
    return {"rows": rows, "summary": summary}


def temporal(data: str, frames: int, size, seed: int, variants, scenes: str = "held-out", limit: int = 0) -> dict:
    """Held-out ablation of the learned video methods against the per-frame model (``gcm``, full: global mapping
    + highlight branch) and the smoothed global baseline: PU-PSNR overall and inside the SDR-clipped pixels
    (max channel ≥ 254/255, all of a clip's clipped pixels pooled), ΔE_ITP, MABD (both forms, on PQ), Lai et al.'s
    warping error with the reference's DIS flow and occlusion mask (pairs across the cut left out), CPU s/frame;
    and the flow correction's end-point error against the DIS flow of the PQ-encoded masters (key/reference pairs
    as at inference)."""
    import time

    from hdrkit import color
    from hdrkit.metrics import delta_e_itp, mabd_jiang2019, mabd_kpnmfi, pu_psnr
    from hdrkit.metrics.temporal import dis_flow, occlusion_mask, warp
    from hdrkit.video import shots as S
    from hdrkit.video.expand import expand_frames
    from hdrkit.video.models import temporal_clues as TC
    from hdrkit.video.stabilize import stabilise_frames

    model = TC.load_model()
    cfg = model.cfg
    pq = lambda x: np.asarray(color.pq_inverse_eotf(np.clip(x, 0, 10000)), np.float32)  # noqa: E731
    rows, epe_rows = [], []
    for name, hdr, sdr in _clips(data, frames, size, seed, limit=limit, scenes=scenes):
        ref_pq = np.stack([pq(h) for h in hdr])
        cuts = S.frame_cuts(sdr)
        pairs = [t for t in range(len(sdr) - 1) if t + 1 not in cuts]
        flows = {}
        for t in pairs:
            fw, bw = dis_flow(ref_pq[t], ref_pq[t + 1]), dis_flow(ref_pq[t + 1], ref_pq[t])
            flows[t] = (fw, occlusion_mask(fw, bw))
        clip_mask = np.stack([s.max(-1) >= 254.0 / 255.0 for s in sdr])
        c0 = time.process_time()
        bases = [TC.gcm_frame(s) for s in sdr]
        gcm_s = (time.process_time() - c0) / len(sdr)
        # flow correction: EPE against the DIS flow of the PQ masters, key/reference pairs as at inference
        for a, b in (TC.shot_bounds(len(sdr), cuts) if any(k == "tc" for _, k, _ in variants) else []):
            for k in sorted({TC.key_of(t, (a, b), cfg.gop) for t in range(a, b)}):
                cands = [(c, sdr[c]) for c in TC.reference_candidates(k, (a, b), cfg)]
                for r, lr in TC.choose_references(sdr[k], cands, cfg.refs):
                    gk, gr = TC.flow_greys(sdr[k], sdr[r], lr)
                    dis = dis_flow(gk, gr)
                    fixed = TC.corrected_flow(model.fix, gk, gr, dis)
                    tgt = dis_flow(ref_pq[k].mean(-1) / 0.75, ref_pq[r].mean(-1) / 0.75)
                    e0 = np.sqrt(((dis - tgt) ** 2).sum(-1))
                    e1 = np.sqrt(((fixed - tgt) ** 2).sum(-1))
                    cm = clip_mask[k]
                    epe_rows.append({"clip": name, "key": k, "ref": r, "epe_dis": float(e0.mean()),
                                     "epe_fixed": float(e1.mean()), "clipped_px": int(cm.sum()),
                                     "epe_dis_clipped": float(e0[cm].mean()) if cm.any() else None,
                                     "epe_fixed_clipped": float(e1[cm].mean()) if cm.any() else None})
        done = {}  # outputs (and CPU s/frame) of each method before the stabiliser, shared by its variants
        for label, kind, opts in variants:
            opts = dict(opts)
            hold = opts.pop("stabilise", None)  # seconds: the level stabiliser on top (hdrkit.video.stabilize)
            key = (kind, tuple(sorted(opts.items())))
            c0 = time.process_time()
            if key in done:
                test, extra = done[key]
            elif kind == "gcm":
                test, extra = bases, gcm_s
            elif kind == "master":  # the reference itself: the floor of the warping error (interpolation, occlusions)
                test, extra = hdr, 0.0
            elif kind == "gcm-smooth":
                test, extra = expand_frames(sdr, 24.0, method="gcm", smooth=1.0), 0.0
            elif kind == "kpn":
                from hdrkit.video.models import kpn_mfi as KPN

                o = dict(opts)
                km = KPN.load_model(o.pop("weights", None))
                test, extra = KPN.expand_frames(sdr, cuts, model=km, bases=bases, **o), gcm_s
            else:
                test, extra = TC.expand_frames(sdr, cuts, model=model, bases=bases, **opts), gcm_s
            extra += (time.process_time() - c0) / len(sdr)
            done[key] = (test, extra)
            c0 = time.process_time()
            if hold is not None:
                test = stabilise_frames(test, sdr, cuts, hold * 24.0)[0]
            sec = (time.process_time() - c0) / len(sdr) + extra  # + the method's own time where its output is reused
            test_pq = np.stack([pq(t) for t in test])
            cm = clip_mask
            H = np.stack(hdr).astype(np.float64)
            Tt = np.stack(test).astype(np.float64)
            we = [float((((test_pq[t] - warp(test_pq[t + 1], flows[t][0])) ** 2).sum(-1))[flows[t][1]].mean())
                  for t in pairs if flows[t][1].any()]
            rows.append({
                "clip": name, "method": label,
                "pu_psnr": float(np.mean([pu_psnr(a, b) for a, b in zip(H, Tt)])),
                "pu_psnr_clipped": float(pu_psnr(H[cm][None], Tt[cm][None])) if cm.any() else None,
                "clipped_fraction": float(cm.mean()),
                "delta_e_itp": float(np.mean([delta_e_itp(a, b) for a, b in zip(H, Tt)])),
                "mabd_mse": float(mabd_jiang2019(ref_pq, test_pq)),
                "mabd_kpnmfi": float(mabd_kpnmfi(test_pq)), "mabd_kpnmfi_ref": float(mabd_kpnmfi(ref_pq)),
                "warping_error": float(np.mean(we)),
                "cpu_s_per_frame": sec,
            })
            print(json.dumps(rows[-1]), flush=True)
    summary = {}
    for label, _, _ in variants:
        sel = [r for r in rows if r["method"] == label]
        summary[label] = {k: float(np.mean([r[k] for r in sel if r[k] is not None]))
                          for k in ("pu_psnr", "pu_psnr_clipped", "delta_e_itp", "mabd_mse", "mabd_kpnmfi",
                                    "warping_error", "cpu_s_per_frame")}
    base = summary.get("gcm per frame")
    if base:
        for label, v in summary.items():
            v["d_pu_psnr"] = v["pu_psnr"] - base["pu_psnr"]
            v["d_pu_psnr_clipped"] = v["pu_psnr_clipped"] - base["pu_psnr_clipped"]
            v["warping_error_ratio"] = v["warping_error"] / base["warping_error"]
            v["mabd_mse_ratio"] = v["mabd_mse"] / base["mabd_mse"]
    cl = [r for r in epe_rows if r["epe_dis_clipped"] is not None]
    epe = None if not epe_rows else {"pairs": len(epe_rows), "epe_dis": float(np.mean([r["epe_dis"] for r in epe_rows])),
           "epe_fixed": float(np.mean([r["epe_fixed"] for r in epe_rows])),
           "pairs_with_clipping": len(cl),
           "epe_dis_clipped": float(np.mean([r["epe_dis_clipped"] for r in cl])) if cl else None,
           "epe_fixed_clipped": float(np.mean([r["epe_fixed_clipped"] for r in cl])) if cl else None}
    print(json.dumps(epe), flush=True)
    return {"rows": rows, "summary": summary, "flow_epe": epe, "flow_rows": epe_rows}


TEMPORAL_VARIANTS = {
    "gcm": ("gcm per frame", "gcm", {}),
    "master": ("the HDR master itself (floor of the warping error)", "master", {}),
    "gcm-smooth": ("gcm global, smoothed 1 s (video default)", "gcm-smooth", {}),
    "tc": ("temporal-clues (4 refs, flow correction)", "tc", {"steady": False}),
    "tc-nofix": ("temporal-clues, no flow correction", "tc", {"fix": False, "steady": False}),
    "tc-0": ("temporal-clues, 0 refs", "tc", {"refs": 0, "steady": False}),
    "tc-2": ("temporal-clues, 2 refs", "tc", {"refs": 2, "steady": False}),
    "tc-6": ("temporal-clues, 6 refs", "tc", {"refs": 6, "steady": False}),
    "tc-noprop": ("temporal-clues, no propagation (keys only)", "tc", {"propagate": False, "steady": False}),
    "tc-steady": ("temporal-clues default (4 refs, flow correction, steady gain)", "tc", {"steady": True}),
    "gcm-stab": ("gcm per frame + level stabiliser", "gcm", {"stabilise": math.inf}),
    "tc-stab": ("temporal-clues default + level stabiliser", "tc", {"steady": True, "stabilise": math.inf}),
    "kpn-mfi": ("kpn-mfi (shipped: consistency loss 0.01)", "kpn", {}),
    # the ablation's weights: kpn_train --recipe kpn-noconsist (docs/VIDEO.md), not shipped in the package
    "kpn-mfi-noconsist": ("kpn-mfi without the consistency loss", "kpn", {"weights": "docs/video/kpn_mfi_noconsist.npz"}),
    "kpn-stab": ("kpn-mfi + level stabiliser", "kpn", {"stabilise": math.inf}),
}


def temporal_variant(name: str):
    """``TEMPORAL_VARIANTS[name]``; ``NAME@S`` (a ``-stab`` variant): the stabiliser's hold ``S`` seconds."""
    base, _, hold = name.partition("@")
    if base not in TEMPORAL_VARIANTS:
        raise SystemExit(f"error: unknown variant {base!r}; choose of {', '.join(TEMPORAL_VARIANTS)}")
    label, kind, opts = TEMPORAL_VARIANTS[base]
    if hold:
        if "stabilise" not in opts:
            raise SystemExit(f"error: {base} has no stabiliser hold to set")
        label, opts = f"{label} (hold {hold} s)", {**opts, "stabilise": float(hold)}
    return label, kind, opts


def _procedural_clips(frames: int, size, seed: int, count: int):
    """Textured clips: a pan across procedural HDR scenes (hdrkit.data.procedural_scene, mastered to HDR10) with
    a fine colour texture (log-normal, σ 0.25 after a 0.8-px blur, fixed to the scene) — the texture that makes
    4:2:0 subsampling alone cost what the issue quotes (about 39 dB PU-PSNR)."""
    import cv2

    from hdrkit.data import procedural_scene
    from hdrkit.tonemap import master_hdr10

    rng = np.random.default_rng(seed)
    h, w = size
    for i in range(count):
        scene, p = procedural_scene(rng, (h, 2 * w))
        master = master_hdr10(scene, peak=1000.0, mid=26.0)
        tex = cv2.GaussianBlur(rng.normal(0, 1, master.shape).astype(np.float32), (0, 0), 0.8)
        master = np.clip(master * np.exp(0.25 * tex), 0, 1000.0).astype(np.float32)
        hdr = [np.ascontiguousarray(master[:, int(t * w / max(frames - 1, 1)):][:, :w]) for t in range(frames)]
        yield f"procedural{i}_{p.kind}", hdr, None


def roundtrip(data: str, frames: int, size, seed: int, tmp: str, limit: int = 0, crfs=(None,),
              codecs=("hevc",)) -> dict:
    """PU-PSNR (and size) of synthetic HDR10 clips written with each codec (x265: 4:2:0 and 4:4:4; SVT-AV1:
    4:2:0) and read back at each CRF, and of the Y'CbCr conversion alone (4:2:0 and 4:4:4, 10-bit, no encoder)."""
    from hdrkit import color
    from hdrkit.metrics import pu_psnr
    from hdrkit.video import _kernels as K
    from hdrkit.video.io import VideoReader, VideoWriter, ycbcr_matrices

    out = {"420_only": [], "444_only": []}
    q = K.plane_quant(10, False)
    m_in, m_out = ycbcr_matrices("bt2020")
    clips = _procedural_clips(frames, size, seed, limit or 4) if data == "procedural" else \
        _clips(data, frames, size, seed, limit)
    for name, hdr, _ in clips:
        for codec in codecs:
            for crf in crfs:
                for chroma in ("420",) if codec == "av1" else ("420", "444"):  # SVT-AV1 encodes 4:2:0 only
                    key = f"{codec}_{chroma}_crf{crf if crf is not None else '_default'}"
                    p = Path(tmp) / f"rt_{name}_{chroma}.mkv"
                    with VideoWriter(p, size[1], size[0], 24, codec=codec, chroma=chroma, crf=crf) as w:
                        for f in hdr:
                            w.write_nits(f)
                    nbytes = p.stat().st_size
                    with VideoReader(p) as r:
                        back = list(r.frames())
                    p.unlink()
                    out.setdefault(key, []).append(float(np.mean([pu_psnr(a.astype(np.float64), b.astype(np.float64))
                                                                  for a, b in zip(hdr, back)])))
                    out.setdefault(key + "_kbytes", []).append(nbytes / 1000.0)
        for key, sub in (("420_only", 1), ("444_only", 0)):
            vals = []
            for f in hdr:
                pq = np.asarray(color.pq_inverse_eotf(f), np.float32)
                hh, ww = pq.shape[:2]
                cs = (hh // 2, ww // 2) if sub else (hh, ww)
                y = np.empty((hh, ww), np.uint16)
                cb, cr = np.empty(cs, np.uint16), np.empty(cs, np.uint16)
                K.rgb_to_planes(pq, sub, q, m_out, 1023.0, y, cb, cr)
                rgb = np.empty_like(pq)
                K.planes_to_rgb(y, cb, cr, sub, sub, q, m_in, rgb)
                vals.append(float(pu_psnr(f.astype(np.float64), np.asarray(color.pq_eotf(rgb), np.float64))))
            out[key].append(float(np.mean(vals)))
        print(name, {k: v[-1] for k, v in out.items()}, flush=True)
    return {k: float(np.mean(v)) for k, v in out.items()} | {"per_clip": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--seconds", type=float, default=5)
    m.add_argument("--size", default="1920x1080")
    m.add_argument("--data", default="../shared/data/hdr")
    m.add_argument("--audio", action="store_true")
    m.add_argument("-o", required=True)
    s = sub.add_parser("speed")
    s.add_argument("src")
    s.add_argument("--codec", default="hevc")
    s.add_argument("--preset", default=None)
    s.add_argument("--crf", type=float, default=None)
    s.add_argument("--method", default=None, help="default: hdrkit.video.expand.DEFAULT_METHOD")
    s.add_argument("--tmp", default="/tmp")
    s.add_argument("--json")
    s.add_argument("--rss-every", type=int, default=0, help="print the RSS every N frames of each pass")
    s.add_argument("--svtav1-params", default=None, help="replace the HDR10 SVT-AV1 options ('' = SVT's defaults)")
    s.add_argument("--stabilise", action="store_true", help="with the level stabiliser (hdrkit.video.stabilize)")
    for name in ("table", "roundtrip", "temporal"):
        t = sub.add_parser(name)
        t.add_argument("--data", default="../shared/data/hdr_extra")
        t.add_argument("--frames", type=int, default=48)
        t.add_argument("--size", default="256x144")
        t.add_argument("--seed", type=int, default=15)
        t.add_argument("--tmp", default="/tmp")
        t.add_argument("--json")
        t.add_argument("--limit", type=int, default=0, help="first N scenes only")
        if name == "roundtrip":
            t.add_argument("--crfs", default="default", help="CRFs (default = the writer's default)")
            t.add_argument("--codecs", default="hevc,av1")
        if name == "temporal":
            t.add_argument("--variants", default=",".join(TEMPORAL_VARIANTS), help="of " + ",".join(TEMPORAL_VARIANTS))
            t.add_argument("--scenes", default="held-out", choices=("all", "held-out"))
        if name == "table":
            t.add_argument("--methods", default="masia2017,akyuz2007,masia2009")
            t.add_argument("--smooths", default="1,0")
            t.add_argument("--no-anchor", action="store_true")
            t.add_argument("--stabilise", action="store_true",
                           help="also METHOD+stab: with the level stabiliser (hdrkit.video.stabilize)")
            t.add_argument("--hold", type=float, default=math.inf, help="the stabiliser's hold, seconds")
            t.add_argument("--oracle-exposure", action="store_true",
                           help="also METHOD+oracle: per-frame output compensated by the true exposure change")
            t.add_argument("--scenes", default="all", choices=("all", "held-out"),
                           help="held-out: only hdrkit.data.split.HELD_OUT (what gcm never saw)")
    a = ap.parse_args(argv)
    if a.cmd == "make":
        w, h = (int(v) for v in a.size.split("x"))
        make_clip(a.o, a.seconds, size=(w, h), pano=a.data, audio=a.audio)
        return 0
    if a.cmd == "speed":
        from hdrkit.video.expand import DEFAULT_METHOD

        svt = None if a.svtav1_params is None else [p for p in a.svtav1_params.split(":") if p]
        res = speed(a.src, a.codec, a.preset, a.method or DEFAULT_METHOD, a.tmp, a.crf, a.rss_every, svt, a.stabilise)
    else:
        w, h = (int(v) for v in a.size.split("x"))
        if a.cmd == "temporal":
            res = temporal(a.data, a.frames, (h, w), a.seed, [temporal_variant(v) for v in a.variants.split(",")],
                           a.scenes, a.limit)
        elif a.cmd == "table":
            methods = [(m, float(s)) for m in a.methods.split(",") for s in a.smooths.split(",")]
            res = table(a.data, a.frames, (h, w), a.seed, methods, a.tmp, not a.no_anchor, a.scenes, a.oracle_exposure,
                        a.stabilise, a.hold)
        else:
            crfs = [None if c == "default" else float(c) for c in a.crfs.split(",")]
            res = roundtrip(a.data, a.frames, (h, w), a.seed, a.tmp, a.limit, crfs, a.codecs.split(","))
    res["command"] = " ".join(sys.argv)
    text = json.dumps(res, indent=1)
    print(text if a.cmd == "speed" else json.dumps(res.get("summary", {k: v for k, v in res.items() if k != "per_clip"}), indent=1))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
