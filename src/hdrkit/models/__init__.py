"""Small neural networks of hdrkit: the MLP-embedded inverse tone mapping network (SIREN) and its fast decoder."""

from hdrkit.models.siren import (
    SirenConfig,
    SirenITM,
    coord_grid,
    forward,
    init_params,
    param_count,
)
from hdrkit.models.fast import decode_pq, gemm_bound_seconds, measure_matmul_gflops, forward_flops

__all__ = [
    "SirenConfig",
    "SirenITM",
    "coord_grid",
    "forward",
    "init_params",
    "param_count",
    "decode_pq",
    "gemm_bound_seconds",
    "measure_matmul_gflops",
    "forward_flops",
]
