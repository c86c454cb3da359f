"""Shared fixtures.  Tests that need ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path | None:
    env = os.environ.get("HDRKIT_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data`` (real HDR images and LUTs); skips the test when it is not there."""
    d = _shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is not available")
    return d


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Keep tests from oversubscribing the 2-core machine."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    yield
