"""Small neural networks of hdrkit: the MLP-embedded inverse tone mapping network (SIREN) and its fast decoder.

Exports are resolved lazily so that ``hdrkit.models.config`` and the CPU decode kernel load without torch.
"""

from importlib import import_module

_EXPORTS = {
    "SirenConfig": "hdrkit.models.config",
    "param_count": "hdrkit.models.config",
    "SirenITM": "hdrkit.models.siren",
    "coord_grid": "hdrkit.models.siren",
    "forward": "hdrkit.models.siren",
    "init_params": "hdrkit.models.siren",
    "decode_pq": "hdrkit.models.fast",
    "gemm_bound_seconds": "hdrkit.models.fast",
    "measure_matmul_gflops": "hdrkit.models.fast",
    "forward_flops": "hdrkit.models.fast",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hdrkit.models' has no attribute {name!r}")
