"""Gain map maths (Ultra HDR v1 / ISO 21496-1): closed forms, round trips, scales, wide gamut, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hdrkit.codec import gainmap as G
from hdrkit.errors import InputError, MetadataError
from hdrkit.metrics import pq_psnr

from _gm_synth import _pair


def test_log2_gain_closed_form():
    # log2((H + o) / (S + o)): H = 3, S = 1, o = 1 -> log2(2) = 1
    assert G.log2_gain(np.float32(1.0), np.float32(3.0), 1.0, 1.0) == pytest.approx(1.0)
    assert G.log2_gain(np.float32(0.0), np.float32(0.0)) == pytest.approx(0.0)


def test_apply_gainmap_closed_form():
    """One pixel: HDR = (SDR + o) * 2^lerp(min, max, r) - o, with 1.0 = 203 nits."""
    sdr = np.full((1, 1, 3), 1.0, np.float32)  # SDR white: linear 1.0 in BT.709 and BT.2020
    meta = G.GainMapMetadata(min_log2=(0.0,) * 3, max_log2=(2.0,) * 3, capacity_max=2.0, channels=1)
    r = np.full((1, 1, 1), 255, np.uint8)  # recovery 1 -> boost 2^2
    out = G.apply_gainmap(sdr, r, meta)
    o = G.DEFAULT_OFFSET
    assert out[0, 0] == pytest.approx(np.full(3, ((1 + o) * 4 - o) * 203.0), rel=1e-5)
    half = G.apply_gainmap(sdr, r, meta, weight=0.5)  # weight 0.5: boost 2^1
    assert half[0, 0, 0] == pytest.approx(((1 + o) * 2 - o) * 203.0, rel=1e-5)


def test_gamma_round_trip_exact_before_quantisation():
    sdr, hdr = _pair()
    for gamma in (1.0, 2.2):
        rec, meta = G.compute_gainmap(sdr, hdr, scale=1, multichannel=True, gamma=gamma)
        out = G.apply_gainmap(sdr, rec, meta)
        # float recovery values: exact inverse up to float32 rounding
        np.testing.assert_allclose(out, np.clip(hdr, 0, 10000), rtol=2e-4, atol=2e-3)


def test_scale1_q100_multichannel_nearly_lossless():
    sdr, hdr = _pair(seed=3)
    gm, data = G.encode(sdr, hdr, scale=1, quality=100, multichannel=True)
    assert data[:2] == b"\xff\xd8"
    assert float(pq_psnr(hdr, G.decode(sdr, gm))) >= 45.0


@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_scales_shapes_and_quality_order(scale):
    sdr, hdr = _pair(h=50, w=70)  # not divisible by the scale: partial edge blocks
    rec, meta = G.compute_gainmap(sdr, hdr, scale=scale)
    assert rec.shape == (math.ceil(50 / scale), math.ceil(70 / scale), 3)
    assert rec.min() >= 0 and rec.max() <= 1
    gm, _ = G.encode(sdr, hdr, scale=scale, quality=95)
    out = G.decode(sdr, gm)
    assert out.shape == hdr.shape and np.isfinite(out).all()
    assert float(pq_psnr(hdr, out)) > 30.0


def test_box_downscale_is_block_mean_and_upscale_constant():
    x = np.arange(4 * 6 * 1, dtype=np.float32).reshape(4, 6, 1)
    d = G.box_downscale(x, 2)
    assert d[0, 0, 0] == pytest.approx(np.mean([0, 1, 6, 7]))
    d3 = G.box_downscale(x, 4)  # partial blocks: 4x4 then 4x2
    assert d3.shape == (1, 2, 1)
    assert d3[0, 1, 0] == pytest.approx(x[:, 4:6].mean())
    const = np.full((3, 5, 3), 0.25, np.float32)
    np.testing.assert_allclose(G.bilinear_upscale(const, 12, 20), 0.25)


def test_bilinear_upscale_matches_opencv():
    import cv2

    rng = np.random.default_rng(1)
    m = rng.uniform(0, 1, (8, 10, 3)).astype(np.float32)
    ours = G.bilinear_upscale(m, 32, 40, scale=4.0)
    ref = cv2.resize(m, (40, 32), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_multichannel_recovers_wide_gamut_single_channel_cannot():
    sdr, hdr = _pair(wide=True)
    gm3, _ = G.encode(sdr, hdr, scale=1, quality=100, multichannel=True)
    gm1, _ = G.encode(sdr, hdr, scale=1, quality=100, multichannel=False)
    patch = (slice(0, 24), slice(0, 32))
    err3 = np.abs(G.decode(sdr, gm3)[patch] - hdr[patch]).mean()
    err1 = np.abs(G.decode(sdr, gm1)[patch] - hdr[patch]).mean()
    assert err3 < 0.05 * err1


def test_display_weight():
    meta = G.GainMapMetadata(min_log2=(0.0,) * 3, max_log2=(2.0,) * 3, capacity_max=2.0)
    assert G.display_weight(meta, None) == 1.0
    assert G.display_weight(meta, 203.0) == 0.0
    assert G.display_weight(meta, 406.0) == pytest.approx(0.5)
    assert G.display_weight(meta, 5000.0) == 1.0
    with pytest.raises(InputError):
        G.display_weight(meta, -1.0)


def test_metadata_on_rational_grid():
    sdr, hdr = _pair()
    _, meta = G.compute_gainmap(sdr, hdr)
    for v in meta.min_log2 + meta.max_log2 + meta.offset_sdr + (meta.capacity_max,):
        assert v * G.DENOMINATOR == int(v * G.DENOMINATOR)


def test_bad_input():
    sdr, hdr = _pair()
    with pytest.raises(InputError):
        G.compute_gainmap(sdr, hdr[:10])
    bad = hdr.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError):
        G.compute_gainmap(sdr, bad)
    with pytest.raises(InputError):
        G.compute_gainmap(sdr, hdr, scale=3.5)
    with pytest.raises(InputError):
        G.encode(sdr, hdr, quality=0)
    with pytest.raises(MetadataError):
        G.GainMapMetadata(min_log2=(1.0,) * 3, max_log2=(0.0,) * 3).validate()
    with pytest.raises(MetadataError):
        G.GainMapMetadata(min_log2=(0.0,) * 3, max_log2=(1.0,) * 3, gamma=(0.0,) * 3).validate()
    with pytest.raises(MetadataError):
        G.decode_map_jpeg(b"\xff\xd8garbage")


def test_real_panorama_scale1_q100(shared_data):
    from hdrkit import color
    from hdrkit.io import read_image
    from hdrkit.tonemap.master import master_hdr10
    from hdrkit.tonemap.lut import youtube

    p = shared_data / "hdr" / "city.exr"
    if not p.is_file():
        pytest.skip("city.exr not in shared data")
    hdr = master_hdr10(color.to_nits(read_image(p)))[::2, ::2]
    sdr = np.round(youtube(hdr) * 255).astype(np.uint8)
    gm, _ = G.encode(sdr, hdr, scale=1, quality=100, multichannel=True)
    assert float(pq_psnr(hdr, G.decode(sdr, gm))) >= 45.0


def test_bilinear_fast_path_equals_gather_path():
    rng = np.random.default_rng(2)
    m = rng.uniform(0, 1, (6, 9, 1)).astype(np.float32)
    fast = G.bilinear_upscale(m, 24, 36, scale=4.0)          # divisible: OpenCV path
    slow = G.bilinear_upscale(m, 23, 35, scale=4.0)          # partial edge blocks: gather path
    np.testing.assert_allclose(fast[:23, :35], slow, atol=1e-5)
