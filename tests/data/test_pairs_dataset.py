"""Pair synthesis (in memory and on disk, with the CLI) and the deterministic torch Dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hdrkit import color
from hdrkit.cli.main import main
from hdrkit.data import PairDataset, make_pair, synthesize_pairs
from hdrkit.errors import InputError
from hdrkit.io import Image, read_image, write_image
from hdrkit.tonemap import master_hdr10


def _scene(h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.lognormal(0.0, 1.5, (h, w, 1)) * np.array([1.0, 0.9, 0.7])
    base[h // 4, w // 3] = [5e4, 5e4, 4e4]
    return base.astype(np.float32)


@pytest.fixture()
def hdr_dir(tmp_path):
    d = tmp_path / "hdr"
    d.mkdir()
    write_image(d / "pano.exr", Image(_scene(32, 64, 1), primaries="bt2020", transfer="linear", nits_per_unit=100))
    write_image(d / "flat.exr", Image(_scene(40, 48, 2), primaries="bt2020", transfer="linear", nits_per_unit=100))
    write_image(d / "photo.png", Image(np.full((8, 8, 3), 0.5, np.float32), primaries="bt709", transfer="bt1886"))
    return d


def test_make_pair_format():
    nits = master_hdr10(_scene(20, 30))
    sdr, hdr = make_pair(nits, "youtube")
    assert sdr.dtype == hdr.dtype == np.float32 and sdr.shape == hdr.shape == nits.shape
    np.testing.assert_allclose(sdr * 255, np.round(sdr * 255), atol=1e-3)
    np.testing.assert_allclose(hdr * 65535, np.round(hdr * 65535), atol=1e-2)
    # HDR is the PQ encoding of the master (to 16-bit precision)
    np.testing.assert_allclose(hdr, color.pq_inverse_eotf(nits.astype(np.float64)), atol=0.5 / 65535 + 1e-7)
    raw_sdr, raw_hdr = make_pair(nits, "bt2446a", {"l_hdr": 1000.0}, quantize=False)
    assert np.abs(raw_sdr - make_pair(nits, "bt2446a")[0]).max() <= 0.5 / 255 + 1e-6
    cam_sdr, _ = make_pair(nits, "eilertsen2017", {"n": 1.0, "sigma": 0.5})
    assert 0 <= cam_sdr.min() and cam_sdr.max() <= 1
    with pytest.raises(InputError):
        make_pair(nits, "eilertsen2017", {"bogus": 1})


def test_synthesize_pairs_whole_images_round_trip(hdr_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    res = synthesize_pairs(hdr_dir, out, tmos=("youtube",), views=0)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["flat_hdr.png", "flat_sdr.png", "pairs.jsonl", "pano_hdr.png", "pano_sdr.png"]
    assert [s[0] for s in res.skipped] == ["photo.png"]
    # the files hold exactly what make_pair returns
    nits = color.to_nits(read_image(hdr_dir / "pano.exr"))
    sdr, hdr = make_pair(master_hdr10(nits), "youtube")
    sdr_img, hdr_img = read_image(out / "pano_sdr.png"), read_image(out / "pano_hdr.png")
    assert hdr_img.transfer == "pq" and hdr_img.primaries == "bt2020" and hdr_img.meta.get("bit_depth") == 16
    assert sdr_img.transfer == "bt1886" and sdr_img.primaries == "bt709" and sdr_img.meta.get("bit_depth") == 8
    np.testing.assert_allclose(sdr_img.pixels, sdr, atol=1e-6)
    np.testing.assert_allclose(hdr_img.pixels, hdr, atol=1e-6)
    log = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert {r["name"] for r in log} == {"pano", "flat"}


def test_synthesize_pairs_resize_whole_images(hdr_dir, tmp_path):
    """``resize``: the whole image resized in linear light with OpenCV's area filter, then mastered as usual."""
    import cv2

    out = tmp_path / "out"
    out.mkdir()
    synthesize_pairs([hdr_dir / "pano.exr"], out, tmos=("youtube",), views=0, resize=(8, 4))
    nits = color.to_nits(read_image(hdr_dir / "pano.exr"))
    small = cv2.resize(np.asarray(nits, np.float32), (8, 4), interpolation=cv2.INTER_AREA)
    sdr, hdr = make_pair(master_hdr10(small), "youtube")
    assert read_image(out / "pano_hdr.png").pixels.shape == (4, 8, 3)
    np.testing.assert_allclose(read_image(out / "pano_sdr.png").pixels, sdr, atol=1e-6)
    np.testing.assert_allclose(read_image(out / "pano_hdr.png").pixels, hdr, atol=1e-6)
    rec = json.loads((out / "pairs.jsonl").read_text())
    assert rec["resize"] == [8, 4] and rec["source_size"] == [nits.shape[1], nits.shape[0]]
    with pytest.raises(InputError):
        synthesize_pairs(hdr_dir, out, views=2, resize=(8, 4))
    with pytest.raises(InputError):
        synthesize_pairs(hdr_dir, out, resize=(4, 100000))


def test_synthesize_pairs_views_naming_and_determinism(hdr_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    synthesize_pairs(hdr_dir, a, tmos=("youtube", "bt2446a"), views=2, size=16, seed=7)
    synthesize_pairs(hdr_dir, b, tmos=("youtube", "bt2446a"), views=2, size=16, seed=7)
    names = sorted(p.name for p in a.iterdir() if p.suffix == ".png")
    assert len(names) == 2 * 2 * 2 * 2  # files × views × operators × (sdr, hdr)
    assert "pano_v000_youtube_sdr.png" in names and "flat_v001_bt2446a_hdr.png" in names
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes()
    log = [json.loads(line) for line in (a / "pairs.jsonl").read_text().splitlines()]
    assert all("view" in r for r in log if r["source"] == "pano.exr")
    assert all("crop" in r for r in log if r["source"] == "flat.exr")
    assert read_image(a / "pano_v000_youtube_sdr.png").pixels.shape == (16, 16, 3)
    # different views differ
    assert (a / "pano_v000_youtube_sdr.png").read_bytes() != (a / "pano_v001_youtube_sdr.png").read_bytes()
    # a file's views do not depend on the other files in the folder
    c = tmp_path / "c"
    c.mkdir()
    synthesize_pairs([hdr_dir / "pano.exr"], c, tmos=("youtube", "bt2446a"), views=2, size=16, seed=7)
    assert (c / "pano_v001_bt2446a_sdr.png").read_bytes() == (a / "pano_v001_bt2446a_sdr.png").read_bytes()


def test_synthesize_pairs_errors(hdr_dir, tmp_path):
    with pytest.raises(InputError):
        synthesize_pairs(hdr_dir, tmp_path / "missing")
    with pytest.raises(InputError):
        synthesize_pairs(hdr_dir, tmp_path, tmos=("lut",))
    with pytest.raises(InputError):
        synthesize_pairs(hdr_dir, tmp_path, tmos=("youtube", "youtube"))
    with pytest.raises(InputError):
        synthesize_pairs(hdr_dir, tmp_path, views=-1)
    only_sdr = tmp_path / "sdr"
    only_sdr.mkdir()
    write_image(only_sdr / "x.png", Image(np.zeros((4, 4, 3), np.float32)))
    out = tmp_path / "o"
    out.mkdir()
    with pytest.raises(InputError, match="no usable HDR"):
        synthesize_pairs(only_sdr, out)


def test_cli_pairs_tonemap_master(hdr_dir, tmp_path, capsys):
    out = tmp_path / "dev"
    assert main(["pairs", str(hdr_dir), "-o", str(out), "--tmo", "youtube", "--views", "0"]) == 0
    assert (out / "pano_hdr.png").exists() and (out / "flat_sdr.png").exists()
    assert main(["pairs", str(hdr_dir), "-o", str(tmp_path / "x"), "--tmo", "nope"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["pairs", str(hdr_dir), "-o", str(tmp_path / "no" / "such")]) == 0  # folders created as needed
    assert (tmp_path / "no" / "such" / "pano_sdr.png").is_file()
    assert main(["pairs", str(hdr_dir), "-o", str(out), "--tmo", "youtube", "--views", "0"]) == 2  # no -y
    assert "exists; pass -y" in capsys.readouterr().err
    sdr = tmp_path / "sdr.png"
    assert main(["tonemap", str(hdr_dir / "pano.exr"), "-o", str(sdr), "--master", "-m", "reinhard2002",
                 "-p", "local=bilateral", "-p", "key=0.2"]) == 0
    img = read_image(sdr)
    assert img.transfer == "bt1886" and img.pixels.shape == (32, 64, 3)
    assert main(["tonemap", str(hdr_dir / "pano.exr"), "-o", str(tmp_path / "l.png"), "-m", "lut"]) == 2
    assert main(["tonemap", str(hdr_dir / "pano.exr"), "-o", str(tmp_path / "b.png"), "-p", "bogus=1"]) == 2
    assert not (tmp_path / "b.png").exists() and not (tmp_path / "l.png").exists()
    assert main(["tonemap", str(hdr_dir / "pano.exr"), "-o", str(hdr_dir / "pano.exr")]) == 2
    m = tmp_path / "m.png"
    assert main(["master", str(hdr_dir / "pano.exr"), "-o", str(m), "--peak", "600"]) == 0
    mm = read_image(m)
    assert mm.transfer == "pq" and color.to_nits(mm).max() <= 600.5
    assert main(["master", str(hdr_dir / "pano.exr"), "-o", str(tmp_path / "m.exr"), "--absolute"]) == 0
    assert main(["master", str(hdr_dir / "missing.exr"), "-o", str(tmp_path / "z.png")]) == 2
    assert not (tmp_path / "z.png").exists()
    leftovers = [p.name for p in tmp_path.rglob(".*tmp*")]
    assert leftovers == []


def test_dataset_is_deterministic(hdr_dir):
    torch = pytest.importorskip("torch")
    ds = PairDataset(hdr_dir / "pano.exr", length=6, size=16, procedural=0.5, tmos=("youtube", "clip"), seed=3)
    ds2 = PairDataset(hdr_dir / "pano.exr", length=6, size=16, procedural=0.5, tmos=("youtube", "clip"), seed=3)
    for i in (0, 5, 2):
        a, b = ds[i], ds2[i]
        assert a["sdr"].shape == (3, 16, 16) and a["hdr"].dtype == torch.float32
        assert torch.equal(a["sdr"], b["sdr"]) and torch.equal(a["hdr"], b["hdr"])
        assert ds.params(i) == ds2.params(i)
        json.dumps(ds.params(i).as_dict())
    sources = {ds.params(i).source for i in range(6)}
    assert sources == {"pano.exr", "procedural"}
    assert not torch.equal(ds[0]["sdr"], ds[1]["sdr"])
    other = PairDataset(hdr_dir / "pano.exr", length=6, size=16, procedural=0.5, tmos=("youtube", "clip"), seed=4)
    assert not torch.equal(other[0]["hdr"], ds[0]["hdr"])
    px = PairDataset(None, length=2, size=24, pixels=50, seed=0)
    item = px[1]
    assert item["sdr"].shape == (50, 3) and item["xy"].shape == (50, 2)
    assert float(item["xy"].min()) >= 0 and float(item["xy"].max()) <= 1
    assert torch.equal(item["hdr"], px[1]["hdr"])
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=0)
    batch = next(iter(loader))
    assert batch["sdr"].shape == (3, 3, 16, 16)
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(InputError):
        PairDataset(hdr_dir / "missing.exr")


def test_pairs_refuse_ocio_up_front_when_missing(hdr_dir, tmp_path, monkeypatch):
    from hdrkit.data import augment

    monkeypatch.setattr(augment, "ocio_available", lambda: False)
    out = tmp_path / "o"
    out.mkdir()
    with pytest.raises(InputError, match="OpenColorIO"):
        synthesize_pairs(hdr_dir, out, tmos=("youtube", "ocio"))
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_dev_set_on_shared_panoramas(shared_data, tmp_path):
    """The codec's dev set: `hdrkit pairs ../shared/data/hdr -o DEV --tmo youtube --views 0`."""
    src = shared_data / "hdr"
    if not src.is_dir():
        pytest.skip("no shared HDR folder")
    out = tmp_path / "DEV"
    assert main(["pairs", str(src), "-o", str(out), "--tmo", "youtube", "--views", "0"]) == 0
    stems = sorted(p.stem for p in src.iterdir() if p.suffix.lower() in (".exr", ".hdr"))
    for s in stems:
        hdr, sdr = read_image(out / f"{s}_hdr.png"), read_image(out / f"{s}_sdr.png")
        src_img = read_image(next(src.glob(f"{s}.*")))
        assert hdr.pixels.shape == sdr.pixels.shape == src_img.pixels.shape
        nits = color.to_nits(hdr)
        assert nits.max() <= 1000.5 and nits.max() > 500  # mastered at 1000 nits with a roll-off


def test_dataset_colour_draws_last_and_tints_the_scene(hdr_dir):
    """``colour=0`` leaves every draw as before (no ``colour`` in the params); ``colour > 0`` keeps every other draw
    and tints the scene before mastering: the master is mastered from ``scene · g``."""
    from hdrkit.data import PairDataset

    kw = dict(length=4, size=16, procedural=0.0, tmos=("youtube", "clip"), seed=5)
    plain = PairDataset(hdr_dir / "pano.exr", **kw)
    tinted = PairDataset(hdr_dir / "pano.exr", colour=0.2, **kw)
    for i in range(4):
        a, b = plain.params(i), tinted.params(i)
        assert a.colour is None and b.colour is not None
        assert (a.source, a.geometry, a.flip, a.ev, a.tmo) == (b.source, b.geometry, b.flip, b.ev, b.tmo)
    s0, h0, _ = plain.pair(0)
    s1, h1, p1 = tinted.pair(0)
    assert not np.allclose(h0, h1)
    again = PairDataset(hdr_dir / "pano.exr", colour=0.2, **kw).pair(0)
    np.testing.assert_array_equal(again[1], h1)  # deterministic
