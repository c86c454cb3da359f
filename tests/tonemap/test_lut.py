"""3D LUT reading and tetrahedral interpolation, cross-checked against colour-science."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from hdrkit.errors import FormatError, InputError
from hdrkit.tonemap import Lut3D, cube_text, lut_tetrahedral, read_cube, tonemap, tonemap_lut, youtube_lut
from hdrkit.tonemap.lut import youtube_lut_path

colour = pytest.importorskip("colour")


@pytest.fixture(scope="module")
def yt():
    return youtube_lut()


@pytest.fixture(scope="module")
def yt_cube_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("lut")
    with zipfile.ZipFile(youtube_lut_path()) as zf:
        name = [n for n in zf.namelist() if n.endswith(".cube")][0]
        (d / "yt.cube").write_bytes(zf.read(name))
    return d / "yt.cube"


def _probe_points(n=200_000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
    special = np.array([[0.5, 0.5, 0.5], [1 / 64, 2 / 64, 3 / 64], [0.3, 0.3, 0.7], [0.7, 0.3, 0.3],
                        [0.9999999, 0.0, 1.0], [0.25, 0.75, 0.75], [63.5 / 64, 63.5 / 64, 0.2]])
    return np.concatenate([corners, special, x])


def test_bundled_lut_reads_like_colour_science(yt, yt_cube_file):
    ref = colour.read_LUT(str(yt_cube_file))
    assert yt.size == 65 and ref.table.shape == (65, 65, 65, 3)
    np.testing.assert_allclose(yt.table, ref.table, atol=1e-7)
    np.testing.assert_array_equal(yt.domain_min, ref.domain[0])
    np.testing.assert_array_equal(yt.domain_max, ref.domain[1])


@pytest.fixture(params=["numba", "numpy"])
def kernel(request, monkeypatch):
    """Run a test with the compiled kernel and with the numpy fallback."""
    from hdrkit.tonemap import lut as mod

    if request.param == "numpy":
        monkeypatch.setattr(mod, "_NUMBA", False)
    elif mod._numba_kernel() is None:
        pytest.skip("numba is not available")
    return request.param


def test_tetrahedral_matches_colour_science(yt, kernel):
    x = _probe_points()
    ref = colour.algebra.table_interpolation_tetrahedral(x, yt.table.astype(np.float64))
    ours = lut_tetrahedral(x.astype(np.float32), yt)
    assert np.abs(ours - ref).max() <= 1e-5


def test_youtube_operator_matches_colour_pipeline(yt, kernel):
    rng = np.random.default_rng(1)
    nits = (rng.random((64, 64, 3)) ** 4 * 10000).astype(np.float32)
    nits[0, :8] = [[0, 0, 0], [10000, 10000, 10000], [1000, 0, 0], [0, 1000, 0], [0, 0, 1000], [203, 203, 203],
                   [0.01, 0.01, 0.01], [100, 50, 10]]
    pq = colour.models.eotf_inverse_ST2084(nits.astype(np.float64))
    ref = colour.algebra.table_interpolation_tetrahedral(pq.reshape(-1, 3), yt.table.astype(np.float64))
    ours = tonemap(nits, "youtube")
    assert ours.dtype == np.float32 and ours.shape == nits.shape
    assert np.abs(ours.reshape(-1, 3) - np.clip(ref, 0, 1)).max() <= 1e-5


def test_lut_method_accepts_cube_and_zip(yt_cube_file):
    rng = np.random.default_rng(2)
    nits = (rng.random((16, 16, 3)) * 2000).astype(np.float32)
    a = tonemap(nits, "lut", lut=yt_cube_file)
    b = tonemap(nits, "lut", lut=youtube_lut_path())
    c = tonemap(nits, "youtube")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_threads_give_identical_results(yt, kernel):
    x = np.random.default_rng(3).random((300_000, 3)).astype(np.float32)
    np.testing.assert_array_equal(lut_tetrahedral(x, yt, threads=1), lut_tetrahedral(x, yt, threads=2))


def _lut_from_function(fn, n=9, dmin=0.0, dmax=1.0):
    g = np.linspace(dmin, dmax, n)
    r, gg, b = np.meshgrid(g, g, g, indexing="ij")
    table = fn(np.stack([r, gg, b], -1))
    return Lut3D(table.astype(np.float32), np.full(3, float(dmin)), np.full(3, float(dmax)), "t")


def test_affine_lut_is_reproduced_exactly_and_round_trips_through_cube_text(tmp_path, kernel):
    # Tetrahedral interpolation is exact for affine functions (barycentric weights sum to 1).
    m = np.array([[0.5, 0.2, 0.1], [0.0, 0.9, -0.1], [0.3, 0.0, 0.6]])
    fn = lambda v: v @ m.T + np.array([0.01, 0.02, 0.03])  # noqa: E731
    lut = _lut_from_function(fn, n=7, dmin=-0.5, dmax=2.0)
    path = tmp_path / "affine.cube"
    path.write_text(cube_text(lut))
    back = read_cube(path)
    np.testing.assert_allclose(back.table, lut.table, atol=1e-7)
    np.testing.assert_allclose(back.domain_min, -0.5)
    x = np.random.default_rng(4).uniform(-0.5, 2.0, (5000, 3))
    np.testing.assert_allclose(lut_tetrahedral(x, back), fn(x), atol=2e-6)
    # out-of-domain input clamps to the domain
    np.testing.assert_allclose(lut_tetrahedral(np.array([[5.0, -3.0, 1.0]]), back), fn(np.array([[2.0, -0.5, 1.0]])),
                               atol=2e-6)


def test_cube_file_order_is_red_fastest(tmp_path):
    # A 2³ LUT whose entries are their own index: red must vary fastest in the file.
    lines = ["LUT_3D_SIZE 2"] + [f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)]
    p = tmp_path / "order.cube"
    p.write_text("\n".join(lines) + "\n")
    lut = read_cube(p)
    for r in (0, 1):
        for g in (0, 1):
            for b in (0, 1):
                np.testing.assert_array_equal(lut.table[r, g, b], [r, g, b])


@pytest.mark.parametrize("text, what", [
    ("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n", "1D"),
    ("TITLE \"x\"\n0 0 0\n", "no LUT_3D_SIZE"),
    ("LUT_3D_SIZE 2\n0 0 0\n1 1 1\n", "entries"),
    ("LUT_3D_SIZE 2\n" + "0 0 x\n" * 8, "non-numeric"),
    ("LUT_3D_SIZE 1\n0 0 0\n", "2..256"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 0 0\n" + "0 0 0\n" * 8, "DOMAIN"),
    ("LUT_3D_SIZE 2\nFOO 1\n" + "0 0 0\n" * 8, "keyword"),
    ("LUT_3D_SIZE 2\n" + "0 nan 0\n" * 8, "NaN"),
])
def test_malformed_cube_files_raise_format_error(tmp_path, text, what):
    p = tmp_path / "bad.cube"
    p.write_text(text)
    with pytest.raises(FormatError, match=what):
        read_cube(p)


def test_zip_and_path_errors(tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "no lut")
    with pytest.raises(FormatError, match="no .cube"):
        read_cube(empty)
    notzip = tmp_path / "fake.zip"
    notzip.write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="zip"):
        read_cube(notzip)
    with pytest.raises(InputError, match="no such file"):
        read_cube(tmp_path / "missing.cube")
    other = tmp_path / "lut.txt"
    other.write_text("LUT_3D_SIZE 2\n")
    with pytest.raises(FormatError):
        read_cube(other)
    with pytest.raises(InputError, match="needs parameter lut"):
        tonemap(np.zeros((2, 2, 3)), "lut")
    with pytest.raises(InputError, match="NaN"):
        lut_tetrahedral(np.array([[np.nan, 0, 0]]), youtube_lut())


def test_bundled_lut_is_the_shared_one(shared_data):
    shared = shared_data / "luts" / "HDR10_to_BT709_YouTube_Rev03.zip"
    if not shared.exists():
        pytest.skip("shared LUT not present")
    assert youtube_lut_path().read_bytes() == shared.read_bytes()
    assert (youtube_lut_path().parent / "LICENSE-YouTube-LUT.txt").read_text().startswith("BSD 3-Clause")
    np.testing.assert_array_equal(tonemap_lut(np.full((1, 1, 3), 100.0), shared), tonemap(np.full((1, 1, 3), 100.0),
                                                                                            "youtube"))
