"""(SDR, HDR) training pairs: one pair from an HDR master, and whole folders of pairs written to disk.

Pair format (the training format of the neural codec, MLP-iTM / HDRTV4K convention):

- ``sdr``: float32 ``H×W×3`` BT.709 BT.1886 (γ 2.4) code values in [0, 1] — 8-bit code / 255 when quantised;
- ``hdr``: float32 ``H×W×3`` PQ BT.2020 code values in [0, 1] — 16-bit code / 65535 when quantised.

On disk (:func:`synthesize_pairs`, ``hdrkit pairs``): ``<name>_hdr.png`` (16-bit PQ BT.2020 with a cICP chunk)
and ``<name>_sdr.png`` (8-bit BT.709), where ``<name>`` is

- ``<stem>`` with ``views=0`` and one operator (e.g. ``forest_hdr.png`` / ``forest_sdr.png``);
- ``<stem>_<tmo>`` with ``views=0`` and several operators (``forest_youtube_hdr.png``, ``forest_bt2446a_sdr.png``);
- ``<stem>_v<k>`` / ``<stem>_v<k>_<tmo>`` for view ``k`` (three digits, from 000) with ``views=N``.

Reading both files back gives exactly the arrays :func:`make_pair` returns with ``quantize=True``.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from hdrkit import color
from hdrkit.errors import HdrkitError, InputError
from hdrkit.progress import ProgressFn, report

#: File extensions :func:`list_hdr_files` considers.
HDR_EXTENSIONS = (".exr", ".hdr", ".pfm", ".png", ".tif", ".tiff")


def quantize_sdr(sdr: np.ndarray) -> np.ndarray:
    """Round SDR code values to 8 bits: ``round(v · 255) / 255`` (float32)."""
    return (np.round(np.clip(sdr, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def quantize_pq(pq: np.ndarray) -> np.ndarray:
    """Round PQ code values to 16 bits: ``round(v · 65535) / 65535`` (float32)."""
    return (np.round(np.clip(pq, 0.0, 1.0) * 65535.0) / 65535.0).astype(np.float32)


def make_pair(hdr_nits: Any, tmo: str = "youtube", tmo_params: Optional[dict] = None, quantize: bool = True
              ) -> tuple[np.ndarray, np.ndarray]:
    """One (SDR, HDR) pair from an HDR master.

    Parameters
    ----------
    hdr_nits : float ``H×W×3`` absolute linear BT.2020 cd/m² (a display-referred master, e.g. from
        :func:`hdrkit.tonemap.master_hdr10`).  Negatives clamp to 0; NaN/Inf → InputError.
    tmo : a :func:`hdrkit.tonemap.tonemap` method, or ``"eilertsen2017"`` (the virtual camera).
    tmo_params : keyword parameters of the operator.
    quantize : round SDR to 8 bits and HDR to 16 bits, as the PNG files hold them.

    Returns
    -------
    ``(sdr, hdr)``: float32 ``H×W×3`` BT.709 γ2.4 code values and PQ BT.2020 code values, both in [0, 1].
    """
    from hdrkit.data.augment import apply_tmo
    from hdrkit.tonemap import check_hdr

    x = check_hdr(hdr_nits)
    sdr = apply_tmo(x, tmo, tmo_params)
    hdr = np.asarray(color.pq_inverse_eotf(np.minimum(x.astype(np.float64), 10000.0)), dtype=np.float32)
    if quantize:
        return quantize_sdr(sdr), quantize_pq(hdr)
    return sdr.astype(np.float32), hdr


def list_hdr_files(folder: str | os.PathLike) -> list[Path]:
    """Image files in ``folder`` (not recursive) with an HDR-capable extension, sorted by name."""
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d} is not a folder")
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in HDR_EXTENSIONS
                  and not p.name.startswith("."))


def load_hdr_nits(path: str | os.PathLike) -> np.ndarray:
    """Read an HDR file (EXR/HDR/PFM/16-bit PQ PNG or TIFF) as absolute linear BT.2020 cd/m² (float32 H×W×3).

    SDR files (8-bit, sRGB/BT.1886) raise :class:`InputError`; non-finite pixels raise :class:`InputError`.
    """
    from hdrkit.io import read_image

    img = read_image(path)
    if not img.is_hdr:
        raise InputError(f"{Path(path).name} is an SDR image ({img.encoding()}), not HDR")
    nits = color.to_nits(img, "bt2020")
    if not np.isfinite(nits).all():
        raise InputError(f"{Path(path).name} has NaN or Inf pixels")
    return nits


def is_panorama(shape: Sequence[int]) -> bool:
    """True for an equirectangular layout (width = 2 × height, ±1 pixel)."""
    return abs(int(shape[1]) - 2 * int(shape[0])) <= 1


def pair_name(stem: str, tmo: str, n_tmos: int, view: Optional[int]) -> str:
    """The ``<name>`` of a pair's files (see the module docstring)."""
    name = stem if view is None else f"{stem}_v{view:03d}"
    return name if n_tmos == 1 else f"{name}_{tmo}"


def write_pair(out_dir: str | os.PathLike, name: str, sdr: np.ndarray, hdr_pq: np.ndarray,
               png_compression: int = 1) -> tuple[Path, Path]:
    """Write ``<name>_sdr.png`` (8-bit BT.709) and ``<name>_hdr.png`` (16-bit PQ BT.2020), each atomically.

    zlib level 1 by default: ~2.5× faster than level 6 for files 2–20 % larger (bulk training data)."""
    from hdrkit.io import Image, write_image

    out = Path(out_dir)
    sdr_path, hdr_path = out / f"{name}_sdr.png", out / f"{name}_hdr.png"
    write_image(hdr_path, Image(hdr_pq, primaries="bt2020", transfer="pq"), bit_depth=16,
                png_compression=png_compression)
    write_image(sdr_path, Image(sdr, primaries="bt709", transfer="bt1886"), bit_depth=8,
                png_compression=png_compression)
    return sdr_path, hdr_path


@dataclass
class PairsResult:
    """What :func:`synthesize_pairs` did: the written (sdr, hdr) paths, and the per-pair parameters logged."""

    pairs: list[tuple[Path, Path]]
    log: list[dict]
    skipped: list[tuple[str, str]]


def synthesize_pairs(inputs: str | os.PathLike | Iterable[str | os.PathLike], out_dir: str | os.PathLike,
                     tmos: Sequence[str] = ("youtube",), views: int = 0, size: Any = 512, seed: int = 0,
                     peak: float = 1000.0, mid: Optional[float] = None, fov: tuple[float, float] = (50.0, 100.0),
                     pitch: tuple[float, float] = (-30.0, 30.0), roll: tuple[float, float] = (-10.0, 10.0),
                     resize: Optional[tuple[int, int]] = None, progress: Optional[ProgressFn] = None) -> PairsResult:
    """Turn HDR files into (SDR, HDR) PNG pairs.

    Parameters
    ----------
    inputs : a folder (its HDR files, see :func:`list_hdr_files`) or a list of files.
    out_dir : existing output folder.
    tmos : operators (:func:`hdrkit.tonemap.tonemap` methods with their default parameters, or
        ``"eilertsen2017"``); one pair per operator per image or view.
    views : 0 → each image whole, only mastered; N → N random perspective views per panorama (yaw ~ U(−180,
        180), ``pitch``, ``roll``, horizontal ``fov`` ranges in degrees) of ``size`` (int or (h, w)).  Inputs that
        are not 2:1 panoramas get N random ``size`` crops instead (resized up first if smaller).
    seed : the view draws come from ``np.random.default_rng([seed, crc32(file stem), view index])``, so a file's
        views do not change when other files are added to the folder.
    peak, mid : mastering (:func:`hdrkit.tonemap.master_hdr10`) peak cd/m² and log-average cd/m² (``None`` →
        its default, 26).
    resize : ``(width, height)``: with ``views=0``, each image is first resized to that size in linear light
        (area filter: ``cv2.INTER_AREA``), e.g. to compare two data splits at equal picture size.
    progress : ``progress(done, total, description)``.

    A file that cannot be read (or is SDR) is skipped and listed in ``skipped``; if none is usable the call
    raises :class:`InputError`.  A ``pairs.jsonl`` log with every pair's parameters is written to ``out_dir``.
    """
    from hdrkit.data.augment import RandomCrop, RandomView
    from hdrkit.io import atomic_write_bytes
    from hdrkit.tonemap import BT2408_GREY_NITS, get_operator, master_hdr10

    out = Path(out_dir)
    if not out.is_dir():
        raise InputError(f"output folder {out} does not exist")
    if isinstance(inputs, (str, os.PathLike)) and Path(inputs).is_dir():
        files = list_hdr_files(inputs)
    elif isinstance(inputs, (str, os.PathLike)):
        files = [Path(inputs)]
    else:
        files = [Path(p) for p in inputs]
    if not files:
        raise InputError("no HDR files (.exr, .hdr, .pfm, .png, .tif) to make pairs from")
    tmos = [t.strip().lower() for t in tmos if t.strip()]
    if not tmos:
        raise InputError("give at least one tone mapping operator")
    for t in tmos:
        get_operator(t).bind({})  # a known operator that runs without parameters ('lut' needs a file)
    if len(set(tmos)) != len(tmos):
        raise InputError("each operator may be given once")
    if "ocio" in tmos:
        from hdrkit.data.augment import ocio_available

        if not ocio_available():
            raise InputError("operator 'ocio' needs OpenColorIO: pip install 'hdrkit[ocio]'")
    views = int(views)
    if views < 0:
        raise InputError(f"views must be ≥ 0, got {views}")
    if resize is not None:
        resize = (int(resize[0]), int(resize[1]))
        if views:
            raise InputError("resize applies to whole images (views=0); views have their own size")
        if not all(1 <= v <= 16384 for v in resize):
            raise InputError(f"resize must be WIDTHxHEIGHT between 1 and 16384, got {resize[0]}x{resize[1]}")
    mid = BT2408_GREY_NITS if mid is None else mid
    view_gen = RandomView(size, pitch=pitch, roll=roll, fov=fov) if views else None
    crop_gen = RandomCrop(size) if views else None
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        raise InputError("two input files share a name stem; their pairs would overwrite each other")

    total = len(files) * max(views, 1) * len(tmos)
    done = 0
    result = PairsResult([], [], [])
    report(progress, 0, total, "pairs")
    for fi, path in enumerate(files):
        try:
            nits = load_hdr_nits(path)
        except HdrkitError as exc:
            result.skipped.append((path.name, str(exc)))
            done += max(views, 1) * len(tmos)
            report(progress, done, total, f"skipped {path.name}")
            continue
        jobs: list[tuple[Optional[int], np.ndarray, dict]] = []
        if views == 0 and resize is not None:
            import cv2

            jobs.append((None, cv2.resize(nits, resize, interpolation=cv2.INTER_AREA),
                         {"resize": [resize[0], resize[1]], "source_size": [nits.shape[1], nits.shape[0]]}))
        elif views == 0:
            jobs.append((None, nits, {}))
        else:
            for k in range(views):
                rng = np.random.default_rng([int(seed), zlib.crc32(path.stem.encode()), k])
                if is_panorama(nits.shape):
                    vp = view_gen.make_params(rng)
                    jobs.append((k, view_gen.apply(nits, vp), {"view": vp.as_dict()}))
                else:
                    src = _ensure_min_size(nits, crop_gen.size)
                    cp = crop_gen.make_params(rng)
                    jobs.append((k, crop_gen.apply(src, cp), {"crop": cp.as_dict()}))
        for view, scene, info in jobs:
            master = master_hdr10(scene, peak=peak, mid=mid)
            for t in tmos:
                sdr, hdr = make_pair(master, t)
                name = pair_name(path.stem, t, len(tmos), view)
                result.pairs.append(write_pair(out, name, sdr, hdr))
                result.log.append({"name": name, "source": path.name, "tmo": t, "peak": peak, "mid": mid, **info})
                done += 1
                report(progress, done, total, name)
    if not result.pairs:
        reasons = "; ".join(f"{n}: {r}" for n, r in result.skipped[:3])
        raise InputError(f"no usable HDR input ({reasons})")
    log_text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in result.log)
    atomic_write_bytes(out / "pairs.jsonl", log_text.encode())
    return result


def _ensure_min_size(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = size
    H, W = x.shape[:2]
    if H >= h and W >= w:
        return x
    s = max(h / H, w / W)
    return cv2.resize(x, (max(w, int(np.ceil(W * s))), max(h, int(np.ceil(H * s)))), interpolation=cv2.INTER_LINEAR)
