import json

import numpy as np
import pytest

from personseg.errors import PersonsegError
from personseg.image import load_image, write_image
from personseg.outputs import background_image, blur_background, composite, cutout, overlay, save_outputs


@pytest.fixture(scope="module")
def result(segmenter, portrait):
    return segmenter(portrait[0])


def test_cutout_is_rgba_with_the_matte(result):
    rgba = cutout(result)
    assert rgba.shape == (*result.mask.shape, 4)
    assert (rgba[..., 3][result.mask == 0] < 128).all() and (rgba[..., 3][result.mask > 0] >= 127).all()


def test_replace_and_blur(result, tmp_path):
    green = background_image("#00ff00", result.mask.shape)
    out = composite(result, green)
    assert (out[result.alpha == 0] == [0, 255, 0]).all()
    assert np.array_equal(out[result.alpha == 1], result.foreground[result.alpha == 1])
    pic = tmp_path / "bg.png"
    write_image(pic, np.full((50, 70, 3), 9, np.uint8))
    assert (background_image(str(pic), (800, 600)) == 9).all()
    with pytest.raises(PersonsegError, match="neither a colour"):
        background_image("no-such-thing", (10, 10))
    blurred = blur_background(result)
    far = result.alpha == 0
    assert np.abs(blurred[far].astype(int) - result.rgb[far].astype(int)).mean() > 2
    assert overlay(result).shape == result.rgb.shape


def test_save_outputs_names_and_no_overwrite(result, tmp_path):
    paths = save_outputs(result, tmp_path, "photo", ("mask", "alpha", "cutout", "overlay", "json"))
    assert sorted(p.name for p in paths) == sorted(
        ["photo.mask.png", "photo.alpha.png", "photo.cutout.png", "photo.overlay.png", "photo.json"])
    assert np.array_equal(load_image(tmp_path / "photo.mask.png")[..., 0], result.mask)
    meta = json.loads((tmp_path / "photo.json").read_text())
    assert len(meta["people"][0]["keypoints"]) == 17
    with pytest.raises(PersonsegError, match="output exists"):
        save_outputs(result, tmp_path, "photo", ("mask",))
    save_outputs(result, tmp_path, "photo", ("mask",), overwrite=True)
    with pytest.raises(PersonsegError, match="needs a background"):
        save_outputs(result, tmp_path, "x", ("replace",))
