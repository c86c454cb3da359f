"""describe_file: the PNG fast path (header chunks only) says what a full read says."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.io import Image, write_image
from hdrkit.io.read import describe_file, read_image


def _full(path):
    img = read_image(path)
    return f"{img.width}×{img.height} PNG {img.meta['bit_depth']}-bit, {img.encoding()}"


@pytest.mark.parametrize("img,bits", [
    (Image(np.full((5, 7, 3), 0.25, np.float32), primaries="bt2020", transfer="pq"), 16),
    (Image(np.full((5, 7, 3), 0.25, np.float32), primaries="bt709", transfer="bt1886"), 8),
    (Image(np.full((5, 7, 3), 0.25, np.float32), primaries="p3d65", transfer="srgb"), 16),
    (Image(np.full((5, 7, 3), 0.25, np.float32), primaries="bt2020", transfer="hlg"), 16),
])
def test_png_description_from_header_equals_full_read(tmp_path, img, bits):
    p = tmp_path / "a.png"
    write_image(p, img, bit_depth=bits)
    assert describe_file(p) == _full(p)


def test_png_without_cicp(tmp_path):
    import cv2

    for arr in (np.zeros((4, 6, 3), np.uint8), np.zeros((4, 6, 3), np.uint16), np.zeros((4, 6), np.uint8)):
        p = tmp_path / f"plain{arr.dtype}{arr.ndim}.png"
        cv2.imwrite(str(p), arr)
        assert describe_file(p) == _full(p)
