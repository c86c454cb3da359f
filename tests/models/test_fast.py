"""The fast decoder computes exactly the reference network at every pixel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrkit.errors import InputError
from hdrkit.models.fast import decode_pq, forward_flops, gemm_bound_seconds
from hdrkit.models.siren import SirenConfig, coord_grid, forward, init_params, param_count


def _reference(p, sdr, cfg):
    H, W, _ = sdr.shape
    return forward(p, torch.from_numpy(sdr).reshape(-1, 3), coord_grid(H, W).reshape(-1, 2), cfg).reshape(H, W, 3).numpy()


@pytest.mark.parametrize("cfg", [
    SirenConfig(),
    SirenConfig(coord_octaves=3),
    SirenConfig(color=(16,), spatial=(8,), merge=(), activation="relu"),
    SirenConfig(color=(8, 8, 8), spatial=(16, 8, 4), merge=(12, 6)),
])
@pytest.mark.parametrize("chunk", [1, 50, 100000])
def test_decode_equals_reference_forward(cfg, chunk):
    p = init_params(cfg, torch.Generator().manual_seed(3))
    sdr = np.random.default_rng(1).random((23, 41, 3)).astype(np.float32)
    out = decode_pq(p, sdr, cfg, chunk=chunk)
    assert out.shape == (23, 41, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(p, sdr, cfg), atol=2e-6)


def test_uint8_input_is_divided_by_255_and_progress_is_reported():
    p = init_params(generator=torch.Generator().manual_seed(4))
    sdr8 = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    calls = []
    out = decode_pq(p, sdr8, chunk=14, progress=lambda d, t, s: calls.append((d, t)))
    np.testing.assert_allclose(out, _reference(p, sdr8.astype(np.float32) / 255, SirenConfig()), atol=2e-6)
    assert calls[-1] == (9, 9) and len(calls) == 5  # 2 rows per chunk


def test_bad_input_shape():
    with pytest.raises(InputError):
        decode_pq(init_params(), np.zeros((4, 4)))


def test_flop_count_and_gemm_bound():
    assert forward_flops() == 2 * (param_count() - (64 + 32 + 64 + 32 + 64 + 3))
    t = gemm_bound_seconds(2160, 3840, gflops=100.0)
    assert t == pytest.approx(forward_flops() * 2160 * 3840 / 100e9)


# --- the numba / SIMD path ----------------------------------------------------------------------------------------

from hdrkit.models import _fastsin, _simdsin, fast  # noqa: E402
from hdrkit.models.siren import SirenITM  # noqa: E402

needs_numba = pytest.mark.skipif(not _fastsin.AVAILABLE, reason="numba not installed")


@needs_numba
@pytest.mark.parametrize("seed,scale", [(0, 1.0), (1, 1.0), (2, 1.5)])
@pytest.mark.parametrize("shape,chunk", [((37, 53), fast.DEFAULT_CHUNK), ((5, 1000), 7), ((64, 33), 1)])
def test_numba_path_matches_module_forward(seed, scale, shape, chunk):
    """Random weights (``scale`` widens the pre-activation range) and inputs: the fast path equals the plain
    ``nn.Module`` forward to 1e-5 on PQ values."""
    g = torch.Generator().manual_seed(seed)
    p = {k: v * scale for k, v in init_params(SirenConfig(), g).items()}
    model = SirenITM(SirenConfig(), p)
    H, W = shape
    sdr = np.random.default_rng(seed).random((H, W, 3)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(sdr).reshape(-1, 3), coord_grid(H, W).reshape(-1, 2)).reshape(H, W, 3).numpy()
    for use_simd in (None, False):
        out = fast._decode_numba(p, torch.from_numpy(sdr), SirenConfig(), chunk, None, use_simd=use_simd)
        assert np.abs(out - ref).max() <= 1e-5
    assert np.abs(decode_pq(p, sdr, chunk=chunk) - ref).max() <= 1e-5
    np.testing.assert_allclose(decode_pq(p, sdr, chunk=chunk, use_numba=False), ref, atol=1e-5)


@needs_numba
def test_numba_path_as_accurate_as_reference_for_large_weights():
    """Weights x3 (pre-activations up to a few hundred after omega0): float32 rounding alone moves the reference
    ~8e-6 from a float64 forward; the fast path must be no further from float64 than that (+ 2e-6)."""
    cfg = SirenConfig()
    p = {k: v * 3.0 for k, v in init_params(cfg, torch.Generator().manual_seed(2)).items()}
    H, W = 37, 53
    sdr = np.random.default_rng(2).random((H, W, 3)).astype(np.float32)
    xy = coord_grid(H, W).reshape(-1, 2)
    with torch.no_grad():
        ref32 = SirenITM(cfg, p)(torch.from_numpy(sdr).reshape(-1, 3), xy).reshape(H, W, 3).numpy()
        m64 = SirenITM(cfg, {k: v.double() for k, v in p.items()}).double()
        ref64 = m64(torch.from_numpy(sdr).double().reshape(-1, 3), xy.double()).reshape(H, W, 3).numpy()
    budget = np.abs(ref32 - ref64).max() + 2e-6
    for use_simd in (None, False):
        out = fast._decode_numba(p, torch.from_numpy(sdr), cfg, fast.DEFAULT_CHUNK, None, use_simd=use_simd)
        assert np.abs(out - ref64).max() <= budget


@needs_numba
def test_fast_sines_against_float64():
    x = ((np.random.default_rng(5).random(1 << 16) * 2 - 1) * 1000).astype(np.float32)
    ref = np.sin(x.astype(np.float64))
    out = np.empty_like(x)
    _fastsin.sin_vec(x, out)
    assert np.abs(out - ref).max() < 2e-6
    if _simdsin.KERNEL is not None:
        y = x.reshape(64, -1).copy()
        _simdsin.sin_bias_(y, np.zeros(64, np.float32), y.shape[1])
        assert np.abs(y.ravel() - ref).max() < 2e-6


@needs_numba
def test_numba_progress_per_row_block():
    p = init_params(generator=torch.Generator().manual_seed(4))
    sdr8 = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    calls = []
    decode_pq(p, sdr8, chunk=14, progress=lambda d, t, s: calls.append((d, t)), use_numba=True)
    assert calls == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]


# --- the fused whole-network kernel ---------------------------------------------------------------------------

from hdrkit.models import _fusednet  # noqa: E402

_FUSED = fast._fused_kernel(SirenConfig())
needs_fused = pytest.mark.skipif(_FUSED is None, reason="llvmlite cannot compile for this CPU")


def _module_forward(p, sdr, cfg, dtype=torch.float32):
    H, W, _ = sdr.shape
    with torch.no_grad():
        m = SirenITM(cfg, {k: v.to(dtype) for k, v in p.items()}).to(dtype)
        return m(torch.from_numpy(sdr).to(dtype).reshape(-1, 3), coord_grid(H, W).to(dtype).reshape(-1, 2)
                 ).reshape(H, W, 3).numpy()


@needs_fused
def test_fused_is_the_default_cpu_path(monkeypatch):
    called = []
    real = fast._decode_fused
    monkeypatch.setattr(fast, "_decode_fused", lambda *a, **k: called.append(1) or real(*a, **k))
    decode_pq(init_params(), np.zeros((3, 5, 3), np.float32))
    assert called == [1]


@needs_fused
@pytest.mark.parametrize("cfg", [
    SirenConfig(),
    SirenConfig(coord_octaves=3),
    SirenConfig(color=(8, 8, 8), spatial=(16, 8, 4), merge=(12, 6)),  # widths that are not multiples of MR
    SirenConfig(color=(16,), spatial=(8,), merge=()),  # no hidden layer: output layer alone on the concat
    SirenConfig(color=(5, 3), spatial=(7,), merge=(9,)),
])
@pytest.mark.parametrize("shape", [(1, 1), (3, 31), (2, 32), (4, 33), (17, 97)])
def test_fused_equals_module_forward(cfg, shape):
    """Every layer shape and every image width (blocks that are whole, partial, a single pixel) against the
    plain ``nn.Module`` forward, with the default build and with other vector widths / register blocks."""
    p = init_params(cfg, torch.Generator().manual_seed(7))
    H, W = shape
    sdr = np.random.default_rng(H * 100 + W).random((H, W, 3)).astype(np.float32)
    ref = _module_forward(p, sdr, cfg)
    for lanes, nv, mr in ((None, 2, None), (8, 3, 5), (4, 1, 3)):
        k = _fusednet.build(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge), lanes, nv, mr)
        assert k is not None
        for threads in (1, 2):
            out = fast._decode_fused(p, torch.from_numpy(sdr), cfg, 40, None, kernel=k, threads=threads)
            assert out.shape == (H, W, 3)
            assert np.abs(out - ref).max() <= 1e-5, (lanes, nv, mr, threads)


@needs_fused
def test_fused_as_accurate_as_reference_for_large_weights():
    """Weights x3 (pre-activations up to a few hundred): no further from a float64 forward than float32 torch
    is (+ 2e-6)."""
    cfg = SirenConfig()
    p = {k: v * 3.0 for k, v in init_params(cfg, torch.Generator().manual_seed(2)).items()}
    sdr = np.random.default_rng(2).random((37, 53, 3)).astype(np.float32)
    ref64 = _module_forward(p, sdr, cfg, torch.float64)
    budget = np.abs(_module_forward(p, sdr, cfg) - ref64).max() + 2e-6
    out = fast._decode_fused(p, torch.from_numpy(sdr), cfg, fast.DEFAULT_CHUNK, None)
    assert np.abs(out - ref64).max() <= budget


@needs_fused
def test_fused_input_untouched_and_progress_in_order():
    p = init_params(generator=torch.Generator().manual_seed(4))
    sdr = np.random.default_rng(3).random((9, 7, 3)).astype(np.float32)
    before = sdr.copy()
    for threads in (1, 2):
        calls = []
        fast._decode_fused(p, torch.from_numpy(sdr), SirenConfig(), 14, lambda d, t, s: calls.append((d, t)),
                           threads=threads)
        assert calls == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]
    assert np.array_equal(sdr, before)


@needs_fused
def test_fused_weight_packing_layout():
    """The packed array holds every parameter once (plus zero padding of partial row blocks)."""
    cfg = SirenConfig(color=(8, 8, 8), spatial=(16, 8, 4), merge=(12, 6))
    lay = _fusednet.layout(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge), 16, 2, 8)
    w = {n: (np.random.default_rng(0).random(s[:2]).astype(np.float32) + 1,
             np.random.default_rng(1).random(s[0]).astype(np.float32) + 1)
         for n, s in ((name, (fout, fin)) for name, fin, fout, _ in cfg.layer_shapes())}
    packed = _fusednet.pack_weights(lay, w)
    spatial0 = w["spatial.0"][0].size + w["spatial.0"][1].size  # arrives as tables, not packed
    assert np.count_nonzero(packed) == param_count(cfg) - spatial0
