"""The ``device`` argument: clear one-line errors for devices that cannot be used, and — where a CUDA GPU is
present — the CUDA paths of decode, adaptation, the U-Net and the metrics agree with the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrkit._array import resolve_device
from hdrkit.errors import InputError

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_resolve_device_names():
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    for bad in ("bogus", "cuda:x", "", "meta"):
        with pytest.raises(InputError):
            resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_an_input_error():
    from hdrkit.models.fast import decode_pq
    from hdrkit.models.siren import init_params

    with pytest.raises(InputError, match="no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="no CUDA device"):
        decode_pq(init_params(), np.zeros((4, 4, 3), np.float32), device="cuda")


def test_cli_bad_device_is_one_line(tmp_path, capsys):
    from hdrkit.cli.main import main

    bad = "bogus" if torch.cuda.is_available() else "cuda"
    code = main(["encode", "sample:courtyard", "-o", str(tmp_path / "x.jpg"), "--device", bad])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "device" in lines[0], err
    assert not list(tmp_path.iterdir())


@cuda
def test_decode_cuda_equals_cpu():
    from hdrkit.models.fast import decode_pq
    from hdrkit.models.siren import init_params

    p = init_params(generator=torch.Generator().manual_seed(0))
    sdr = np.random.default_rng(0).random((67, 131, 3)).astype(np.float32)
    cpu = decode_pq(p, sdr)
    for chunk in (None, 1000):  # one chunk (the GPU default) and many, with a partial last one
        calls = []
        gpu = decode_pq(p, sdr, device="cuda", chunk=chunk, progress=lambda d, t, s: calls.append(d))
        assert gpu.dtype == np.float32 and np.abs(gpu - cpu).max() < 1e-4
        assert calls[-1] == 67 and len(calls) == (1 if chunk is None else -(-67 // (1000 // 131)))
    # a CUDA tensor decoded on the CPU
    assert np.abs(decode_pq(p, torch.from_numpy(sdr).cuda()) - cpu).max() < 1e-6


@cuda
def test_encode_on_cuda_matches_cpu_quality():
    from hdrkit import color
    from hdrkit.codec.api import decode_arrays, encode_arrays
    from hdrkit.codec.adapt import AdaptConfig
    from hdrkit.metrics import pu_psnr

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:96, 0:160] / 100.0
    hdr = np.stack([200 * (1 + np.sin(3 * xx)), 150 * (1 + np.cos(2 * yy)), 100 * (1 + xx * yy)], -1)
    hdr = (hdr + rng.random(hdr.shape) * 5).astype(np.float32)
    sdr = np.clip(color.srgb_inverse_eotf(np.clip(hdr / 400, 0, 1)), 0, 1).astype(np.float32)
    cfg = AdaptConfig(steps=60)
    scores = {}
    for dev in ("cpu", "cuda"):
        res = encode_arrays(sdr, hdr, adapt_cfg=cfg, device=dev)
        pq = decode_arrays(res.blob, sdr)
        scores[dev] = pu_psnr(hdr, color.pq_eotf(pq))
    assert abs(scores["cuda"] - scores["cpu"]) < 1.0, scores


@cuda
def test_unet_cuda_equals_cpu():
    from hdrkit.expand import expand

    sdr = np.random.default_rng(2).random((96, 128, 3)).astype(np.float32)
    cpu = expand(sdr, "unet")
    gpu = expand(sdr, "unet", device="cuda")
    assert np.allclose(gpu, cpu, rtol=1e-3, atol=1e-2)
