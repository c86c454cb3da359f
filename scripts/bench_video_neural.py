"""Benchmark of ``hdrkit video encode`` / ``decode`` (SDR video + per-shot networks), docs/VIDEO.md.

    # a multi-shot 1080p24 HDR10 master from held-out panoramas (hdrkit.data.split.HELD_OUT; camera moves)
    python scripts/bench_video_neural.py make --data /work/shared/data/hdr_extra -o /tmp/nv/master.mkv
    # quality / bytes / temporal table against gcm, a gain-map video at equal extra bytes, simulcast
    python scripts/bench_video_neural.py run /tmp/nv/master.mkv --tmp /tmp/nv --json docs/video/neural.json
    # encode + decode speed only (wall, CPU seconds; what the quiet-window rerun needs)
    python scripts/bench_video_neural.py speed /tmp/nv/master.mkv --tmp /tmp/nv
    # decode speed on a GPU (no data needed: a procedural 1080p master is made and encoded first)
    python scripts/bench_video_neural.py decode-speed --device cuda

The master is rendered with :func:`hdrkit.video.synth.render_clip` (pan / zoom / jitter and a moving bright disc)
over 512×256 panoramas viewed at 1920×1080 (so the panoramas are upsampled ~7× by the perspective view), one shot
per scene, written as HEVC Main 10 4:2:0 (the writer's defaults).  Every method is scored on the HDR10 file it
writes, against the master file, with :func:`hdrkit.video.evaluate.evaluate_video` (PU21 PU-PSNR, ΔE_ITP, MABD).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make(out: str, data: str, seconds: float, shots: int, size, fps: int = 24, seed: int = 7,
         scenes: str = "venice,hall,park,night") -> dict:
    from hdrkit.data import load_hdr_nits
    from hdrkit.data.split import HELD_OUT
    from hdrkit.io.atomic import atomic_path
    from hdrkit.video.io import MasteringDisplay, VideoWriter, content_light_of, frame_light
    from hdrkit.video.synth import make_clip_params, render_clip

    names = scenes.split(",")[:shots]
    if any(n not in HELD_OUT for n in names):
        raise SystemExit(f"error: scenes must be held out ({', '.join(HELD_OUT)})")
    w, h = size
    n = int(round(seconds * fps))
    per = [n // shots + (1 if k < n % shots else 0) for k in range(shots)]
    rng = np.random.default_rng(seed)
    frames_light = []
    t0 = time.perf_counter()
    # the light of the whole master first would need two renders; the master's MaxCLL/MaxFALL are measured
    # while writing and the mastering display is a 1000-nit BT.2020 one (synth masters at 1000 cd/m² peak)
    with atomic_path(out) as tmp, VideoWriter(tmp, w, h, fps, codec="hevc",
                                              mastering=MasteringDisplay.named("bt2020", 1000)) as wr:
        for name, count in zip(names, per):
            pano = load_hdr_nits(Path(data) / f"{name}.exr")
            p = make_clip_params(rng, count, (h, w), "clip")
            for hdr, _ in render_clip(pano, p):
                frames_light.append(frame_light(hdr))
                wr.write_nits(hdr)
            print(f"shot {name}: {count} frames ({time.perf_counter() - t0:.0f} s)", flush=True)
    fl = np.array(frames_light)
    cll = content_light_of(fl[:, 0].max(), fl[:, 1].max())
    return {"master": out, "scenes": names, "frames": per, "size": [w, h], "fps": fps, "seed": seed,
            "max_cll": cll.max_cll, "max_fall": cll.max_fall}


def _stream_bytes(path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(p.size for p in c.demux(c.streams.video[0]))


def _scores(master, test) -> dict:
    from hdrkit.video.evaluate import evaluate_video

    r = evaluate_video(master, test, warp=False)
    return {"summary": r["summary"], "pu_psnr": r["per_frame"]["pu_psnr"],
            "delta_e_itp": r["per_frame"]["delta_e_itp"], "mabd_ref": r["per_frame"]["mabd_ref"],
            "mabd_test": r["per_frame"]["mabd_test"]}


def _temporal(s: dict, cuts: list) -> dict:
    """MABD at the cuts (test vs master, relative) and MABD-MSE inside shots (transitions not at a cut)."""
    mr, mt = np.array(s["mabd_ref"]), np.array(s["mabd_test"])
    at = [c - 1 for c in cuts if c > 0]
    inside = np.ones(len(mr), bool)
    inside[at] = False
    return {"mabd_at_cuts_ref": [float(mr[i]) for i in at], "mabd_at_cuts_test": [float(mt[i]) for i in at],
            "mabd_at_cuts_rel_err": [float(abs(mt[i] - mr[i]) / max(mr[i], 1e-12)) for i in at],
            "mabd_mse_inside": float(np.mean((mt[inside] - mr[inside]) ** 2))}


def _gainmap_video(master, sdr_file, target_bytes: int, tmp: Path, scales=(4, 8, 16)) -> dict:
    """A per-frame gain-map video at (at most) ``target_bytes``: a monochrome ISO 21496-1 style log2 map of each
    frame (``hdrkit.codec.gainmap.compute_gainmap`` on the decoded SDR and the master, one boost range for the
    whole clip), ``scale``× smaller per axis, as 8-bit H.264 luma; the CRF is the lowest whose stream fits.
    Returns the HDR10 file rebuilt from SDR + decoded map, and its bytes."""
    import av

    from hdrkit.codec.gainmap import apply_gainmap, compute_gainmap, quantise_map
    from hdrkit.metrics import pu_psnr
    from hdrkit.video.io import MasteringDisplay, VideoReader, VideoWriter

    maps, rng_lo, rng_hi = {s: [] for s in scales}, np.inf, -np.inf
    with VideoReader(master) as hr, VideoReader(sdr_file) as sr:
        for hdr, sdr in zip(hr.frames(), sr.frames()):
            for s in scales:
                m, md = compute_gainmap(sdr, hdr, scale=s, multichannel=False)
                g = md.min_log2[0] + m * (md.max_log2[0] - md.min_log2[0])  # back to log2 gains
                maps[s].append(g[..., 0])
                rng_lo, rng_hi = min(rng_lo, md.min_log2[0]), max(rng_hi, md.max_log2[0])
            fps = hr.stream.average_rate or 24
    best = None
    for s in scales:
        hh, ww = maps[s][0].shape
        H2, W2 = hh + hh % 2, ww + ww % 2
        def encode_map(crf: int):
            p = tmp / f"gm_s{s}_crf{crf}.mp4"
            c = av.open(str(p), "w")
            st = c.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "slow",
                                                            "x264-params": "log-level=error"})
            st.width, st.height, st.pix_fmt = W2, H2, "yuv420p"
            for t, g in enumerate(maps[s]):
                q = quantise_map((np.clip(g, rng_lo, rng_hi) - rng_lo) / (rng_hi - rng_lo))
                y = np.pad(q, ((0, H2 - hh), (0, W2 - ww)), mode="edge")
                f = av.VideoFrame(W2, H2, "yuv420p")
                for plane, arr in zip(f.planes, (y, np.full((H2 // 2, W2 // 2), 128, np.uint8),
                                                 np.full((H2 // 2, W2 // 2), 128, np.uint8))):
                    np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:arr.shape[0], :arr.shape[1]] = arr
                f.pts = t
                for pk in st.encode(f):
                    c.mux(pk)
            for pk in st.encode(None):
                c.mux(pk)
            c.close()
            return p, _stream_bytes(p)

        # the lowest CRF (best map) whose stream fits: bisection (bytes fall as the CRF rises)
        lo, hi, chosen = 0, 51, None
        while lo <= hi:
            crf = (lo + hi) // 2
            p, n = encode_map(crf)
            if n <= target_bytes:
                chosen, hi = (crf, p, n), crf - 1
            else:
                lo = crf + 1
        if chosen is None:
            continue
        crf, p, n = chosen
        # quality on every 6th frame (in process) to pick the scale
        err = []
        with VideoReader(master) as hr, VideoReader(sdr_file) as sr, av.open(str(p)) as mc:
            for t, (hdr, sdr, mf) in enumerate(zip(hr.frames(), sr.frames(), mc.decode(video=0))):
                if t % 6:
                    continue
                gm = mf.to_ndarray(format="gray")[:hh, :ww, None]
                out = apply_gainmap(sdr, gm, _md(rng_lo, rng_hi))
                err.append(float(pu_psnr(hdr.astype(np.float64), out.astype(np.float64))))
        cand = {"scale": s, "crf": crf, "bytes": n, "map_size": [ww, hh], "pu_psnr_every6th": float(np.mean(err)),
                "file": str(p)}
        print("gain-map candidate", cand, flush=True)
        if best is None or cand["pu_psnr_every6th"] > best["pu_psnr_every6th"]:
            best = cand
    if best is None:
        return {"error": f"no gain-map stream fits in {target_bytes} bytes"}
    out_hdr = tmp / "gainmap_hdr10.mkv"
    md = _md(rng_lo, rng_hi)
    ww, hh = best["map_size"]
    with VideoReader(sdr_file) as sr, av.open(best["file"]) as mc, \
            VideoWriter(out_hdr, sr.info.width, sr.info.height, sr.stream.average_rate or 24, codec="hevc",
                        mastering=MasteringDisplay.named("bt2020", 1000)) as wr:
        for sdr, mf in zip(sr.frames(), mc.decode(video=0)):
            wr.write_nits(apply_gainmap(sdr, mf.to_ndarray(format="gray")[:hh, :ww, None], md))
    best["hdr10"] = str(out_hdr)
    best["boost_range_log2"] = [float(rng_lo), float(rng_hi)]
    return best


def _md(lo, hi):
    """Gain-map metadata of the video baseline: one boost range for the clip, monochrome, gamma 1."""
    from hdrkit.codec.gainmap import DEFAULT_OFFSET, GainMapMetadata

    return GainMapMetadata(min_log2=(lo,) * 3, max_log2=(hi,) * 3, gamma=(1.0,) * 3, offset_sdr=(DEFAULT_OFFSET,) * 3,
               offset_hdr=(DEFAULT_OFFSET,) * 3, capacity_min=0.0, capacity_max=max(hi, 1 / 65536),
               channels=1, use_base_colour_space=True).validate()


def run(master: str, tmp: str, steps: int, samples: int, simulcast_crfs, skip=()) -> dict:
    from hdrkit.video.expand import expand_video
    from hdrkit.video.io import VideoReader, VideoWriter
    from hdrkit.video.neural import VideoEncodeConfig, decode_video, encode_video

    tmpd = Path(tmp)
    tmpd.mkdir(parents=True, exist_ok=True)
    res: dict = {"load_start": _load()}
    shipped = tmpd / "shipped.mkv"
    c0, t0 = _cpu(), time.perf_counter()
    e = encode_video(master, shipped, config=VideoEncodeConfig(steps=steps, samples=samples))
    res["encode"] = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0, "frames": e.frames, "fps": e.fps,
                     "seconds_of_video": e.frames / e.fps, "passes": e.passes, "load_after": _load(),
                     "shots": [s.__dict__ for s in e.shots], "sdr_bytes": e.sdr_bytes,
                     "metadata_bytes": e.metadata_bytes, "attachment_bytes": e.attachment_bytes,
                     "metadata_pct_of_sdr": 100.0 * e.metadata_bytes / e.sdr_bytes,
                     "metadata_bytes_per_shot": e.metadata_bytes / len(e.shots),
                     "metadata_bytes_per_second": e.metadata_bytes / (e.frames / e.fps),
                     "file_bytes": shipped.stat().st_size}
    print("encode", json.dumps(res["encode"], indent=None)[:600], flush=True)
    cuts = [s.first_frame for s in e.shots]
    ours = tmpd / "ours_hdr10.mkv"
    c0, t0 = _cpu(), time.perf_counter()
    d = decode_video(shipped, ours, device="cpu")
    res["decode"] = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0, "fps": d.frames / (time.perf_counter() - t0),
                     "networks_s": d.decode_seconds, "load_after": _load()}
    print("decode", res["decode"], flush=True)
    methods = {"ours": ours}
    if "gcm" not in skip:
        gcm = tmpd / "gcm_hdr10.mkv"
        t0 = time.perf_counter()
        expand_video(shipped, gcm)  # default method gcm, on the same SDR stream
        res["gcm_wall_s"] = time.perf_counter() - t0
        methods["gcm"] = gcm
    if "gainmap" not in skip:
        res["gainmap"] = _gainmap_video(master, shipped, e.metadata_bytes, tmpd)
        if "hdr10" in res["gainmap"]:
            methods["gainmap"] = Path(res["gainmap"]["hdr10"])
    res["methods"] = {}
    for name, f in methods.items():
        s = _scores(master, f)
        res["methods"][name] = {**s["summary"], **_temporal(s, cuts), "pu_psnr_per_frame": s["pu_psnr"]}
        print(name, {k: v for k, v in res["methods"][name].items() if k != "pu_psnr_per_frame"}, flush=True)
    # simulcast: the master as HDR10 HEVC at several CRFs -> bytes for the same PU-PSNR as ours
    sim = []
    for crf in simulcast_crfs:
        p = tmpd / f"simulcast_crf{crf}.mkv"
        with VideoReader(master) as hr, VideoWriter(p, hr.info.width, hr.info.height, hr.stream.average_rate or 24,
                                                    codec="hevc", crf=crf) as wr:
            for f in hr.frames():
                wr.write_nits(f)
        s = _scores(master, p)["summary"]
        sim.append({"crf": crf, "bytes": _stream_bytes(p), "pu_psnr_mean": s["pu_psnr_mean"],
                    "delta_e_itp_mean": s["delta_e_itp_mean"]})
        print("simulcast", sim[-1], flush=True)
    res["simulcast"] = sim
    if sim:
        ps = np.array([x["pu_psnr_mean"] for x in sim])
        bs = np.array([x["bytes"] for x in sim], np.float64)
        target = res["methods"]["ours"]["pu_psnr_mean"]
        order = np.argsort(ps)
        if ps.min() <= target <= ps.max():
            hdr_bytes = float(np.exp(np.interp(target, ps[order], np.log(bs[order]))))
            res["simulcast_at_our_quality"] = {"hdr10_bytes": hdr_bytes, "total_bytes": e.sdr_bytes + hdr_bytes,
                                               "ours_total_bytes": e.sdr_bytes + e.metadata_bytes,
                                               "ratio": (e.sdr_bytes + hdr_bytes) / (e.sdr_bytes + e.metadata_bytes)}
        else:
            res["simulcast_at_our_quality"] = {"note": f"our PU-PSNR {target:.2f} dB is outside the simulcast "
                                                       f"range {ps.min():.2f}..{ps.max():.2f} dB"}
    res["load_end"] = _load()
    return res


def speed(master: str, tmp: str, steps: int, samples: int, device: str = "cpu") -> dict:
    from hdrkit.video.neural import VideoEncodeConfig, decode_video, encode_video

    tmpd = Path(tmp)
    tmpd.mkdir(parents=True, exist_ok=True)
    shipped = tmpd / "speed_shipped.mkv"
    out = {"load_start": _load()}
    c0, t0 = _cpu(), time.perf_counter()
    e = encode_video(master, shipped, config=VideoEncodeConfig(steps=steps, samples=samples))
    wall = time.perf_counter() - t0
    dur = e.frames / e.fps
    out["encode"] = {"wall_s": wall, "cpu_s": _cpu() - c0, "video_s": dur, "x_real_time_wall": wall / dur,
                     "x_real_time_cpu": (_cpu() - c0) / dur, "passes": e.passes, "shots": len(e.shots),
                     "load_after": _load()}
    c0, t0 = _cpu(), time.perf_counter()
    d = decode_video(shipped, tmpd / "speed_hdr10.mkv", device=device)
    wall = time.perf_counter() - t0
    out["decode"] = {"device": d.device, "wall_s": wall, "cpu_s": _cpu() - c0, "fps_wall": d.frames / wall,
                     "fps_cpu_seconds": d.frames / (_cpu() - c0), "networks_s": d.decode_seconds,
                     "networks_fps": d.frames / max(d.decode_seconds, 1e-9), "load_after": _load()}
    return out


def decode_speed(device: str, frames: int, tmp: str, size=(1920, 1080)) -> dict:
    """Procedural 1080p master (no data needed) → encode (100 steps/shot) → decode on ``device``."""
    import cv2

    from hdrkit.data import procedural_scene
    from hdrkit.tonemap import master_hdr10
    from hdrkit.video.io import MasteringDisplay, VideoWriter
    from hdrkit.video.neural import VideoEncodeConfig, decode_video, encode_video

    tmpd = Path(tmp)
    tmpd.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w, h = size
    master = tmpd / "proc_master.mkv"
    with VideoWriter(master, w, h, 24, codec="hevc", crf=12, mastering=MasteringDisplay.named("bt2020", 1000)) as wr:
        for k in range(2):
            scene, _ = procedural_scene(rng, (h // 2, w))
            m = cv2.resize(master_hdr10(scene, peak=1000.0, mid=26.0), (2 * w, h)).astype(np.float32)
            for t in range(frames // 2):
                wr.write_nits(np.ascontiguousarray(m[:, t * (w // 240):t * (w // 240) + w]))
    shipped = tmpd / "proc_shipped.mkv"
    encode_video(master, shipped, config=VideoEncodeConfig(steps=100))
    out = {}
    for dev in dict.fromkeys([device, "cpu"]):
        t0 = time.perf_counter()
        d = decode_video(shipped, tmpd / f"proc_{dev}.mkv", device=dev)
        wall = time.perf_counter() - t0
        out[dev] = {"device": d.device, "frames": d.frames, "fps_end_to_end": d.frames / wall,
                    "networks_fps": d.frames / max(d.decode_seconds, 1e-9)}
        print(f"{dev}: {d.frames} frames {w}x{h}, end to end {d.frames / wall:.2f} fps (decode + HEVC Main 10 "
              f"encode), networks alone {out[dev]['networks_fps']:.1f} fps", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--data", default="/work/shared/data/hdr_extra")
    m.add_argument("--seconds", type=float, default=10)
    m.add_argument("--shots", type=int, default=4)
    m.add_argument("--size", default="1920x1080")
    m.add_argument("--scenes", default="venice,hall,park,night")
    m.add_argument("-o", required=True)
    for name in ("run", "speed"):
        r = sub.add_parser(name)
        r.add_argument("master")
        r.add_argument("--tmp", default="/tmp/nv")
        r.add_argument("--steps", type=int, default=1000)
        r.add_argument("--samples", type=int, default=4096)
        r.add_argument("--json")
        if name == "run":
            r.add_argument("--simulcast-crfs", default="8,16,24,32")
            r.add_argument("--skip", default="")
        else:
            r.add_argument("--device", default="cpu")
    g = sub.add_parser("decode-speed")
    g.add_argument("--device", default="cuda")
    g.add_argument("--frames", type=int, default=48)
    g.add_argument("--tmp", default="/tmp/nv_gpu")
    g.add_argument("--size", default="1920x1080")
    g.add_argument("--json")
    a = ap.parse_args(argv)
    if a.cmd == "make":
        w, h = (int(v) for v in a.size.split("x"))
        res = make(a.o, a.data, a.seconds, a.shots, (w, h), scenes=a.scenes)
    elif a.cmd == "run":
        crfs = [int(c) for c in a.simulcast_crfs.split(",") if c]
        res = run(a.master, a.tmp, a.steps, a.samples, crfs, tuple(a.skip.split(",")))
    elif a.cmd == "speed":
        res = speed(a.master, a.tmp, a.steps, a.samples, a.device)
    else:
        w, h = (int(v) for v in a.size.split("x"))
        res = decode_speed(a.device, a.frames, a.tmp, (w, h))
    res["command"] = " ".join(sys.argv)
    text = json.dumps(res, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k not in ("methods",)}, indent=1)[:4000])
    if getattr(a, "json", None):
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
