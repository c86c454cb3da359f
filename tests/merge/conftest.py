"""Fixtures of the merge tests (helpers live in merge_testlib.py)."""

from __future__ import annotations

import pytest

from merge_testlib import load_radiance


@pytest.fixture(scope="module")
def forest(shared_data):
    return load_radiance(shared_data, "forest")
