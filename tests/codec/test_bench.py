"""The 4K-decode benchmark's bookkeeping, on a small frame (the timing itself lives in docs/, not in tests)."""

from __future__ import annotations

import pytest

from hdrkit.codec.bench import bench_decode_4k, markdown
from hdrkit.models.fast import decode_path, forward_flops, sustained_gemm_seconds


@pytest.mark.parametrize("family", [None, "siren"])
def test_decode_bench_record_and_report(family):
    from hdrkit.codec.weights import load_theta
    from hdrkit.models import gammanet

    cfg, params = load_theta(family)
    rec = bench_decode_4k(params, cfg, width=96, height=40, repeats=2, gflops=100.0)
    if family is None:  # the default: the gamma-map family's fused kernel (first layer: 5 table look-ups)
        assert rec["path"] == gammanet.decode_path() and rec["family"] == "gamma"
    else:
        assert rec["path"] == decode_path() and rec["family"] == "siren"
    assert len(rec["decode_s_all"]) == len(rec["gemm_sustained_s_all"]) == 2
    assert rec["decode_s"] == min(rec["decode_s_all"])
    assert rec["gemm_bound_s"] == pytest.approx(forward_flops(cfg) * 96 * 40 / 100e9)
    assert rec["ratio"] == pytest.approx(rec["decode_s"] / rec["gemm_bound_s"])
    assert rec["ratio_sustained"] == pytest.approx(rec["decode_s"] / min(rec["gemm_sustained_s_all"]))
    md = markdown([], 100.0, "test", rec)
    assert "4K decode (96x40" in md and "back-to-back" in md and rec["path"] in md


def test_sustained_gemm_scales_to_the_flops():
    one = 2 * 64**3
    t = sustained_gemm_seconds(10 * one, size=64)
    assert 0 < t < 1.0
