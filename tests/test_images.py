import numpy as np
import pytest
from PIL import Image

from bench.errors import BadImage
from bench.images import as_rgb8, pixel_sha256, read_image, to_uint8


def test_rgb_png_round_trip(tmp_path, astronaut):
    Image.fromarray(astronaut).save(tmp_path / "x.png")
    im = read_image(tmp_path / "x.png")
    assert im.pixels.dtype == np.uint8 and im.pixels.shape == astronaut.shape
    assert np.array_equal(im.pixels, astronaut)
    assert im.sha256 == pixel_sha256(astronaut)


def test_grey_is_replicated(tmp_path, astronaut):
    g = astronaut[..., 1]
    Image.fromarray(g).save(tmp_path / "g.png")
    im = read_image(tmp_path / "g.png")
    assert im.pixels.shape == g.shape + (3,)
    assert all(np.array_equal(im.pixels[..., c], g) for c in range(3))


def test_opaque_rgba_drops_alpha_and_transparent_is_refused(tmp_path, astronaut):
    a = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    Image.fromarray(a).save(tmp_path / "opaque.png")
    assert np.array_equal(read_image(tmp_path / "opaque.png").pixels, astronaut)
    a[0, 0, 3] = 10
    Image.fromarray(a).save(tmp_path / "holes.png")
    with pytest.raises(BadImage, match=r"holes\.png.*transparency"):
        read_image(tmp_path / "holes.png")


def test_16bit_is_rounded_not_truncated(tmp_path):
    v = np.array([[0, 128, 129, 257 * 200 + 128, 65535]], np.uint16)  # 128/257 = 0.498 -> 0; 129 -> 1
    Image.fromarray(v).save(tmp_path / "d16.png")
    im = read_image(tmp_path / "d16.png")
    assert im.pixels[0, :, 0].tolist() == [0, 0, 1, 200, 255]


def test_corrupt_png_names_the_file(tmp_path, astronaut):
    p = tmp_path / "broken.png"
    Image.fromarray(astronaut).save(p)
    p.write_bytes(p.read_bytes()[:2000])
    with pytest.raises(BadImage, match="broken.png"):
        read_image(p)


def test_to_uint8_rounds_half_even_and_clips():
    assert to_uint8([0.4, 0.5, 1.5, 2.5, 254.6, 300, -3]).tolist() == [0, 0, 2, 2, 255, 255, 0]


def test_float_array_is_refused():
    with pytest.raises(BadImage, match="float"):
        as_rgb8(np.zeros((4, 4, 3), np.float32))
