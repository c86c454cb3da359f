#!/usr/bin/env python
"""Agreement of hdrkit's gain-map decode with libultrahdr (imagecodecs), in 10-bit PQ codes of BT.2020 nits.

Run from the repository root with ../shared/data present: ``python scripts/interop_agreement.py``
(prints the Markdown table of docs/INTEROP.md)."""
import glob, os, sys, tempfile
import numpy as np, imagecodecs
from hdrkit import color
from hdrkit.codec import ultrahdr as U
from hdrkit.io import read_image
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests" / "codec"))
from test_interop import _natural_pair, _libultrahdr, _agreement

DATA = os.environ.get("HDRKIT_SHARED_DATA", str(__import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data"))
TMP = os.path.join(tempfile.mkdtemp(), "x.jpg")

def row(name, a, b):
    m, p = _agreement(a, b); print(f"| {name} | {m:.2f} | {p:.0f} |")

sdr, hdr = _natural_pair()
for base in ("bt709", "p3d65"):
    for mc in (True, False):
        r = U.encode_ultrahdr(sdr, hdr, scale=4, multichannel=mc, base_primaries=base)
        open(TMP, "wb").write(r.data)
        row(f"hdrkit-written, synthetic 192x128, base {base}, {'3' if mc else '1'}-channel map 1/4", U.decode_ultrahdr(TMP)[0], _libultrahdr(r.data, base))
for f in sorted(glob.glob(DATA + "/hdr/*.exr")):
    nits = color.to_nits(read_image(f)); nits = nits / np.median(color.luminance(nits)) * 40
    lin = color.convert_primaries(nits, "bt2020", "bt709") / 203
    s8 = np.round(color.srgb_inverse_eotf(np.clip(lin / (1 + lin / 4) * 1.25, 0, 1)) * 255).astype(np.uint8)
    r = U.encode_ultrahdr(s8, nits.astype(np.float32), scale=4)
    open(TMP, "wb").write(r.data)
    row(f"hdrkit-written, {f.split('/')[-1]} 1024x512, 3-channel map 1/4", U.decode_ultrahdr(TMP)[0], _libultrahdr(r.data, "bt709"))
for g, prim in (("BT_709", "bt709"), ("DISPLAY_P3", "p3d65"), ("BT_2100", "bt2020")):
    lin = np.asarray(color.convert_primaries(hdr, "bt2020", prim), np.float32) / 203.0
    data = imagecodecs.ultrahdr_encode(np.concatenate([lin, np.ones_like(lin[..., :1])], -1).astype(np.float16),
                                       gamut=getattr(imagecodecs.ULTRAHDR.CG, g), transfer=imagecodecs.ULTRAHDR.CT.LINEAR)
    open(TMP, "wb").write(data)
    row(f"libultrahdr-written (API-0, HDR in {prim})", U.decode_ultrahdr(TMP)[0], _libultrahdr(data, prim))
for n in ("02", "05"):
    p = f"{DATA}/interop/pixel6pro_{n}.jpg"
    row(f"Pixel 6 Pro camera file pixel6pro_{n}.jpg (4080x3072)", U.decode_ultrahdr(p)[0], _libultrahdr(open(p, "rb").read(), "p3d65"))
