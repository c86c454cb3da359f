"""More adaptation steps never worse?  Default `encode_arrays` at 200 and 800 steps, with the last weights
(``keep_best=False``, the behaviour before issue 14) and with the best weights (default), on the DEV pairs
halved to 512x256 (tuning data; never the unseen split).

    hdrkit pairs ../shared/data/hdr -o DEV --tmo youtube --views 0
    python scripts/codec_adapt_steps.py DEV old,best city,night,forest > steps.jsonl
"""

import json
import sys
from dataclasses import replace

import cv2
import numpy as np

from hdrkit import color
from hdrkit.baselines.quality import Pair, load_pairs
from hdrkit.codec.adapt import AdaptConfig
from hdrkit.codec.api import decode_arrays, encode_arrays
from hdrkit.metrics import evaluate

VARIANTS = {"old": dict(keep_best=False), "best": dict(), "best+hl200": dict(lr_halflife=200.0)}


def main(folder: str, variants: str, names: str = "") -> None:
    keep = set(names.split(",")) if names else None
    for p in load_pairs(folder, exclude=["preview_*"]):
        if keep and p.name not in keep:
            continue
        size = (p.sdr.shape[1] // 2, p.sdr.shape[0] // 2)
        p = Pair(p.name, cv2.resize(p.sdr, size, interpolation=cv2.INTER_AREA),
                 cv2.resize(p.hdr_nits, size, interpolation=cv2.INTER_AREA))
        for v in variants.split(","):
            for steps in (200, 800):
                res = encode_arrays(p.sdr, p.hdr_nits, adapt_cfg=replace(AdaptConfig(steps=steps), **VARIANTS[v]))
                nits = np.asarray(color.pq_eotf(decode_arrays(res.blob, p.sdr)), np.float32)
                m = evaluate(p.hdr_nits, nits, ["pu_psnr", "delta_itp"])
                print(json.dumps(dict(pair=p.name, variant=v, steps=steps, best_step=res.info.best_step, **m)),
                      flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
