"""Short fuzz pass (CI): mutated seeds through every reader and parser; only hdrkit errors may come out.

The long, coverage-guided run is ``fuzz/campaign.sh`` (atheris); see ``docs/ROBUSTNESS.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fuzz"))
import targets  # noqa: E402

_SEEDS: dict = {}


def _seeds(name):
    if name not in _SEEDS:
        _SEEDS[name] = targets.seeds(name)
    return _SEEDS[name]


@st.composite
def mutated(draw, name):
    """A seed with a few random edits: byte flips, a truncation, an insertion, a splice of two places."""
    seeds = _seeds(name)
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "splice", "int"]))
        n = len(data)
        if n == 0:
            data += draw(st.binary(min_size=1, max_size=16))
            continue
        i = draw(st.integers(0, n - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif op == "cut":
            del data[draw(st.integers(0, n)):]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=32))
        elif op == "splice":
            j = draw(st.integers(0, n - 1))
            data[i:i + 8] = data[j:j + 8]
        else:  # a 32-bit field set to an extreme value (sizes, offsets, counts)
            data[i:i + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00",
                                                  b"\x00\x01\x00\x00", b"\x80\x00\x00\x00"]))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_fuzz_short(name, capfd):
    """Only hdrkit errors come out, and nothing (libpng, OpenEXR, libjpeg...) writes to the process's stderr."""
    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=mutated(name))
    def run(data):
        targets.run_one(name, data)

    run()
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_seeds_are_accepted(name):
    """The first seed of each target is a valid input it accepts (so the fuzzers start inside the format)."""
    seeds = _seeds(name)
    targets.TARGETS[name](seeds[0])
    for seed in seeds[1:]:
        targets.run_one(name, seed)
