"""encode / decode / bench codec / demo from the command line: outputs, exit codes, untouched inputs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image as PILImage

from hdrkit import color
from hdrkit.cli.main import main
from hdrkit.codec.api import decode_arrays
from hdrkit.codec.adapters import read_blob
from hdrkit.io import Image, read_image, write_image


@pytest.fixture()
def hdr_file(tmp_path):
    yy, xx = np.mgrid[0:24, 0:32].astype(np.float32)
    nits = np.stack([5 + 40 * xx, 3 + 20 * yy, 10 + 0 * xx], -1)
    nits[3:6, 3:6] = 900.0
    p = tmp_path / "master.exr"
    write_image(p, Image(nits / 100.0, primaries="bt2020", transfer="linear", nits_per_unit=100.0))
    return p


def _digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif"])
def test_encode_then_decode(tmp_path, hdr_file, ext, capsys):
    before = _digest(hdr_file)
    out = tmp_path / f"photo{ext}"
    assert main(["encode", str(hdr_file), "-o", str(out), "--steps", "5", "--tmo", "bt2446a"]) == 0
    assert "bytes added to the SDR picture" in capsys.readouterr().out
    assert _digest(hdr_file) == before
    for hdr_ext in (".png", ".exr"):
        dec = tmp_path / f"photo_hdr{hdr_ext}"
        assert main(["decode", str(out), "-o", str(dec)]) == 0
        img = read_image(dec)
        sdr = np.asarray(PILImage.open(out).convert("RGB"))
        expected = decode_arrays(read_blob(out), sdr)
        got = np.asarray(color.pq_inverse_eotf(color.to_nits(img)))
        tol = 1.5 / 65535 if hdr_ext == ".png" else 1e-4
        assert np.abs(got - expected).max() <= tol


def test_encode_with_sdr_grade_and_quant(tmp_path, hdr_file):
    sdr = tmp_path / "grade.png"
    write_image(sdr, Image(np.full((24, 32, 3), 0.5, np.float32)))
    out = tmp_path / "photo.png"
    assert main(["encode", str(hdr_file), str(sdr), "-o", str(out), "--steps", "3", "--quant", "int8"]) == 0
    assert len(read_blob(out)) < 10_000


def test_resaved_picture_fails_cleanly(tmp_path, hdr_file, capsys):
    out = tmp_path / "photo.jpg"
    assert main(["encode", str(hdr_file), "-o", str(out), "--steps", "2"]) == 0
    resaved = tmp_path / "resaved.jpg"
    PILImage.open(out).save(resaved, quality=95)
    capsys.readouterr()
    dec = tmp_path / "x.png"
    assert main(["decode", str(resaved), "-o", str(dec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "no hdrkit metadata" in err and "Traceback" not in err
    assert not dec.exists()


def test_corrupt_metadata_fails_its_crc(tmp_path, hdr_file, capsys):
    out = tmp_path / "photo.png"
    assert main(["encode", str(hdr_file), "-o", str(out), "--steps", "2"]) == 0
    data = bytearray(out.read_bytes())
    i = data.index(b"hdRK") + 4 + 5000  # a weight byte inside the chunk
    data[i] ^= 0x01
    # keep the PNG chunk CRC valid so that only the container's own CRC can catch it
    import struct
    import zlib

    start = data.index(b"hdRK")
    length = struct.unpack(">I", data[start - 4:start])[0]
    crc = zlib.crc32(bytes(data[start:start + 4 + length])) & 0xFFFFFFFF
    data[start + 4 + length:start + 8 + length] = struct.pack(">I", crc)
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["decode", str(bad), "-o", str(tmp_path / "y.png")]) == 2
    assert "CRC" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["encode", "{hdr}", "-o", "{hdr}"],
    ["encode", "{hdr}", "{small}", "-o", "{tmp}/o.jpg"],
    ["encode", "{tmp}/missing.exr", "-o", "{tmp}/o.jpg"],
    ["encode", "{hdr}", "-o", "{tmp}/o.jpg", "--tmo", "nope"],
    ["decode", "{hdr}", "-o", "{tmp}/o.png"],
    ["decode", "{tmp}/missing.jpg", "-o", "{tmp}/o.png"],
])
def test_user_mistakes_exit_2_without_output(tmp_path, hdr_file, args, capsys):
    small = tmp_path / "small.png"
    write_image(small, Image(np.zeros((5, 5, 3), np.float32)))
    argv = [a.format(hdr=hdr_file, small=small, tmp=tmp_path) for a in args]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert not (tmp_path / "o.jpg").exists() and not (tmp_path / "o.png").exists()


def test_bench_codec_writes_reports(tmp_path, hdr_file, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    nits = color.to_nits(read_image(hdr_file))
    write_image(pairs / "a_hdr.png", color.from_nits(nits), bit_depth=16)
    write_image(pairs / "a_sdr.png", Image(np.full(nits.shape, 0.4, np.float32)))
    md, js = tmp_path / "b.md", tmp_path / "b.json"
    assert main(["bench", "codec", "--pairs", str(pairs), "--steps", "2", "--no-decode-4k",
                 "--md", str(md), "--json", str(js)]) == 0
    rec = json.loads(js.read_text())
    assert len(rec["rows"]) == 1 and rec["rows"][0]["bytes"] > 0 and rec["gemm_gflops"] > 0
    assert "| **mean** |" in md.read_text()


def test_demo_prints_quality_and_bytes(capsys):
    assert main(["demo", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "PU-PSNR" in out and "hdrkit metadata" in out


def test_decode_refuses_metadata_made_for_another_size(tmp_path, hdr_file, capsys):
    from hdrkit.codec.adapters import embed_file

    out = tmp_path / "photo.png"
    assert main(["encode", str(hdr_file), "-o", str(out), "--steps", "1"]) == 0
    other = tmp_path / "other.png"
    write_image(other, Image(np.full((10, 12, 3), 0.5, np.float32)))
    moved = tmp_path / "moved.png"
    embed_file(other, moved, read_blob(out))
    capsys.readouterr()
    assert main(["decode", str(moved), "-o", str(tmp_path / "z.png")]) == 2
    assert "resized" in capsys.readouterr().err


def test_train_meta_smoke_writes_weights_log_and_curve(tmp_path, capsys):
    from hdrkit.codec.weights import load_theta

    data = tmp_path / "hdr"
    data.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        write_image(data / f"{name}.exr", Image(rng.random((40, 80, 3)).astype(np.float32) * 5, primaries="bt2020",
                                                 transfer="linear", nits_per_unit=100.0))
    out, log, curve = tmp_path / "t.hdrkit", tmp_path / "t.json", tmp_path / "t.png"
    argv = ["train", "meta", "--data", str(data), "--recipe", "smoke", "-o", str(out), "--log", str(log),
            "--curve", str(curve)]
    assert main(argv) == 0
    cfg, params = load_theta(out)
    assert sum(v.numel() for v in params.values()) == 8963
    rec = json.loads(log.read_text())
    assert rec["iterations"] == list(range(1, 7)) and len(rec["val_psnr"]) == 3
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv[:-6] + ["--recipe", "nope", "-o", str(out)]) == 2


def test_cpu_decode_never_imports_torch(tmp_path):
    """`hdrkit decode` on the CPU runs numpy + the fused kernel only (torch costs seconds of start-up, numba
    ~0.4 s)."""
    import subprocess
    import sys

    from hdrkit.codec.adapters import SdrWriter
    from hdrkit.codec.container import Container, pack
    from hdrkit.codec.weights import load_theta

    for family in (None, "siren"):  # the default gamma-map family and SIREN (both fused LLVM kernels)
        cfg, theta = load_theta(family)
        sdr = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
        src = tmp_path / f"photo_{family}.png"
        w = SdrWriter(src, sdr, 95)
        w.commit(pack(Container(cfg=cfg, weights={k: np.asarray(v) for k, v in theta.items()}, width=30, height=20)))
        out = tmp_path / f"hdr_{family}.png"
        code = ("import sys; from hdrkit.cli.main import main; rc = main(['decode', sys.argv[1], '-o', "
                "sys.argv[2]]); print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', "
                "'NUMBA' if 'numba' in sys.modules else 'NO-NUMBA'); sys.exit(rc)")
        r = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().endswith("NO-TORCH NO-NUMBA")  # numba's start-up (~0.4 s) is not paid either
        got = np.asarray(color.pq_inverse_eotf(color.to_nits(read_image(out))))
        assert np.abs(got - decode_arrays(read_blob(src), sdr)).max() <= 1.5 / 65535


@pytest.mark.parametrize("family", [None, "siren"])
def test_decode_png_from_kernel_codes_is_the_same_file(family, tmp_path):
    """`hdrkit decode` to a 16-bit PNG takes the 16-bit codes straight from the kernel (gamma family) or
    quantises (SIREN): byte for byte the file that write_image makes of the float PQ decode, chunks included."""
    from hdrkit.codec.adapters import SdrWriter
    from hdrkit.codec.api import decode_file, decode_to_file
    from hdrkit.codec.container import Container, pack
    from hdrkit.codec.weights import load_theta

    cfg, theta = load_theta(family)
    rng = np.random.default_rng(4)
    theta = {k: np.asarray(v) + rng.normal(0, 0.05, np.shape(v)).astype(np.float32) for k, v in theta.items()}
    sdr = rng.integers(0, 256, (37, 70, 3), dtype=np.uint8)
    src = tmp_path / "photo.png"
    SdrWriter(src, sdr, 95).commit(pack(Container(cfg=cfg, weights=theta, width=70, height=37)))
    for threads in (1, 2):
        decode_to_file(src, tmp_path / "a.png", threads=threads)
        pq, _ = decode_file(src, threads=threads)
        write_image(tmp_path / "b.png", Image(pq, primaries="bt2020", transfer="pq"), bit_depth=16,
                    png_compression=1, threads=threads)
        assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
