"""Copy a `hdrkit pairs` folder with every SDR replaced by what a JPEG q90 carrier decodes to (Pillow, 4:4:4 as
`hdrkit encode --quality 90` writes it), so that `hdrkit bench quality` scores the JPEG-carrier case: the MLP
adapts on, and the gain map is computed against, the decoded SDR; the bytes counted are those the metadata adds.

    python scripts/codec_jpeg_carrier_pairs.py UNSEEN_YT UNSEEN_YT_J90 [quality]
"""

import io
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def main(src: str, dst: str, quality: str = "90") -> None:
    q = int(quality)
    src_p, dst_p = Path(src), Path(dst)
    dst_p.mkdir(exist_ok=True)
    for f in sorted(src_p.glob("*_hdr.png")):
        shutil.copy(f, dst_p / f.name)
    for f in sorted(src_p.glob("*_sdr.png")):
        buf = io.BytesIO()
        Image.fromarray(np.asarray(Image.open(f).convert("RGB"))).save(buf, "JPEG", quality=q,
                                                                      subsampling=0 if q >= 90 else 2)
        Image.open(io.BytesIO(buf.getvalue())).convert("RGB").save(dst_p / f.name)


if __name__ == "__main__":
    main(*sys.argv[1:])
