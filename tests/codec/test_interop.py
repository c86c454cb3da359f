"""Gain-map JPEGs read the same by hdrkit and by other software (issue 12).

References: Google's libultrahdr through ``imagecodecs.ultrahdr_encode/ultrahdr_decode`` (linear, 1.0 = 203
nits, in the file's HDR gamut), LittleCMS through Pillow's ImageCms, and files written by Apple / libultrahdr
in ``../shared/data/interop``.  Agreement is measured in 10-bit PQ code values of BT.2020 nits.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hdrkit import color
from hdrkit.codec import ultrahdr as U
from hdrkit.errors import MetadataError

from _gm_synth import _pair

imagecodecs = pytest.importorskip("imagecodecs")  # a core dependency: missing only in a broken install


def _pq10(nits):
    return np.round(color.pq_inverse_eotf(np.clip(nits, 0, 10000)) * 1023)


def _agreement(a, b):
    d = np.abs(_pq10(a) - _pq10(b))
    return float(d.mean()), float(np.percentile(d, 99))


def _libultrahdr(data: bytes, primaries: str) -> np.ndarray:
    lin = imagecodecs.ultrahdr_decode(data, dtype=np.float16)[..., :3].astype(np.float32) * 203.0
    return np.asarray(color.convert_primaries(lin, primaries, "bt2020"), np.float32)


def _natural_pair(h=128, w=192):
    """A smooth scene with soft highlights up to ~1,500 nits (SDR = a simple sRGB tone curve of it)."""
    sdr, hdr = _pair(h=h, w=w, seed=11)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    glow = 1 + 6 * np.exp(-((xx - w * 0.3) ** 2 + (yy - h * 0.6) ** 2) / (w * 3.0))
    return sdr, (hdr * glow[..., None]).astype(np.float32)


@pytest.mark.parametrize("base", ["bt709", "p3d65"])
@pytest.mark.parametrize("multichannel", [True, False])
def test_hdrkit_files_decode_the_same_in_libultrahdr(tmp_path, base, multichannel):
    sdr, hdr = _natural_pair()
    path = tmp_path / "ours.jpg"
    res = U.write_ultrahdr(path, sdr, hdr, scale=4, multichannel=multichannel, base_primaries=base)
    ours, f = U.decode_ultrahdr(path)
    assert f.base_primaries == base and f.metadata.use_base_colour_space
    mean, p99 = _agreement(ours, _libultrahdr(res.data, base))
    assert mean <= 2.0 and p99 <= 8.0, (mean, p99)


@pytest.mark.parametrize("gamut,primaries", [("BT_709", "bt709"), ("DISPLAY_P3", "p3d65"),
                                             ("BT_2100", "bt2020")])
def test_libultrahdr_files_decode_the_same_in_hdrkit(tmp_path, gamut, primaries):
    """libultrahdr API-0 (HDR in, it makes the SDR, a P3 base and the map): our decode = its decode."""
    _, hdr = _natural_pair()
    lin = np.asarray(color.convert_primaries(hdr, "bt2020", primaries), np.float32) / 203.0
    rgba = np.concatenate([lin, np.ones_like(lin[..., :1])], -1).astype(np.float16)
    data = imagecodecs.ultrahdr_encode(rgba, gamut=getattr(imagecodecs.ULTRAHDR.CG, gamut),
                                       transfer=imagecodecs.ULTRAHDR.CT.LINEAR)
    path = tmp_path / "theirs.jpg"
    path.write_bytes(data)
    ours, f = U.decode_ultrahdr(path)
    assert f.source == "iso" and f.base_icc is not None and f.base_icc.primaries is not None
    mean, p99 = _agreement(ours, _libultrahdr(data, primaries))
    assert mean <= 2.0 and p99 <= 8.0, (mean, p99)
    # the base is linearised with the sRGB EOTF: BT.1886 γ2.4 would be >15 % darker in the shadows
    assert mean < 1.0


def test_bt2020_map_gamut_is_signalled_with_an_icc_profile(tmp_path):
    """map_gamut="bt2020": ISO block says "not the base colour space" and the map carries a BT.2020 ICC
    profile (libultrahdr's own convention for the alternate image), so ISO readers agree on it too."""
    sdr, hdr = _pair(h=96, w=128, seed=2, wide=True)
    path = tmp_path / "wide.jpg"
    res = U.write_ultrahdr(path, sdr, hdr, scale=1, quality=100, map_quality=100, map_gamut="bt2020")
    ours, f = U.decode_ultrahdr(path)
    assert not f.metadata.use_base_colour_space and f.map_icc.primaries == "bt2020" and f.space == "bt2020"
    mean, p99 = _agreement(ours, _libultrahdr(res.data, "bt2020"))
    assert mean <= 2.0 and p99 <= 8.0, (mean, p99)


def test_base_icc_profile_agrees_with_littlecms():
    """The sRGB and Display P3 profiles we embed convert colours as LittleCMS does with them."""
    import io

    from PIL import Image, ImageCms

    from hdrkit.io import icc

    px = np.array([[[255, 0, 0], [0, 255, 0], [30, 60, 200], [128, 128, 128]]], np.uint8)
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc.make("bt709", "srgb")))
    dst = ImageCms.ImageCmsProfile(io.BytesIO(icc.make("p3d65", "srgb")))
    lcms = np.asarray(ImageCms.applyTransform(Image.fromarray(px), ImageCms.buildTransform(src, dst, "RGB", "RGB")))
    ours = color.srgb_inverse_eotf(color.convert_primaries(color.srgb_eotf(px / 255.0), "bt709", "p3d65")) * 255
    assert np.abs(lcms.astype(float) - ours).max() <= 1.0
    for prim in ("bt709", "p3d65", "bt2020"):
        for tr in ("srgb", "bt1886", "linear", "pq", "hlg"):
            info = icc.read(icc.make(prim, tr))
            assert (info.primaries, info.transfer) == (prim, tr)


# ------------------------------------------------------------------------------------- files from others
def test_apple_gainmap_files_decode(shared_data):
    """Apple HDRGainMap JPEGs (libultrahdr's test files; libultrahdr itself cannot read them): Display P3
    base, headroom from XMP (new) or the maker note (old), peak = SDR white x headroom where the map is 1."""
    from PIL import Image

    for name, headroom in (("new", 4.532783), ("old", None)):
        path = shared_data / "interop" / f"libultrahdr_apple_gainmap_{name}.jpg"
        with pytest.raises(RuntimeError):
            imagecodecs.ultrahdr_decode(path.read_bytes())
        out, f = U.decode_ultrahdr(path)
        assert f.source == "apple" and f.located_by == "mpf" and f.base_primaries == "p3d65"
        with Image.open(path) as im:
            assert out.shape == (im.height, im.width, 3)
        h = 2.0 ** f.metadata.max_log2[0]
        if headroom is not None:
            assert abs(h - headroom) < 1e-4
        else:
            assert 1.0 < h <= 8.0
        Y = color.luminance(out)
        assert np.isfinite(out).all() and Y.max() <= 203.0 * h * 1.01 and Y.max() > 203.0


def test_plain_jpeg_says_it_has_no_gain_map(shared_data, tmp_path):
    path = shared_data / "interop" / "libultrahdr_jpeg_image.jpg"
    with pytest.raises(MetadataError, match="no gain map"):
        U.parse_ultrahdr(path.read_bytes())
    r = subprocess.run([sys.executable, "-m", "hdrkit.cli.main", "decode", str(path), "-o", str(tmp_path / "o.png")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "gain map" in r.stderr
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("name", [pytest.param("pixel6pro_02.jpg", marks=pytest.mark.slow), "pixel6pro_05.jpg"])
def test_pixel_camera_files_decode_and_agree_with_libultrahdr(shared_data, name):
    """Pixel 6 Pro Ultra HDR JPEGs: MPF declares the primary ~300 bytes short of its EOI (we scan), XMP-only
    hdrgm metadata, Display P3 ICC; our decode agrees with libultrahdr's."""
    path = shared_data / "interop" / name
    if not path.exists():
        pytest.skip(f"{name} not in ../shared/data/interop")
    data = path.read_bytes()
    ours, f = U.decode_ultrahdr(path)
    assert f.source == "xmp" and f.base_primaries == "p3d65"
    assert f.mpf_primary_size is not None and f.mpf_primary_size < f.primary_size  # the short MPF size
    # compared on every other row and column (3.1 M of the 12.5 M pixels): the same statistics, 4x less work
    mean, p99 = _agreement(ours[::2, ::2], _libultrahdr(data, "p3d65")[::2, ::2])
    assert mean <= 2.0 and p99 <= 8.0, (mean, p99)


def test_hdrkit_info_reports_the_gain_map(shared_data):
    path = shared_data / "interop" / "libultrahdr_apple_gainmap_new.jpg"
    r = subprocess.run([sys.executable, "-m", "hdrkit.cli.main", "info", str(path)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if "gain map" in ln][0]
    assert "Apple HDRGainMap" in line and "headroom 4.53x" in line and "Display P3" in line
    plain = shared_data / "interop" / "libultrahdr_jpeg_image.jpg"
    r = subprocess.run([sys.executable, "-m", "hdrkit.cli.main", "info", str(plain)], capture_output=True,
                       text=True, timeout=120)
    assert "gain map   none" in r.stdout


# ------------------------------------------------------------------------------------------------------ XMP
_ELEMENT_FORM = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:g="http://ns.adobe.com/hdr-gain-map/1.0/">
 <g:Version>1.0</g:Version>
 <g:GainMapMin><rdf:Seq><rdf:li>0</rdf:li><rdf:li>0.25</rdf:li><rdf:li>0.5</rdf:li></rdf:Seq></g:GainMapMin>
 <g:GainMapMax>3.5</g:GainMapMax>
 <g:HDRCapacityMax>3.5</g:HDRCapacityMax>
 <g:BaseRenditionIsHDR>False</g:BaseRenditionIsHDR>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_xmp_element_form_and_any_prefix_are_read():
    """Legal XMP: properties as elements, arrays as rdf:Seq, a prefix other than 'hdrgm' for the namespace."""
    m = U.xmp_decode(_ELEMENT_FORM, channels=3)
    assert m.min_log2 == (0.0, 0.25, 0.5) and m.max_log2 == (3.5,) * 3 and m.capacity_max == 3.5
    assert m.offset_sdr == (1 / 64,) * 3  # spec default
    attr = _ELEMENT_FORM.replace(b"<g:GainMapMax>3.5</g:GainMapMax>", b"").replace(
        b'rdf:about=""', b'rdf:about="" g:GainMapMax="3.5"')
    assert U.xmp_decode(attr, channels=3).max_log2 == (3.5,) * 3


def test_xmp_entities_are_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' \
        + _ELEMENT_FORM.replace(b">1.0<", b">&b;<")
    with pytest.raises(MetadataError, match="document type"):
        U.xmp_decode(bomb)
    with pytest.raises(MetadataError, match="not well-formed"):
        U.xmp_decode(b"<x:xmpmeta><unclosed>")
