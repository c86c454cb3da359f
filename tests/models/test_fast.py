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


# --- the fused whole-network kernel ---------------------------------------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

from hdrkit.models import _fusednet, fast  # noqa: E402
from hdrkit.models.siren import SirenITM  # noqa: E402


def _np(p):
    return {k: v.numpy() for k, v in p.items()}


def _decode_fused(p, sdr, cfg, chunk, progress=None, kernel=None, threads=None):
    k = kernel or _fusednet.compile_kernel(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge))
    return _fusednet.decode(k, _np(p), sdr, cfg, chunk, progress, threads)


def test_fused_kernel_builds_here():
    """No skip: a machine (or CI image) where the kernel cannot be compiled fails here, loudly."""
    k = _fusednet.compile_kernel(_fusednet.Shape((64, 32), (64, 32), (64,)))
    assert k.layout.pb >= 4
    assert fast.decode_path(SirenConfig()) == "fused LLVM kernel"


def _module_forward(p, sdr, cfg, dtype=torch.float32):
    H, W, _ = sdr.shape
    with torch.no_grad():
        m = SirenITM(cfg, {k: v.to(dtype) for k, v in p.items()}).to(dtype)
        return m(torch.from_numpy(sdr).to(dtype).reshape(-1, 3), coord_grid(H, W).to(dtype).reshape(-1, 2)
                 ).reshape(H, W, 3).numpy()


def test_fused_is_the_default_cpu_path(monkeypatch):
    called = []
    real = _fusednet.decode
    monkeypatch.setattr(_fusednet, "decode", lambda *a, **k: called.append(1) or real(*a, **k))
    decode_pq(init_params(), np.zeros((3, 5, 3), np.float32))
    assert called == [1]
    decode_pq(init_params(), np.zeros((3, 5, 3), np.float32), use_torch=True)
    assert called == [1]


def test_failed_build_warns_naming_the_fallback_and_torch_path_still_decodes(monkeypatch):
    def broken(*a, **k):
        raise OSError("no target")

    monkeypatch.setattr(_fusednet, "compile_kernel", broken)
    shape = _fusednet.Shape((5,), (6,), (4,))  # a shape no other test builds (build() caches per shape)
    _fusednet.build.cache_clear()
    with pytest.warns(RuntimeWarning, match="fused LLVM decode kernel could not be built.*torch path"):
        assert _fusednet.build(shape) is None
    cfg = SirenConfig(color=(5,), spatial=(6,), merge=(4,))
    p = init_params(cfg, torch.Generator().manual_seed(1))
    sdr = np.random.default_rng(0).random((6, 9, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert fast.decode_path(cfg) == "torch"
        np.testing.assert_allclose(decode_pq(p, sdr, cfg), _reference(p, sdr, cfg), atol=2e-6)
    _fusednet.build.cache_clear()


def test_kernel_rows_refuses_what_would_write_out_of_bounds():
    cfg = SirenConfig()
    k = _fusednet.compile_kernel(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge))
    w = _fusednet.folded_weights(_np(init_params(cfg)), cfg)
    packed = _fusednet.pack_weights(k.layout, w)
    rgb = np.zeros((4, 5, 3), np.float32)
    tabs = _fusednet.separable_tables(w["spatial.0"], cfg, 4, 5, pad_to=k.layout.pb)
    good = dict(rgb=rgb, out=np.empty_like(rgb), row0=0, row1=4, tables=tabs, weights=packed, scratch=k.scratch())
    k.rows(**good)
    bad = [dict(row1=5), dict(row0=-1), dict(out=np.empty((4, 6, 3), np.float32)),
           dict(out=np.empty((4, 5, 3), np.float64)), dict(rgb=np.zeros((4, 5, 3), np.float32)[:, ::-1]),
           dict(tables=(tabs[0][:, :1],) + tabs[1:]), dict(tables=tabs[:3]),
           dict(tables=tabs[:2] + (tabs[2][:, :2], tabs[3][:, :2])),
           dict(weights=packed[:-1]), dict(scratch=k.scratch()[:-1])]
    ro = np.empty_like(rgb)
    ro.flags.writeable = False
    bad.append(dict(out=ro))
    for b in bad:
        with pytest.raises(ValueError):
            k.rows(**{**good, **b})


def test_cpu_decode_does_not_import_torch():
    code = ("import sys, numpy as np; from hdrkit.models.fast import decode_pq; from hdrkit.models.config import "
            "SirenConfig; from hdrkit.models.config import param_shapes; "
            "p = {k: np.full(s, 0.01, np.float32) for k, s in param_shapes(SirenConfig()).items()}; "
            "out = decode_pq(p, np.zeros((4, 40, 3), np.uint8)); assert out.shape == (4, 40, 3); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


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
        k = _fusednet.compile_kernel(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge), lanes, nv, mr)
        for threads in (1, 2):
            out = _decode_fused(p, sdr, cfg, 40, None, kernel=k, threads=threads)
            assert out.shape == (H, W, 3)
            assert np.abs(out - ref).max() <= 1e-5, (lanes, nv, mr, threads)


def test_fused_as_accurate_as_reference_for_large_weights():
    """Weights x3 (pre-activations up to a few hundred): no further from a float64 forward than float32 torch
    is (+ 2e-6)."""
    cfg = SirenConfig()
    p = {k: v * 3.0 for k, v in init_params(cfg, torch.Generator().manual_seed(2)).items()}
    sdr = np.random.default_rng(2).random((37, 53, 3)).astype(np.float32)
    ref64 = _module_forward(p, sdr, cfg, torch.float64)
    budget = np.abs(_module_forward(p, sdr, cfg) - ref64).max() + 2e-6
    out = _decode_fused(p, sdr, cfg, fast.DEFAULT_CHUNK)
    assert np.abs(out - ref64).max() <= budget


def test_fused_input_untouched_and_progress_in_order():
    p = init_params(generator=torch.Generator().manual_seed(4))
    sdr = np.random.default_rng(3).random((9, 7, 3)).astype(np.float32)
    before = sdr.copy()
    for threads in (1, 2):
        calls = []
        _decode_fused(p, sdr, SirenConfig(), 14, lambda d, t, s: calls.append((d, t)), threads=threads)
        assert calls == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]
    assert np.array_equal(sdr, before)


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


def test_sine_of_the_kernel_against_float64():
    """The kernel's vector sine on its own (colour layer with weights (1, 0, 0) and omega0 1, no other layer
    reading it but the output): a network whose output is the sine of the red input times a scale."""
    cfg = SirenConfig(color=(1,), spatial=(1,), merge=(), omega0=1.0)
    x = ((np.random.default_rng(5).random((64, 256)) * 2 - 1) * 1000).astype(np.float32)
    p = {"color.0.weight": np.array([[1.0, 0, 0]], np.float32), "color.0.bias": np.zeros(1, np.float32),
         "spatial.0.weight": np.zeros((1, 2), np.float32), "spatial.0.bias": np.zeros(1, np.float32),
         "out.weight": np.array([[1.0, 0], [0, 0], [0, 0]], np.float32), "out.bias": np.zeros(3, np.float32)}
    sdr = np.stack([x, np.zeros_like(x), np.zeros_like(x)], -1)
    out = decode_pq(p, sdr, cfg)[..., 0]
    assert np.abs(out - np.sin(x.astype(np.float64))).max() < 2e-6
