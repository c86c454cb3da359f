"""Helpers that let one colour kernel run on numpy arrays and on torch tensors.

Torch is imported lazily: numpy-only callers never pay for it.  Every helper returns the same kind (numpy or
torch) as its input and keeps floating dtypes (float32 stays float32, float64 stays float64); integer input is
promoted to float64 (numpy) or float32 (torch).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    """True for a ``torch.Tensor`` (without importing torch when it is not loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def as_float(x: Any) -> Any:
    """Return ``x`` as a floating array/tensor (python scalars and lists become float64 numpy arrays)."""
    if is_torch(x):
        return x if x.is_floating_point() else x.float()
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    return x.astype(np.float64)


def clip(x: Any, lo: float | None = None, hi: float | None = None) -> Any:
    if is_torch(x):
        return x.clamp(min=lo, max=hi)
    return np.clip(x, lo, hi)


def where(cond: Any, a: Any, b: Any) -> Any:
    if is_torch(cond) or is_torch(a) or is_torch(b):
        import torch

        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def log(x: Any) -> Any:
    return x.log() if is_torch(x) else np.log(x)


def exp(x: Any) -> Any:
    return x.exp() if is_torch(x) else np.exp(x)


def sqrt(x: Any) -> Any:
    return x.sqrt() if is_torch(x) else np.sqrt(x)


def abs_(x: Any) -> Any:
    return x.abs() if is_torch(x) else np.abs(x)


def sign(x: Any) -> Any:
    return x.sign() if is_torch(x) else np.sign(x)


def spow(x: Any, p: float) -> Any:
    """``x ** p`` for x >= 0 (callers clamp first); keeps dtype."""
    return x**p


def matvec(x: Any, m: np.ndarray) -> Any:
    """Apply a 3×3 matrix to the last axis: ``y[..., i] = sum_j m[i, j] x[..., j]``.

    ``m`` is a float64 numpy matrix; it is cast to the dtype/device of ``x``.
    """
    m = np.asarray(m, dtype=np.float64)
    if is_torch(x):
        import torch

        mt = torch.as_tensor(m, dtype=x.dtype, device=x.device)
        return torch.matmul(x, mt.T)
    x = as_float(x)
    return np.matmul(x, m.T.astype(x.dtype, copy=False))


def stack_last(parts: list[Any]) -> Any:
    if is_torch(parts[0]):
        import torch

        return torch.stack(parts, dim=-1)
    return np.stack(parts, axis=-1)


def check_channels(x: Any, name: str = "rgb") -> None:
    """Raise ``InputError`` unless the last axis has 3 channels."""
    from hdrkit.errors import InputError

    if x.ndim < 1 or x.shape[-1] != 3:
        raise InputError(f"{name} must have 3 channels on its last axis, got shape {tuple(x.shape)}")


def resolve_device(device: Any = None):
    """``torch.device`` for ``device`` (None -> CPU; "cpu", "cuda", "cuda:N", "mps" or a ``torch.device``).

    Raises :class:`hdrkit.errors.InputError` with one line for an unknown name or a device this torch build
    cannot use (e.g. "cuda" on a CPU-only build), instead of torch's assertion deep inside a computation.
    """
    import torch

    from hdrkit.errors import InputError

    if device is None:
        return torch.device("cpu")
    try:
        dev = device if isinstance(device, torch.device) else torch.device(str(device))
    except (RuntimeError, ValueError, TypeError):
        raise InputError(f"unknown device {device!r}; use cpu, cuda, cuda:N or mps") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {str(device)!r}: this torch build sees no CUDA device; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
        return dev
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise InputError(f"device {str(device)!r}: MPS is not available here; use --device cpu")
        return dev
    raise InputError(f"device {str(device)!r} is not supported; use cpu, cuda, cuda:N or mps")
