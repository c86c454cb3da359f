"""(SDR, HDR) training-pair synthesis.

- :func:`make_pair` — one pair (SDR BT.709 γ2.4 code values, HDR PQ BT.2020 code values) from an HDR master and a
  tone-mapping operator; :func:`synthesize_pairs` writes folders of PNG pairs (``hdrkit pairs``).
- Augmentations with ``make_params(rng)`` / ``apply(x, params)``: :class:`RandomView` (perspective views of
  equirectangular panoramas), :class:`RandomCrop`, :class:`RandomFlip`, :class:`ExposureShift`,
  :class:`RandomTMO`, :class:`VirtualCamera` (Eilertsen et al. 2017), :class:`ProceduralScene`.
- :class:`PairDataset` — a deterministic ``torch.utils.data.Dataset`` of pairs or pixel batches.
"""

from hdrkit.data.augment import (
    DEFAULT_TMOS,
    CropParams,
    ExposureParams,
    ExposureShift,
    FlipParams,
    RandomCrop,
    RandomFlip,
    RandomTMO,
    RandomView,
    TMOParams,
    ViewParams,
    apply_tmo,
)
from hdrkit.data.camera import CameraParams, VirtualCamera, crf_eilertsen2017, exposure_time, virtual_camera
from hdrkit.data.pairs import (
    PairsResult,
    is_panorama,
    list_hdr_files,
    load_hdr_nits,
    make_pair,
    pair_name,
    quantize_pq,
    quantize_sdr,
    synthesize_pairs,
    write_pair,
)
from hdrkit.data.panorama import (
    directions_to_equirect,
    equirect_to_directions,
    focal_length,
    perspective_view,
    rotation_matrix,
    view_directions,
)
from hdrkit.data.procedural import ProceduralScene, SceneParams, procedural_scene

__all__ = [
    "DEFAULT_TMOS", "CropParams", "ExposureParams", "ExposureShift", "FlipParams", "RandomCrop", "RandomFlip",
    "RandomTMO", "RandomView", "TMOParams", "ViewParams", "apply_tmo", "CameraParams", "VirtualCamera", "exposure_time",
    "crf_eilertsen2017", "virtual_camera", "PairDataset", "SampleParams", "PairsResult", "is_panorama",
    "list_hdr_files", "load_hdr_nits", "make_pair", "pair_name", "quantize_pq", "quantize_sdr",
    "synthesize_pairs", "write_pair", "directions_to_equirect", "equirect_to_directions", "focal_length",
    "perspective_view", "rotation_matrix", "view_directions", "ProceduralScene", "SceneParams",
    "procedural_scene",
]


def __getattr__(name: str):
    """``PairDataset`` / ``SampleParams`` on first use: they import torch, which `hdrkit pairs` never needs."""
    if name in ("PairDataset", "SampleParams"):
        from hdrkit.data import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'hdrkit.data' has no attribute {name!r}")
