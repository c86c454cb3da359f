"""Decode and adaptation timings on a CUDA device (run where one is present; docs/CODEC.md quotes the output).

    python scripts/bench_cuda.py [--device cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    from hdrkit import color
    from hdrkit.codec.api import encode_arrays
    from hdrkit.models.fast import decode_pq
    from hdrkit.models.siren import init_params

    dev = torch.device(args.device)
    print(f"device: {torch.cuda.get_device_name(dev) if dev.type == 'cuda' else dev}, torch {torch.__version__}")
    p = init_params(generator=torch.Generator().manual_seed(0))
    sdr = np.random.default_rng(0).random((2160, 3840, 3)).astype(np.float32)
    decode_pq(p, sdr[:64], device=dev)  # warm-up (CUDA context, kernels)
    times = []
    for _ in range(3):
        torch.cuda.synchronize(dev)
        t = time.perf_counter()
        decode_pq(p, sdr, device=dev)  # includes host->device and device->host copies of the frame
        torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - t)
    print(f"4K decode (3840x2160, frame copied in and out): best {min(times):.3f} s of {', '.join(f'{x:.3f}' for x in times)}")
    yy, xx = np.mgrid[0:512, 0:1024] / 300.0
    hdr = np.stack([200 * (1 + np.sin(3 * xx)), 150 * (1 + np.cos(2 * yy)), 100 * (1 + xx * yy)], -1).astype(np.float32)
    sdr2 = np.clip(color.srgb_inverse_eotf(np.clip(hdr / 400, 0, 1)), 0, 1).astype(np.float32)
    encode_arrays(sdr2[:64, :64], hdr[:64, :64], device=dev)  # warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        res = encode_arrays(sdr2, hdr, device=dev)
        times.append(time.perf_counter() - t)
    print(f"adaptation, 1024x512, default settings (200 steps): best {min(times):.2f} s of "
          f"{', '.join(f'{x:.2f}' for x in times)}; {len(res.blob)} bytes")


if __name__ == "__main__":
    main()
