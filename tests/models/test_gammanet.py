"""The gamma-map family (hdrkit.models.gammanet): the fused LLVM decode kernel (hdrkit.models._fusedgamma) and the
torch forward pass against a plain float64 numpy forward pass, and the decoder's closed form against
colour-science's ST 2084."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.models import gammanet as G


def _weights(cfg, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    w = {k: (rng.standard_normal(s) * scale).astype(np.float32) for k, s in G.param_shapes(cfg).items()}
    w["out.bias"][:] = 0.8
    return w


def _sdr(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_fused_kernel_builds_here():
    """The fast path must exist where hdrkit is tested (a broken llvmlite fails here, it does not skip)."""
    from hdrkit.models import _fusedgamma

    _fusedgamma.compile_kernel((16, 16))  # raises what llvmlite raises
    assert G.decode_path() == "fused LLVM kernel"


@pytest.mark.parametrize("cfg", [G.GammaConfig(), G.GammaConfig(hidden=(8,), coord_octaves=3, color_octaves=5),
                                 G.GammaConfig(hidden=(12, 7, 5), coord_octaves=16, color_octaves=1, offset=0.05),
                                 G.GammaConfig(hidden=(20, 9, 17, 4)), G.GammaConfig(hidden=(32, 32))])
@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_matches_numpy_reference(cfg, threads):
    w, sdr = _weights(cfg), _sdr(37, 53)
    ref = G.forward_reference(w, sdr, cfg)
    got = G.decode(w, sdr, cfg, threads=threads, chunk=200)  # several row chunks
    assert got.shape == (37, 53, 3) and got.dtype == np.float32
    assert np.abs(got - ref).max() < 2e-5
    assert 0 < ref.mean() < 1  # not all clipped


@pytest.mark.parametrize("lanes,nv,mr", [(4, 1, 4), (8, 2, 4), (16, 1, 8), (16, 2, 8), (16, 2, 3)])
@pytest.mark.parametrize("width", [1, 15, 32, 33, 70])
def test_kernel_vector_widths_and_partial_blocks(lanes, nv, mr, width):
    """Every vector width / register block the generator emits, on image widths around the block size (a last
    partial block, a single pixel), against the float64 reference."""
    from hdrkit.models import _fusedgamma as FG

    cfg = G.GammaConfig(hidden=(16, 16))
    w, sdr = _weights(cfg, seed=width), _sdr(3, width, seed=width)
    kern = FG.compile_kernel(cfg.hidden, lanes=lanes, nv=nv, mr=mr)
    tabs = FG.padded_tables(*G.first_layer_tables(w, cfg, 3, width), G.sdr_log_table(cfg).astype(np.float32),
                            kern.layout.h0p)
    out = np.full((3, width, 3), np.nan, np.float32)
    kern.rows(sdr, out, 0, 3, tabs, FG.pack_weights(kern.layout, w, cfg.offset), kern.scratch())
    assert np.abs(out - G.forward_reference(w, sdr, cfg)).max() < 2e-5


def test_kernel_exp_range_and_non_finite_weights():
    """The vector exp over the whole argument range the clamp lets through, and weights with inf/NaN (a
    container may carry them): the output stays in [0, 1], finite."""
    cfg = G.GammaConfig(hidden=(16,))
    sdr = np.stack(np.meshgrid(np.arange(256), [0, 1, 128, 255], indexing="ij"), -1)[..., [0, 1, 0]].astype(np.uint8)
    for g in (-40.0, -3.0, 0.0, 0.37, 1.0, 5.0, 300.0):
        w = G.init_params(cfg, out_bias=g)
        want = G.forward_reference(w, sdr, cfg)
        assert np.abs(G.decode(w, sdr, cfg) - want).max() < 2e-6
    w = _weights(cfg)
    w["l0.weight"][0, :3] = [np.inf, -np.inf, np.nan]
    w["out.weight"][1, 2] = np.nan
    with np.errstate(invalid="ignore"):
        out = G.decode(w, sdr, cfg)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_kernel_refuses_bad_arguments():
    from hdrkit.models import _fusedgamma as FG

    cfg = G.GammaConfig()
    kern = FG.compile_kernel(cfg.hidden)
    w, sdr = _weights(cfg), _sdr(4, 5)
    tabs = FG.padded_tables(*G.first_layer_tables(w, cfg, 4, 5), G.sdr_log_table(cfg).astype(np.float32),
                            kern.layout.h0p)
    packed, scratch = FG.pack_weights(kern.layout, w, cfg.offset), kern.scratch()
    out = np.zeros((4, 5, 3), np.float32)
    bad = [(sdr.astype(np.uint16), out, 0, 4, tabs, packed, scratch),
           (sdr, out[:, :4], 0, 4, tabs, packed, scratch),
           (sdr, out, 0, 5, tabs, packed, scratch),
           (sdr, out, 0, 4, (tabs[0][:4],) + tabs[1:], packed, scratch),
           (sdr, out, 0, 4, tabs[:3], packed, scratch),
           (sdr, out, 0, 4, tabs, packed[:-1], scratch),
           (sdr, out, 0, 4, tabs, packed, scratch[:10]),
           (sdr[:, ::-1], out, 0, 4, tabs, packed, scratch)]
    for args in bad:
        with pytest.raises(ValueError):
            kern.rows(*args)


def test_float_sdr_is_read_as_8_bit_codes():
    cfg = G.GammaConfig()
    w, sdr = _weights(cfg), _sdr(9, 11)
    assert np.array_equal(G.decode(w, sdr.astype(np.float32) / 255, cfg), G.decode(w, sdr, cfg))


def test_torch_forward_matches_reference_and_kernel():
    import torch

    cfg = G.GammaConfig(hidden=(16, 16))
    w, sdr = _weights(cfg, seed=3), _sdr(23, 41, seed=3)
    H, W, _ = sdr.shape
    idx = torch.arange(H * W)
    consts = G.TorchConsts(cfg, H, W)
    out = G.forward_torch({k: torch.from_numpy(v) for k, v in w.items()}, idx // W, idx % W,
                          torch.from_numpy(sdr.reshape(-1, 3)).long(), consts, cfg, clip=True)
    out = out.detach().numpy().reshape(H, W, 3)
    assert np.abs(out - G.forward_reference(w, sdr, cfg)).max() < 2e-5
    assert np.abs(out - G.decode(w, sdr, cfg)).max() < 2e-5


def test_constant_gamma_closed_form_against_colour_science():
    """Zero output weights, output bias g: H = (PQ^-1(203 (c/255)^2.4) + o)^g - o per channel."""
    colour = pytest.importorskip("colour")
    cfg = G.GammaConfig()
    w = G.init_params(cfg, out_bias=0.7)
    sdr = np.stack(np.meshgrid(np.arange(256), [0, 128, 255], indexing="ij"), -1)[..., [0, 1, 0]].astype(np.uint8)
    s = colour.models.eotf_inverse_ST2084(203.0 * (sdr / 255.0) ** 2.4)
    want = np.clip((s + cfg.offset) ** 0.7 - cfg.offset, 0, 1)
    assert np.abs(G.decode(w, sdr, cfg) - want).max() < 1e-5


def test_config_validation():
    from hdrkit.errors import InputError

    for bad in (dict(hidden=()), dict(hidden=(0,)), dict(coord_octaves=0), dict(color_octaves=17),
                dict(offset=float("nan"))):
        with pytest.raises(InputError):
            G.GammaConfig(**bad)
    assert G.param_count(G.GammaConfig()) == 120 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3


@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_codes16_equal_the_quantised_float_output(threads):
    """codes16: the kernel's uint16 output is exactly what hdrkit.io.write quantises the float32 output to
    (rint(clip(x, 0, 1) * 65535), round half to even), partial blocks and several row chunks included."""
    from hdrkit.io.write import _quantise

    for cfg, (h, w) in ((G.GammaConfig(), (37, 53)), (G.GammaConfig(hidden=(12, 7, 5)), (5, 33)),
                        (G.GammaConfig(hidden=(8,)), (3, 1))):
        wts, sdr = _weights(cfg, seed=h), _sdr(h, w, seed=h)
        f = G.decode(wts, sdr, cfg, threads=threads, chunk=200)
        q = G.decode(wts, sdr, cfg, threads=threads, chunk=200, codes16=True)
        assert q.dtype == np.uint16 and q.shape == f.shape
        assert np.array_equal(q, _quantise(f, 16))
