"""The metadata container: exact round trips, CRC, field-by-field validation, fuzzing."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdrkit.codec.container import MAGIC, Container, Signal, dequantised, pack, unpack
from hdrkit.errors import MetadataError
from hdrkit.models import gammanet
from hdrkit.models.gammanet import GammaConfig
from hdrkit.models.siren import SirenConfig, init_params


def _weights(cfg=SirenConfig(), seed=0):
    return {k: v.numpy() for k, v in init_params(cfg, torch.Generator().manual_seed(seed)).items()}


def _blob(quant="fp16", cfg=SirenConfig()):
    return pack(Container(cfg=cfg, weights=_weights(cfg), quant=quant, hdr=Signal("bt2020", "pq", 1000.0),
                          sdr=Signal("bt709", "bt1886", 203.0), width=1024, height=512))


def test_default_blob_is_under_20_kb():
    assert len(_blob("fp16")) <= 20 * 1024
    # header 16 + descriptor 6 + widths 3*1 + 5*2 + quant 1 + signals 16 + sizes 16 + fp16 weights + CRC 4
    assert len(_blob("fp16")) == 16 + 6 + 3 + 10 + 1 + 16 + 16 + 2 * 8963 + 4
    assert len(_blob("int8")) < 10 * 1024


@pytest.mark.parametrize("quant", ["fp32", "fp16", "int8"])
def test_round_trip(quant):
    w = _weights()
    c = unpack(_blob(quant))
    assert c.quant == quant and c.cfg == SirenConfig() and (c.width, c.height) == (1024, 512)
    assert c.hdr == Signal("bt2020", "pq", 1000.0) and c.sdr == Signal("bt709", "bt1886", 203.0)
    for k, v in w.items():
        if quant == "fp32":
            assert np.array_equal(c.weights[k], v)
        elif quant == "fp16":
            assert np.array_equal(c.weights[k], v.astype(np.float16).astype(np.float32))
        else:
            scale = np.abs(v).max() / 127
            assert np.abs(c.weights[k] - v).max() <= scale / 2 + 1e-9
        assert np.array_equal(c.weights[k], dequantised(w, quant)[k])
    # re-packing what was read gives the identical blob (bit-exact weights)
    assert pack(c) == _blob(quant)


def test_other_architectures_round_trip():
    cfg = SirenConfig(color=(16, 8), spatial=(8,), merge=(), activation="relu", coord_octaves=4, omega0=10.0)
    c = unpack(_blob("fp32", cfg))
    assert c.cfg == cfg


def test_every_flipped_byte_is_detected():
    blob = _blob()
    for pos in range(0, len(blob), 97):
        bad = bytearray(blob)
        bad[pos] ^= 0x10
        with pytest.raises(MetadataError):
            unpack(bytes(bad))


def test_flipped_weight_byte_fails_the_crc_with_a_clear_message():
    bad = bytearray(_blob())
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(MetadataError, match="CRC"):
        unpack(bytes(bad))


def test_truncated_and_foreign_data():
    blob = _blob()
    for n in (0, 5, 19, 100, len(blob) - 1):
        with pytest.raises(MetadataError):
            unpack(blob[:n])
    with pytest.raises(MetadataError, match="magic"):
        unpack(b"\x89PNG" + blob[4:])


def _recrc(body: bytes) -> bytes:
    """Fix the length field and CRC so that mutations reach the field parser."""
    b = bytearray(body)
    if len(b) >= 16:
        b[12:16] = struct.pack("<I", len(b) + 4)
    return bytes(b) + struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)


def test_future_version_is_refused():
    blob = bytearray(_blob()[:-4])
    blob[8:10] = struct.pack("<H", 3)
    with pytest.raises(MetadataError, match="version 3"):
        unpack(_recrc(bytes(blob)))


def _gamma_blob(quant="fp16", cfg=GammaConfig()):
    return pack(Container(cfg=cfg, weights=gammanet.init_params(cfg, seed=1), quant=quant, width=640, height=480))


def test_siren_is_still_written_as_version_1_and_gamma_as_version_2():
    assert struct.unpack_from("<H", _blob(), 8)[0] == 1
    assert struct.unpack_from("<HB", _gamma_blob(), 8)[0] == 2 and _gamma_blob()[16] == 1  # family byte


@pytest.mark.parametrize("cfg", [GammaConfig(), GammaConfig(hidden=(32, 8, 4), coord_octaves=3, color_octaves=16,
                                                            offset=0.03125)])
@pytest.mark.parametrize("quant", ["fp32", "fp16", "int8"])
def test_gamma_descriptor_round_trip(cfg, quant):
    w = gammanet.init_params(cfg, seed=1)
    w = {k: v + np.float32(0.01) * np.arange(v.size, dtype=np.float32).reshape(v.shape) for k, v in w.items()}
    blob = pack(Container(cfg=cfg, weights=w, quant=quant, width=640, height=480))
    c = unpack(blob)
    assert c.cfg == cfg and (c.width, c.height) == (640, 480) and c.quant == quant
    assert sorted(c.weights) == sorted(gammanet.param_names(cfg))
    for k, v in dequantised(w, quant).items():
        assert np.array_equal(c.weights[k], v)
    assert pack(c) == blob
    # header 16 + family 1 + descriptor 7 + 2 per width + quant 1 + signals 16 + sizes 16 + payload + CRC 4
    per = {"fp32": 4, "fp16": 2, "int8": 1}[quant]
    scales = 4 * len(w) if quant == "int8" else 0
    assert len(blob) == 16 + 1 + 7 + 2 * len(cfg.hidden) + 1 + 16 + 16 + per * gammanet.param_count(cfg) + scales + 4


def test_version_2_siren_family_parses_like_version_1():
    v1 = _blob()[:-4]
    v2 = bytearray(v1[:16]) + b"\x00" + v1[16:]
    v2[8:10] = struct.pack("<H", 2)
    c1, c2 = unpack(_blob()), unpack(_recrc(bytes(v2)))
    assert c1.cfg == c2.cfg and all(np.array_equal(c1.weights[k], c2.weights[k]) for k in c1.weights)


def test_unknown_family_is_refused():
    b = bytearray(_gamma_blob()[:-4])
    b[16] = 7
    with pytest.raises(MetadataError, match="family code 7"):
        unpack(_recrc(bytes(b)))


def test_nan_weights_are_refused():
    blob = bytearray(_blob("fp32")[:-4])
    blob[-4:] = struct.pack("<f", float("nan"))
    with pytest.raises(MetadataError, match="not finite"):
        unpack(_recrc(bytes(blob)))


def _check_parser(data: bytes) -> None:
    try:
        c = unpack(data)
    except MetadataError:
        return
    assert isinstance(c, Container)
    assert all(np.isfinite(v).all() for v in c.weights.values())


_BASES = (_blob()[:-4], _gamma_blob()[:-4])


@st.composite
def _mutations(draw):
    data = bytearray(_BASES[draw(st.integers(0, 1))])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "header"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif kind == "header" and len(data) > 9:
            i = draw(st.integers(8, min(80, len(data) - 1)))
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            n = draw(st.integers(0, len(data)))
            data = data[:n]
        else:
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    return _recrc(bytes(data)) if draw(st.booleans()) else bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(_mutations())
def test_fuzz_mutated_blobs_never_crash_quick(data):
    _check_parser(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_quick(data):
    _check_parser(MAGIC + data)
    _check_parser(data)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(_mutations())
def test_fuzz_10000_mutated_blobs_never_crash(data):
    _check_parser(data)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_10000_random_blobs_never_crash(data):
    _check_parser(_recrc(MAGIC + struct.pack("<HHI", 1, 0, 0) + data))
    _check_parser(_recrc(MAGIC + struct.pack("<HHI", 2, 0, 0) + data))


def test_v1_golden_file_decodes_bit_exactly():
    """A v1 file written by hdrkit (tests/codec/data/v1_golden.png: PNG carrier, shipped theta_init in fp16)
    parses to the same weights bit for bit and decodes to the same 16-bit PQ codes as when it was made (fused
    CPU kernel): a format or decoder change that alters old files fails here.  The codes also agree with the
    reference torch forward pass to float32 rounding."""
    import hashlib
    from pathlib import Path

    import torch

    from hdrkit.codec.adapters import read_blob
    from hdrkit.codec.api import decode_file
    from hdrkit.io import read_image
    from hdrkit.models.siren import coord_grid, forward

    path = Path(__file__).parent / "data" / "v1_golden.png"
    blob = read_blob(path)
    assert blob[:8] == MAGIC and struct.unpack_from("<H", blob, 8)[0] == 1
    c = unpack(blob)
    weights = hashlib.sha256(b"".join(c.weights[k].tobytes() for k in sorted(c.weights))).hexdigest()
    assert weights == "c940d35a68b5462db86c1a7e60cbd1f8dd2bcf228fdff3d0550e56521e23c0d7"
    pq, _ = decode_file(path, threads=1)
    codes = np.round(np.clip(pq, 0, 1) * 65535).astype("<u2")
    assert hashlib.sha256(codes.tobytes()).hexdigest() == (
        "ca9ad33721f5e614b3cc5823eda847b20d8487cc273c39f5f17f4c613ed4ff67")
    sdr = torch.from_numpy(np.round(read_image(path).pixels * 255).astype(np.float32) / 255).reshape(-1, 3)
    ref = forward(c.params(), sdr, coord_grid(32, 48).reshape(-1, 2), c.cfg).reshape(32, 48, 3).numpy()
    assert np.abs(np.clip(ref, 0, 1) - pq).max() < 2e-6
