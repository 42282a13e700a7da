import io

import numpy as np
import pytest
from PIL import Image

from personseg.errors import ImageError, OutputExistsError
from personseg.image import load_image, load_mask, write_image


@pytest.fixture(scope="module")
def jpeg_path(data_dir):
    return data_dir / "eg1800/images/00002.jpg"


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_path_bytes_and_array_agree(jpeg_path):
    a = load_image(jpeg_path)
    assert a.shape == (800, 600, 3) and a.dtype == np.uint8
    assert np.array_equal(load_image(jpeg_path.read_bytes()), a)
    assert np.array_equal(load_image(str(jpeg_path)), a)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP", "TIFF"])
def test_lossless_formats_round_trip(portrait, fmt):
    rgb = portrait[0][:200, :150]
    kw = {"lossless": True} if fmt == "WEBP" else {}
    assert np.array_equal(load_image(_encode(Image.fromarray(rgb), fmt, **kw)), rgb)


def test_exif_orientation_is_applied(portrait):
    rgb = portrait[0]
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be turned 90 degrees clockwise to display
    data = _encode(Image.fromarray(rgb), "JPEG", exif=exif, quality=95)
    out = load_image(data)
    assert out.shape == (600, 800, 3)
    # The displayed image's left column is the stored image's bottom row.
    diff = np.abs(out[:, 0].astype(int) - rgb[-1, :].astype(int)).mean()
    assert diff < 8


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "LA"])
def test_modes_convert_to_rgb(portrait, mode):
    src = Image.fromarray(portrait[0][:100, :80])
    if mode == "I;16":
        im = Image.fromarray((np.asarray(src.convert("L")).astype(np.uint16) * 257))
    else:
        im = src.convert(mode)
    out = load_image(_encode(im, "TIFF" if mode == "CMYK" else "PNG"))
    assert out.shape == (100, 80, 3) and out.dtype == np.uint8
    if mode in ("L", "I;16"):
        gray = np.asarray(src.convert("L")).astype(int)
        assert np.abs(out[..., 0].astype(int) - gray).max() <= 1
        assert np.array_equal(out[..., 0], out[..., 2])


def test_transparent_pixels_become_white(portrait):
    rgba = np.dstack([portrait[0][:50, :50], np.zeros((50, 50), np.uint8)])
    assert (load_image(rgba) == 255).all()   # arrays and files alike: shown over white
    assert (load_image(_encode(Image.fromarray(rgba), "PNG")) == 255).all()


def test_array_inputs(portrait):
    rgb = portrait[0]
    before = rgb.copy()
    assert np.array_equal(load_image(rgb.astype(np.float32) / 255.0), rgb)
    assert load_image(rgb[..., 0]).shape == rgb.shape
    assert np.array_equal(load_image(rgb.astype(np.uint16) * 257), rgb)
    assert np.array_equal(rgb, before)


def test_not_an_image_truncated_empty_missing(tmp_path, jpeg_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg_path.read_bytes()[:5000])
    for path, word in ((text, "not an image"), (empty, "empty"), (cut, "not a readable image"),
                       (tmp_path / "missing.png", "no such file")):
        with pytest.raises(ImageError, match=word):
            load_image(path)
    with pytest.raises(ImageError):
        load_image(b"")
    with pytest.raises(ImageError):
        load_image(12345)


def test_pixel_limit_refuses_bombs(jpeg_path):
    with pytest.raises(ImageError, match="over the limit"):
        load_image(jpeg_path, max_pixels=100_000)
    with pytest.raises(ImageError, match="over the limit"):
        load_image(jpeg_path.read_bytes(), max_pixels=100_000)


def test_write_is_atomic_and_does_not_overwrite(tmp_path, portrait):
    out = tmp_path / "sub" / "m.png"
    write_image(out, portrait[1])
    assert np.array_equal(load_mask(out), portrait[1])
    with pytest.raises(OutputExistsError):
        write_image(out, portrait[1])
    write_image(out, 255 - portrait[1], overwrite=True)
    assert np.array_equal(load_mask(out), 255 - portrait[1])
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.png"]
