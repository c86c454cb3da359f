"""Inputs of the issue-14 speed checks (docs/CODEC.md): the training panorama `city` resized to 1280x800
(1 MP), 3840x2160 (4K) and 4000x3000 (12 MP) as linear BT.2020 EXR, and a plain JPEG without metadata.

    python scripts/codec_speed_inputs.py ../shared/data/hdr/city.exr /tmp/speed
"""

import sys
from pathlib import Path

import cv2
import numpy as np

from hdrkit.io import Image, read_image, write_image


def main(src: str, out: str) -> None:
    out_p = Path(out)
    out_p.mkdir(parents=True, exist_ok=True)
    im = read_image(src)
    for name, (w, h) in {"1mp": (1280, 800), "4k": (3840, 2160), "12mp": (4000, 3000)}.items():
        px = cv2.resize(im.pixels, (w, h), interpolation=cv2.INTER_LINEAR if w > im.pixels.shape[1] else cv2.INTER_AREA)
        write_image(out_p / f"city_{name}.exr", Image(px.astype(np.float32), primaries=im.primaries,
                                                      transfer=im.transfer, nits_per_unit=im.nits_per_unit))
    plain = np.clip(np.random.default_rng(0).random((2160, 3840, 3)) * 255, 0, 255).astype(np.uint8)
    cv2.imwrite(str(out_p / "plain.jpg"), plain, [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main(*sys.argv[1:])
