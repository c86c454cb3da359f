"""The OCIO operator is a thin wrapper: compare with OpenColorIO's own processor and its reference values."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from hdrkit.errors import HdrkitError
from hdrkit.tonemap import ocio_aces, tonemap

ocio = pytest.importorskip("PyOpenColorIO")

CONFIG = "ocio://studio-config-v2.2.0_aces-v1.3_ocio-v2.4"


def _reference(nits):
    cfg = ocio.Config.CreateFromFile(CONFIG)
    proc = cfg.getProcessor("Linear Rec.2020", "Rec.1886 Rec.709 - Display", "ACES 1.0 - SDR Video",
                            ocio.TRANSFORM_DIR_FORWARD).getDefaultCPUProcessor()
    buf = np.ascontiguousarray(np.asarray(nits, np.float32).reshape(-1, 3) / 100.0)
    proc.applyRGB(buf)
    return np.clip(buf.reshape(np.shape(nits)), 0, 1)


def test_matches_opencolorio_processor():
    rng = np.random.default_rng(0)
    nits = (rng.random((48, 48, 3)) ** 3 * 4000).astype(np.float32)
    out = tonemap(nits, "ocio")
    assert out.dtype == np.float32 and out.shape == nits.shape
    assert np.abs(out - _reference(nits)).max() <= 1e-5


def test_reference_points_and_parameters():
    # REFERENCE.md: scene grey 0.18 → 0.38953 and 1.0 → 0.82178 with 1.0 = 100 nits.
    out = ocio_aces(np.array([[18.0, 18.0, 18.0], [100.0, 100.0, 100.0]]))
    np.testing.assert_allclose(out[:, 0], [0.38953, 0.82178], atol=1e-5)
    # exposure +1 stop == doubling the light; nits_per_unit scales the input
    np.testing.assert_allclose(ocio_aces(np.array([[9.0, 9.0, 9.0]]), exposure=1.0)[0, 0], 0.38953, atol=1e-5)
    np.testing.assert_allclose(ocio_aces(np.array([[36.0, 36.0, 36.0]]), nits_per_unit=200.0)[0, 0], 0.38953,
                               atol=1e-5)


def test_output_is_clipped_and_negatives_clamped():
    x = np.array([[1e5, 1e5, 1e5], [1e6, 0, 0], [0, 0, 5e4], [-10, 5, 5], [0, 5, 5]], np.float32)
    out = ocio_aces(x)
    assert out.min() >= 0 and out.max() <= 1 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[3], out[4])
    raw = _reference(np.array([[1e5, 1e5, 1e5]], np.float32))
    assert raw.max() <= 1.0


def test_missing_opencolorio_gives_a_clear_error(monkeypatch):
    from hdrkit.tonemap import ocio as mod

    mod.ocio_processor.cache_clear()
    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name == "PyOpenColorIO":
            raise ImportError("no")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(HdrkitError, match="hdrkit\\[ocio\\]"):
        tonemap(np.ones((2, 2, 3)), "ocio")
    monkeypatch.undo()
    mod.ocio_processor.cache_clear()
