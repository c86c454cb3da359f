"""``hdrkit video encode`` / ``decode``: the per-shot metadata formats, their carriage, the round trip."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hdrkit.errors import MetadataError
from hdrkit.video import metadata as M

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import assert_one_line_error, cli  # noqa: E402


def _blob(seed=0, w=64, h=48):
    from hdrkit.codec.container import Container, pack
    from hdrkit.models.gammanet import GammaConfig, init_params

    rng = np.random.default_rng(seed)
    weights = {k: v + rng.normal(0, 0.05, v.shape).astype(np.float32) for k, v in init_params().items()}
    return pack(Container(cfg=GammaConfig(), weights=weights, width=w, height=h))


def _record(**kw):
    base = dict(index=3, first_frame=72, frames=40, pts=3003, time_base=(1, 1000), blob=_blob(), delta=True,
                max_cll=812, max_fall=97, mastering="bt2020", mastering_max=1000.0, mastering_min=2.0 ** -8)  # f32-exact
    base.update(kw)
    return M.ShotRecord(**base)


# ------------------------------------------------------------------------------------------------ formats
@pytest.mark.parametrize("deflate", [None, True, False])
def test_record_round_trip_is_byte_exact(deflate):
    r = _record()
    data = M.pack_record(r, deflate=deflate)
    back = M.unpack_record(data)
    assert back == r  # every field, the blob byte for byte
    assert M.pack_record(back, deflate=deflate) == data
    # the documented layout: magic, version, the CRC of everything before it
    assert data[:8] == b"HDRKSHOT" and data[8:10] == b"\x01\x00"
    assert int.from_bytes(data[-4:], "little") == zlib.crc32(data[:-4])
    assert len(data) == int.from_bytes(data[12:16], "little")


def test_track_round_trip_and_bounds():
    recs = [M.pack_record(_record(index=k, first_frame=10 * k, delta=k > 0)) for k in range(3)]
    t = M.pack_track(recs)
    back = M.unpack_track(t)
    assert [M.pack_record(r) for r in back] == recs
    with pytest.raises(MetadataError, match="CRC"):
        M.unpack_track(t[:-5] + bytes([t[-5] ^ 1]) + t[-4:])
    with pytest.raises(MetadataError):
        M.unpack_track(t[:-1])


def test_emulation_prevention_matches_the_standard_rule():
    # H.264 7.4.1 / HEVC 7.4.2: within the NAL unit no 00 00 00, 00 00 01, 00 00 02 (or 00 00 03 unescaped)
    rbsp = bytes([0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 5, 0, 0])
    ebsp = M.escape_rbsp(rbsp)
    assert ebsp == bytes([0, 0, 3, 0, 0, 3, 0, 1, 0, 0, 3, 2, 0, 0, 3, 3, 5, 0, 0])
    assert M.unescape_rbsp(ebsp) == rbsp
    for k in range(len(ebsp) - 2):
        assert not (ebsp[k] == 0 and ebsp[k + 1] == 0 and ebsp[k + 2] <= 2)
    rng = np.random.default_rng(1)
    for _ in range(50):
        raw = bytes(rng.choice([0, 0, 0, 1, 2, 3, 255], size=int(rng.integers(0, 64))).astype(np.uint8))
        assert M.unescape_rbsp(M.escape_rbsp(raw)) == raw


@pytest.mark.parametrize("codec", ["h264", "hevc"])
@pytest.mark.parametrize("length_size", [0, 4])
def test_sei_insert_and_find(codec, length_size):
    rec = M.pack_record(_record())
    # an access unit: AUD / parameter set, then two slices
    if codec == "h264":
        nals = [b"\x09\xf0", b"\x67\x64\x00\x0a", b"\x65" + M.escape_rbsp(bytes(40) + b"\x80"), b"\x41\x9a\x00\x00\x03\x01\x02"]
    else:
        nals = [bytes([35 << 1, 1, 0x50]), bytes([33 << 1, 1]) + b"\x01\x02", bytes([19 << 1, 1]) + M.escape_rbsp(bytes(30) + b"\x80"),
                bytes([1 << 1, 1, 0xAF])]
    packet = M.join_nals(nals, length_size)
    out = M.insert_sei(packet, rec, codec, length_size)
    got = M.split_nals(out, length_size)
    assert got[:2] == nals[:2] and got[3:] == nals[2:]  # SEI before the first slice, nothing else touched
    assert M.sei_nal(rec, codec) == got[2]
    (back,) = M.records_in_packet(out, codec, length_size)
    assert M.pack_record(back) == rec
    assert M.records_in_packet(packet, codec, length_size) == []


def test_sei_uuid_is_the_documented_uuid5():
    import uuid

    assert M.SEI_UUID == uuid.uuid5(uuid.NAMESPACE_URL, "hdrkit.video.shot/1").bytes


def test_nal_length_size_from_extradata():
    assert M.nal_length_size(bytes([1, 0x64, 0, 0x0A, 0xFF]), "h264") == 4
    assert M.nal_length_size(bytes([1, 0x64, 0, 0x0A, 0xFD]), "h264") == 2
    assert M.nal_length_size(b"\x00\x00\x00\x01\x67", "h264") == 0
    assert M.nal_length_size(None, "hevc") == 0
    with pytest.raises(MetadataError):
        M.nal_length_size(b"\x02\x00", "h264")


def _mutate(data: bytes, rng) -> bytes:
    d = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        op = rng.integers(0, 4)
        i = int(rng.integers(0, max(len(d), 1)))
        if op == 0 and d:
            d[i % len(d)] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            del d[i:]
        elif op == 2:
            d[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 16))).astype(np.uint8))
        elif d:
            d[i:i + 4] = b"\xff\xff\xff\x7f"
    return bytes(d)


def _parse_everything(data: bytes) -> None:
    for f in (M.unpack_record, M.unpack_track):
        try:
            f(data)
        except MetadataError:
            pass
    for codec in ("h264", "hevc"):
        for ls in (0, 1, 2, 4):
            try:
                for r in M.records_in_packet(data, codec, ls):
                    M.ShotDecoder().add(r, 64, 48)
            except MetadataError:
                pass


def test_parsers_survive_mutated_records():
    """Mutated records, tracks and SEI packets: a MetadataError or a valid parse, nothing else (the CRC catches
    most edits; the CRC is recomputed on half the cases so the field checks behind it are reached too)."""
    rng = np.random.default_rng(0)
    rec = M.pack_record(_record(), deflate=True)
    seeds = [rec, M.pack_track([rec, M.pack_record(_record(index=4, delta=False))]),
             M.join_nals([M.sei_nal(rec, "h264"), b"\x65\x00"], 4), M.join_nals([M.sei_nal(rec, "hevc")], 0)]
    for k in range(600):
        d = _mutate(seeds[k % len(seeds)], rng)
        if k % 2 and len(d) > 20 and d[:8] in (M.MAGIC, M.TRACK_MAGIC):
            d = d[:-4] + zlib.crc32(d[:-4]).to_bytes(4, "little")
            d = d[:12] + len(d).to_bytes(4, "little") + d[16:]
            d = d[:-4] + zlib.crc32(d[:-4]).to_bytes(4, "little")
        _parse_everything(d)


@settings(max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_parsers_survive_random_bytes(data):
    _parse_everything(data)
    _parse_everything(M.MAGIC + data)
    _parse_everything(b"\x00\x00\x01\x06\x05" + data)


def test_delta_chain_needs_its_base():
    rec = _record(index=1, delta=True)
    with pytest.raises(MetadataError, match="missing"):
        M.ShotDecoder().add(rec, 64, 48)
    with pytest.raises(MetadataError, match="resized"):
        M.ShotDecoder().add(_record(index=0, delta=False), 32, 48)


def test_decode_torch_matches_the_reference():
    from hdrkit.models import gammanet as G

    rng = np.random.default_rng(0)
    w = {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in G.init_params().items()}
    sdr = (rng.random((23, 41, 3)) * 255).astype(np.uint8)
    ref = G.forward_reference(w, sdr, G.GammaConfig())
    np.testing.assert_allclose(G.decode_torch(w, sdr, G.GammaConfig(), device="cpu"), ref, atol=2e-6)


def test_ohem_fitting_on_samples_lowers_the_loss():
    from hdrkit.codec.adapt_gamma import GammaAdaptConfig, adapt_gamma_samples
    from hdrkit.models.gammanet import GammaConfig, init_params

    rng = np.random.default_rng(0)
    n = 4000
    codes = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    pq = (0.55 * (codes / 255.0) ** 1.3).astype(np.float32)
    rc = np.stack([rng.integers(0, 48, n), rng.integers(0, 64, n)], 1)
    _, info = adapt_gamma_samples(codes, pq, rc, 48, 64, init_params(), GammaConfig(),
                                  GammaAdaptConfig(steps=150, batch=512, ohem=0.25, ohem_every=25))
    assert info.checks[-1][1] < 0.2 * info.checks[0][1]


# --------------------------------------------------------------------------------------------- end to end
def _scene(t: int, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w], np.float64).reshape(2, 1, 1)
    if t < 16:  # shot 1: warm gradient, a slow pan
        img = np.stack([(xx + 0.01 * t) % 1 * 700 + 5, yy * 250 + 5, (1 - xx) * 90 + 4], -1)
    else:  # shot 2: cool scene with a bright highlight
        img = np.stack([(1 - yy) * 40 + 1, xx * 600 + 2, yy * 300 + 3], -1)
        img[(xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.02] = (950, 900, 700)
    return img.astype(np.float32)


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    from hdrkit.video.io import ContentLight, MasteringDisplay, VideoWriter

    p = tmp_path_factory.mktemp("neural") / "master.mkv"
    with VideoWriter(p, 96, 64, 24, codec="hevc", chroma="444", crf=4,
                     mastering=MasteringDisplay.named("bt2020", 1000), light=ContentLight(950, 300)) as wr:
        for t in range(32):
            wr.write_nits(_scene(t, 64, 96))
    return p


@pytest.fixture(scope="module")
def encoded(master) -> tuple:
    from hdrkit.video.neural import VideoEncodeConfig, encode_video

    out = master.parent / "shipped.mkv"
    r = encode_video(master, out, config=VideoEncodeConfig(steps=300, samples=1024))
    return out, r


def test_two_shot_clip_encode_decode(encoded, master, tmp_path):
    from hdrkit.metrics import pu_psnr
    from hdrkit.video.carriage import first_records
    from hdrkit.video.io import VideoReader, probe
    from hdrkit.video.neural import decode_video

    out, r = encoded
    assert [(s.first_frame, s.frames) for s in r.shots] == [(0, 16), (16, 16)]
    rec = sum(s.record_bytes for s in r.shots)
    assert r.frames == 32 and rec < r.metadata_bytes < 1.03 * rec + 2 * 60  # + SEI framing (UUID, sizes, emulation prevention)
    info = probe(out)
    assert (info.codec, info.transfer, info.primaries, info.matrix, info.bit_depth) == ("h264", "bt709", "bt709",
                                                                                       "bt709", 8)
    assert first_records(out).index == 0
    dec = tmp_path / "hdr10.mkv"
    d = decode_video(out, dec, device="cpu")
    assert (d.frames, d.shots) == (32, 2)
    hinfo = probe(dec)
    assert hinfo.transfer == "pq" and hinfo.primaries == "bt2020"
    assert hinfo.content_light == {"max_cll": r.content_light.max_cll, "max_fall": r.content_light.max_fall}
    assert abs(hinfo.mastering_display["max_nits"] - 1000) < 1e-3
    with VideoReader(master) as a, VideoReader(dec) as b:
        scores = [pu_psnr(x.astype(np.float64), y.astype(np.float64)) for x, y in zip(a.frames(), b.frames())]
    assert len(scores) == 32 and min(scores) > 24 and np.mean(scores) > 27, scores  # fitted (a wrong shot: < 15)


def test_sampled_codes_equal_the_full_conversion(encoded):
    from hdrkit.video.io import VideoReader
    from hdrkit.video.neural import _light_of_pq, sdr_codes, sdr_codes_at

    out, _ = encoded
    pos = np.random.default_rng(0).integers(0, 96 * 64, 500)
    with VideoReader(out) as rd:
        for k, frame in enumerate(rd.decoded()):
            np.testing.assert_array_equal(sdr_codes_at(rd, frame, pos), sdr_codes(rd, frame).reshape(-1, 3)[pos])
            if k == 3:
                break
    from hdrkit import color
    from hdrkit.video.io import frame_light

    pq = np.random.default_rng(1).random((20, 30, 3)).astype(np.float32)
    np.testing.assert_allclose(_light_of_pq(pq), frame_light(color.pq_eotf(pq)), rtol=1e-5)


def test_lut_on_pq_is_the_youtube_operator():
    from hdrkit import color
    from hdrkit.tonemap import tonemap
    from hdrkit.tonemap.lut import tonemap_lut_pq, youtube_lut

    nits = (np.random.default_rng(2).random((40, 50, 3)) ** 3 * 4000).astype(np.float32)
    pq = np.asarray(color.pq_inverse_eotf(nits.astype(np.float64)), np.float32)  # as tonemap_lut encodes
    np.testing.assert_allclose(tonemap_lut_pq(pq, youtube_lut()), tonemap(nits, "youtube"), atol=1e-6)


def test_pyav_stream_copy_remux_keeps_the_metadata(encoded, tmp_path):
    import av

    from hdrkit.video.neural import decode_video

    out, r = encoded
    remuxed = tmp_path / "remuxed.mp4"  # MKV -> MP4 (no attachments in MP4: the SEI alone carries it)
    with av.open(str(out)) as i, av.open(str(remuxed), "w") as o:
        vs = i.streams.video[0]
        os_ = o.add_stream_from_template(vs)
        for pk in i.demux(vs):
            if pk.dts is None and pk.size == 0:
                continue
            pk.stream = os_
            o.mux(pk)
    d = decode_video(remuxed, tmp_path / "a.mkv", device="cpu")
    assert (d.frames, d.shots) == (32, 2)


def _strip(src: Path, dst: Path) -> None:
    """Stream copy with the hdrkit SEI NAL units removed (and no attachment): the SDR picture unchanged."""
    import av

    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        vs = i.streams.video[0]
        size = M.nal_length_size(vs.codec_context.extradata, "h264")
        os_ = o.add_stream_from_template(vs)
        for pk in i.demux(vs):
            if pk.dts is None and pk.size == 0:
                continue
            nals = [n for n in M.split_nals(bytes(pk), size) if not M.records_in_packet(M.join_nals([n], size),
                                                                                      "h264", size)]
            new = av.Packet(M.join_nals(nals, size))
            new.pts, new.dts, new.time_base, new.is_keyframe = pk.pts, pk.dts, pk.time_base, pk.is_keyframe
            new.stream = os_
            o.mux(new)


def test_stripped_file_is_one_line_error_and_no_output(capsys, encoded, tmp_path):
    out, _ = encoded
    stripped = tmp_path / "stripped.mp4"
    _strip(out, stripped)
    dst = tmp_path / "x.mkv"
    code, so, err = cli(capsys, "video", "decode", stripped, "-o", dst)
    assert_one_line_error(code, err, "no hdrkit shot metadata", so)
    assert not dst.exists() and list(tmp_path.glob(".hdrkit-*")) == []


def test_corrupt_sei_is_one_line_error(capsys, encoded, tmp_path):
    import av

    out, _ = encoded
    bad = tmp_path / "bad.mp4"
    with av.open(str(out)) as i, av.open(str(bad), "w") as o:  # flip one byte of the first record's blob
        vs = i.streams.video[0]
        os_ = o.add_stream_from_template(vs)
        for k, pk in enumerate(i.demux(vs)):
            if pk.dts is None and pk.size == 0:
                continue
            data = bytearray(bytes(pk))
            if k == 0:
                j = bytes(data).find(M.SEI_UUID) + 16 + M.HEAD_SIZE + 40
                data[j] ^= 0x10
            new = av.Packet(bytes(data))
            new.pts, new.dts, new.time_base, new.is_keyframe = pk.pts, pk.dts, pk.time_base, pk.is_keyframe
            new.stream = os_
            o.mux(new)
    dst = tmp_path / "y.mkv"
    code, so, err = cli(capsys, "video", "decode", bad, "-o", dst)
    assert_one_line_error(code, err, "corrupt", so)
    assert not dst.exists()


@pytest.mark.parametrize("case", ["sdr_master", "hdr_to_decode", "missing", "bad_ext", "grade_size", "bad_codec"])
def test_bad_inputs(capsys, case, master, tmp_path):
    from conftest import gradient_frames, write_sdr

    sdr = write_sdr(tmp_path / "s.mp4", gradient_frames(4))
    dst = tmp_path / "o.mkv"
    args, pattern = {
        "sdr_master": (("video", "encode", sdr, "-o", dst), "is SDR"),
        "hdr_to_decode": (("video", "decode", master, "-o", dst), "already HDR"),
        "missing": (("video", "encode", tmp_path / "nope.mkv", "-o", dst), "does not exist"),
        "bad_ext": (("video", "encode", master, "-o", tmp_path / "o.avi"), ".mkv"),
        "grade_size": (("video", "encode", master, sdr, "-o", dst), "sizes differ"),
        "bad_codec": (("video", "encode", master, "-o", dst, "--codec", "av1"), "h264 or hevc"),
    }[case]
    code, so, err = cli(capsys, *args)
    assert_one_line_error(code, err, pattern, so)
    assert not dst.exists()


def test_fuzz_target_exists():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fuzz"))
    import targets

    seeds = targets.seeds("video_shot_metadata")  # the short pass (tests/robustness) mutates these
    assert "video_shot_metadata" in targets.TARGETS and len(seeds) == 4
    assert M.unpack_record(seeds[0]).index == 0 and len(M.unpack_track(seeds[1])) == 2
    assert len(M.records_in_packet(seeds[2], "h264", 4)) == 2
