"""One kernel, two array libraries: the small set of operations the metrics need, for numpy and torch.

The metrics are written once against :class:`Backend`; :func:`backend_of` picks the numpy or the torch flavour
from the inputs.  torch is imported only when a tensor is passed, so the numpy path (and ``hdrkit eval``)
never pays torch's start-up time.

numpy inputs are computed in float64 (reference-grade numbers); torch inputs keep their dtype and device and
stay differentiable.
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from typing import Any

import numpy as np

from hdrkit.errors import InputError


def is_torch(x: Any) -> bool:
    """True when ``x`` is a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


@lru_cache(maxsize=None)
def gaussian_kernel1d(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 1-D Gaussian taps; ``size`` defaults to ``2*ceil(3*sigma)+1`` (MATLAB ``ssim``/``multissim``)."""
    if size is None:
        size = 2 * math.ceil(3 * sigma) + 1
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _mirror_index(idx: np.ndarray, n: int) -> np.ndarray:
    """MATLAB ``imresize`` boundary rule: indices reflected symmetrically (``[1..n, n..1]`` periodic)."""
    period = 2 * n
    m = np.mod(idx, period)
    return np.where(m < n, m, period - 1 - m)


@lru_cache(maxsize=64)
def resize_matrix(n_in: int, n_out: int, antialias: bool = True) -> np.ndarray:
    """``(n_out, n_in)`` matrix of MATLAB ``imresize(..., 'bilinear')`` along one axis.

    Triangle kernel; when shrinking (and ``antialias``) the kernel is stretched by ``1/scale`` as MATLAB does by
    default; boundary samples are mirrored like MATLAB's ``contributions``.
    """
    scale = n_out / n_in
    stretch = antialias and scale < 1
    width = 2.0 / scale if stretch else 2.0
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    p = int(math.ceil(width)) + 2
    ind = left[:, None] + np.arange(p)[None, :]  # 1-based
    d = u[:, None] - ind
    if stretch:
        w = scale * np.maximum(1 - np.abs(scale * d), 0)
    else:
        w = np.maximum(1 - np.abs(d), 0)
    w = w / w.sum(axis=1, keepdims=True)
    cols = _mirror_index(ind.astype(np.int64) - 1, n_in)
    out = np.zeros((n_out, n_in))
    np.add.at(out, (np.repeat(np.arange(n_out), p), cols.ravel()), w.ravel())
    return out


class Backend:
    """Operations on ``(..., H, W)`` arrays used by the metric kernels."""

    name = "?"


class NumpyBackend(Backend):
    name = "numpy"

    def asarray(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def const(self, value: Any, like: np.ndarray) -> np.ndarray:
        return np.asarray(value, dtype=like.dtype)

    def to_float(self, x: Any) -> float:
        return float(x)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    clip = staticmethod(np.clip)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    where = staticmethod(np.where)
    sqrt = staticmethod(np.sqrt)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log10 = staticmethod(np.log10)
    abs = staticmethod(np.abs)
    real = staticmethod(np.real)
    imag = staticmethod(np.imag)
    isfinite = staticmethod(np.isfinite)
    stack = staticmethod(lambda xs, axis=0: np.stack(xs, axis=axis))

    def mean(self, x, axis=None):
        return np.mean(x, axis=axis)

    def sum(self, x, axis=None):
        return np.sum(x, axis=axis)

    def amax(self, x, axis=None):
        return np.max(x, axis=axis)

    def amin(self, x, axis=None):
        return np.min(x, axis=axis)

    def median(self, x, axis=None):
        return np.median(x, axis=axis)

    def fft2(self, x):
        return np.fft.fft2(x)

    def ifft2(self, x):
        return np.fft.ifft2(x)

    def matmul(self, a, b):
        return np.matmul(a, b)

    def from_numpy(self, a: np.ndarray, like: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=like.dtype)

    @staticmethod
    def _planes(x: np.ndarray, fn) -> np.ndarray:
        """Apply a 2-D function to every ``(H, W)`` plane of ``(..., H, W)``."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim == 2:
            return fn(x)
        flat = x.reshape((-1,) + x.shape[-2:])
        return np.stack([fn(p) for p in flat]).reshape(x.shape[:-2] + flat.shape[-2:])

    def filter_sep(self, x: np.ndarray, taps: np.ndarray, mode: str = "replicate") -> np.ndarray:
        """Separable correlation over the last two axes with the same 1-D taps; output the size of ``x``.

        ``mode``: ``"replicate"`` (MATLAB ``'replicate'``) or ``"zeros"`` (MATLAB ``conv2(..., 'same')``).
        For an even number of taps the extra tap falls *after* the centre (MATLAB ``imfilter`` convention).
        """
        import cv2

        k = np.asarray(taps, dtype=np.float64)
        anchor = ((len(k) - 1) // 2, (len(k) - 1) // 2)
        border = cv2.BORDER_REPLICATE if mode == "replicate" else cv2.BORDER_CONSTANT
        return self._planes(x, lambda p: cv2.sepFilter2D(p, cv2.CV_64F, k, k, anchor=anchor, borderType=border))

    def filter2d(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """2-D correlation with zero padding, 'same' size, centre at ``(k-1)//2`` (MATLAB ``conv2`` of the
        flipped kernel; pass the flipped kernel for a true convolution)."""
        import cv2

        k = np.asarray(kernel, dtype=np.float64)
        anchor = ((k.shape[1] - 1) // 2, (k.shape[0] - 1) // 2)
        return self._planes(
            x, lambda p: cv2.filter2D(p, cv2.CV_64F, k, anchor=anchor, borderType=cv2.BORDER_CONSTANT)
        )


class TorchBackend(Backend):
    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    def asarray(self, x: Any):
        t = x
        if not t.is_floating_point():
            t = t.to(self.torch.get_default_dtype())
        return t

    def const(self, value: Any, like):
        return self.torch.as_tensor(value, dtype=like.dtype, device=like.device)

    def to_float(self, x: Any) -> float:
        return float(x.detach().cpu())

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def clip(self, x, lo, hi):
        return self.torch.clamp(x, lo, hi)

    def maximum(self, a, b):
        t = self.torch
        if not isinstance(b, t.Tensor):
            return t.clamp(a, min=b)
        if not isinstance(a, t.Tensor):
            return t.clamp(b, min=a)
        return t.maximum(a, b)

    def minimum(self, a, b):
        t = self.torch
        if not isinstance(b, t.Tensor):
            return t.clamp(a, max=b)
        return t.minimum(a, b)

    def where(self, c, a, b):
        t = self.torch
        ref = a if isinstance(a, t.Tensor) else b
        if not isinstance(a, t.Tensor):
            a = t.as_tensor(a, dtype=ref.dtype, device=ref.device)
        if not isinstance(b, t.Tensor):
            b = t.as_tensor(b, dtype=ref.dtype, device=ref.device)
        return t.where(c, a, b)

    def sqrt(self, x):
        return self.torch.sqrt(x)

    def exp(self, x):
        return self.torch.exp(x)

    def log(self, x):
        return self.torch.log(x)

    def log10(self, x):
        return self.torch.log10(x)

    def abs(self, x):
        return self.torch.abs(x)

    def real(self, x):
        return x.real

    def imag(self, x):
        return x.imag

    def isfinite(self, x):
        return self.torch.isfinite(x)

    def stack(self, xs, axis=0):
        return self.torch.stack(list(xs), dim=axis)

    @staticmethod
    def _dims(axis):
        return axis if axis is None or isinstance(axis, int) else tuple(axis)

    def mean(self, x, axis=None):
        return x.mean() if axis is None else x.mean(dim=self._dims(axis))

    def sum(self, x, axis=None):
        return x.sum() if axis is None else x.sum(dim=self._dims(axis))

    def amax(self, x, axis=None):
        return x.max() if axis is None else x.amax(dim=self._dims(axis))

    def amin(self, x, axis=None):
        return x.min() if axis is None else x.amin(dim=self._dims(axis))

    def median(self, x, axis=None):
        # numpy's median averages the two middle values; torch's returns the lower one.  Match numpy.
        t = self.torch
        if axis is None:
            x = x.reshape(-1)
            axis = 0
        s, _ = t.sort(x, dim=axis)
        n = s.shape[axis]
        lo = s.narrow(axis, (n - 1) // 2, 1)
        hi = s.narrow(axis, n // 2, 1)
        return ((lo + hi) / 2).squeeze(axis)

    def fft2(self, x):
        return self.torch.fft.fft2(x)

    def ifft2(self, x):
        return self.torch.fft.ifft2(x)

    def matmul(self, a, b):
        return self.torch.matmul(a, b)

    def from_numpy(self, a: np.ndarray, like):
        dtype = like.dtype
        if self.torch.is_complex(like):
            dtype = self.torch.complex128 if like.dtype == self.torch.complex128 else self.torch.complex64
        return self.torch.as_tensor(np.asarray(a), dtype=dtype, device=like.device)

    def _conv(self, x, kernel2d, pad, mode):
        t = self.torch
        import torch.nn.functional as F

        shape = x.shape
        x4 = x.reshape(-1, 1, shape[-2], shape[-1])
        x4 = F.pad(x4, pad, mode=mode) if mode == "replicate" else F.pad(x4, pad, mode="constant", value=0.0)
        k = t.as_tensor(kernel2d, dtype=x.dtype, device=x.device)[None, None]
        y = F.conv2d(x4, k)
        return y.reshape(shape[:-2] + y.shape[-2:])

    def filter_sep(self, x, taps: np.ndarray, mode: str = "replicate"):
        n = len(taps)
        before = (n - 1) // 2
        after = n - 1 - before
        if n % 2 == 0:  # MATLAB imfilter: the centre of an even kernel is at index n/2 - 1 (0-based)
            before, after = n // 2 - 1, n // 2
        pmode = "replicate" if mode == "replicate" else "constant"
        y = self._conv(x, np.asarray(taps)[None, :], (before, after, 0, 0), pmode)
        return self._conv(y, np.asarray(taps)[:, None], (0, 0, before, after), pmode)

    def filter2d(self, x, kernel: np.ndarray):
        k = np.asarray(kernel)
        pads = []
        for s in (k.shape[1], k.shape[0]):
            before = (s - 1) // 2 if s % 2 else s // 2 - 1
            pads += [before, s - 1 - before]
        return self._conv(x, k, tuple(pads), "constant")


_NUMPY = NumpyBackend()
_TORCH: TorchBackend | None = None


def backend_of(*xs: Any) -> Backend:
    """The torch backend if any input is a tensor, else numpy."""
    global _TORCH
    if any(is_torch(x) for x in xs):
        if _TORCH is None:
            _TORCH = TorchBackend()
        return _TORCH
    return _NUMPY


def prepare_pair(ref: Any, test: Any, *, channels: int | None = 3, names=("reference", "test")):
    """Validate two images of the same shape ``(..., H, W[, C])`` and return ``(backend, ref, test)``.

    numpy inputs become float64 numpy arrays; torch inputs keep dtype/device (a numpy partner is moved to the
    tensor's device).  Raises :class:`~hdrkit.errors.InputError` on a shape mismatch, a wrong channel count or
    a non-numeric input.
    """
    xp = backend_of(ref, test)
    out = []
    for x, name in zip((ref, test), names):
        if xp.name == "torch":
            torch = xp.torch
            if not isinstance(x, torch.Tensor):
                try:
                    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
                except (TypeError, ValueError):
                    raise InputError(f"{name} image is not a numeric array") from None
            x = xp.asarray(x)
        else:
            try:
                x = xp.asarray(x)
            except (TypeError, ValueError):
                raise InputError(f"{name} image is not a numeric array") from None
        out.append(x)
    a, b = out
    if xp.name == "torch" and (a.device != b.device or a.dtype != b.dtype):
        dtype = a.dtype if a.dtype == b.dtype else xp.torch.promote_types(a.dtype, b.dtype)
        dev = a.device if a.device.type != "cpu" else b.device
        a, b = a.to(dev, dtype), b.to(dev, dtype)
    if tuple(a.shape) != tuple(b.shape):
        raise InputError(
            f"{names[0]} and {names[1]} differ in size: {tuple(a.shape)} vs {tuple(b.shape)}"
        )
    if channels is not None and (a.ndim < 3 or a.shape[-1] != channels):
        raise InputError(f"expected images of shape (..., H, W, {channels}), got {tuple(a.shape)}")
    if channels is None and a.ndim < 2:
        raise InputError(f"expected images of shape (..., H, W), got {tuple(a.shape)}")
    return xp, a, b
