"""Reading images of every kind of input, and building a run's training sets (no data folder: scikit-image's
bundled photos and pairs made here)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pillow_heif import register_heif_opener
from skimage import data

from personseg.errors import ImageError, PersonsegError
from personseg.image import VOID, black_and_white, descreened, load_image, load_mask, read_mask, write_image
from personseg.models.registry import ARCHITECTURES, SPECS, spec
from personseg.train.augment import AUGMENT_PRESETS, AugmentConfig, augment
from personseg.evaluate import (check_pairs, evaluate, evaluate_people, find_pairs, instance_sets, predicted_people,
                                true_mask)
from personseg.train.data import PairSet, load_pairs, pose_keypoints, validation_split
from personseg.train.sets import training_sets
from synthetic import grey_profile, rgb_profile


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def test_path_bytes_array_and_pil_give_the_same_pixels(astronaut, tmp_path):
    path = tmp_path / "a.png"
    write_image(path, astronaut)
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, format="PNG")
    for source in (path, str(path), buf.getvalue(), astronaut, Image.fromarray(astronaut)):
        assert np.array_equal(load_image(source), astronaut)


def test_an_iphones_heic_photo_opens_upright_as_a_jpeg_of_it_does(astronaut, tmp_path):
    register_heif_opener()   # to write one here (imageio, which scikit-image loads, may have registered it too)
    im = Image.fromarray(np.ascontiguousarray(astronaut[:, :384]))   # 384x512, turned a quarter by EXIF
    exif = im.getexif()
    exif[0x0112] = 6
    for suffix in (".heic", ".jpg"):
        im.save(tmp_path / f"a{suffix}", exif=exif.tobytes(), quality=95)
    # in a process of its own: personseg itself must open HEIC, not a plugin another library registered here
    read = ("import sys, numpy as np; from personseg.image import load_image; "
            "a = load_image(sys.argv[1]); np.save(sys.argv[2], a)")
    subprocess.run([sys.executable, "-c", read, str(tmp_path / "a.heic"), str(tmp_path / "a.npy")], check=True)
    heic, jpeg = np.load(tmp_path / "a.npy"), load_image(tmp_path / "a.jpg")
    assert heic.shape == jpeg.shape == (384, 512, 3)
    assert np.abs(heic.astype(int) - jpeg.astype(int)).mean() < 6


#: Adobe RGB (1998)'s colorants adapted to D50, as its profile gives them, and sRGB's.
ADOBE_D50 = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
#: ... and as the sRGB IEC61966-2.1 profile gives them.
SRGB_IEC_D50 = ((0.436066, 0.222488, 0.013916), (0.385147, 0.716873, 0.097076), (0.143066, 0.060608, 0.714096))


def _adobe_to_srgb(rgb: np.ndarray) -> np.ndarray:
    """Adobe RGB values (gamma 563/256) as sRGB values, computed here through XYZ (D50)."""
    linear = (rgb / 255.0) ** (563 / 256)
    xyz = linear @ np.array(ADOBE_D50)
    srgb = np.clip(xyz @ np.linalg.inv(np.array(SRGB_D50)), 0, 1)
    encoded = np.where(srgb <= 0.0031308, 12.92 * srgb, 1.055 * srgb ** (1 / 2.4) - 0.055)
    return encoded * 255.0


def test_a_photos_colour_profile_is_applied_so_its_colours_come_out_as_srgb(tmp_path):
    # a camera set to Adobe RGB: its values shown as sRGB (as outputs written untagged are) look dull
    adobe = rgb_profile(*ADOBE_D50, 563 / 256, "Adobe-like")
    levels = np.array([[[100, 150, 50], [200, 40, 30], [30, 90, 210], [128, 128, 128]]], np.uint8)
    photo = np.repeat(np.repeat(levels, 8, axis=0), 8, axis=1)
    Image.fromarray(photo).save(tmp_path / "a.png", icc_profile=adobe)
    Image.fromarray(photo).save(tmp_path / "a.jpg", icc_profile=adobe, quality=100, subsampling=0)
    expected = _adobe_to_srgb(photo.astype(np.float64))
    assert np.abs(expected - photo).max() > 30   # the fix is seen
    tagged = Image.fromarray(photo)
    tagged.info["icc_profile"] = adobe
    for source in (tmp_path / "a.png", (tmp_path / "a.png").read_bytes(), tagged):
        assert np.abs(load_image(source) - expected).max() <= 2
    assert np.abs(load_image(tmp_path / "a.jpg") - expected).max() <= 4
    # transparent pixels still over white, the rest converted
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:, :8, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "b.png", icc_profile=adobe)
    read = load_image(tmp_path / "b.png")
    assert (read[:, :8] == 255).all() and np.abs(read[:, 8:] - expected[:, 8:]).max() <= 2


def test_a_photo_tagged_srgb_is_read_as_stored_and_a_broken_profile_is_said(astronaut, tmp_path):
    from PIL import ImageCms

    from personseg.image import SRGB, srgb_transform

    # LittleCMS's own sRGB, and one made as the sRGB IEC61966-2.1 profile cameras embed (its colorants, its curve
    # as 1024 points), which moves a few colours by one level: read as stored, at no cost
    iec = rgb_profile(*SRGB_IEC_D50, None, "sRGB IEC61966-2.1-like")
    levels = np.arange(0, 256, 5, dtype=np.uint8)
    colours = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(52, -1, 3)
    moved = np.asarray(ImageCms.applyTransform(Image.fromarray(colours), ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(io.BytesIO(iec)), SRGB, "RGB", "RGB"))).astype(int) - colours
    assert np.abs(moved).max() == 1
    for profile in (ImageCms.ImageCmsProfile(SRGB).tobytes(), iec):
        Image.fromarray(astronaut).save(tmp_path / "a.png", icc_profile=profile)
        assert np.array_equal(load_image(tmp_path / "a.png"), astronaut)
        assert srgb_transform(profile, "RGB") is None
    Image.fromarray(astronaut).save(tmp_path / "b.png", icc_profile=b"not a colour profile at all")
    with pytest.warns(UserWarning, match="b.png: its colour profile is unreadable"):
        assert np.array_equal(load_image(tmp_path / "b.png"), astronaut)


def test_grey_profiles_apply_to_grey_photos_and_a_profile_for_other_pixels_is_said(tmp_path):
    grey = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))   # 16 x 64, a ramp
    alpha = np.full(grey.shape, 255, np.uint8)
    alpha[:, :8] = 0
    light = (grey / 255.0) ** 1.8   # the profile's gamma, then sRGB's curve
    expected = 255 * np.where(light <= 0.0031308, 12.92 * light, 1.055 * light ** (1 / 2.4) - 0.055)
    profile = grey_profile(1.8)
    Image.fromarray(grey).save(tmp_path / "l.png", icc_profile=profile)
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(tmp_path / "la.png", icc_profile=profile)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # neither warns
        l, la = load_image(tmp_path / "l.png"), load_image(tmp_path / "la.png")
    assert np.abs(l[..., 0] - expected).max() <= 2 and np.abs(l[..., 0].astype(int) - grey).max() > 10
    assert (la[:, :8] == 255).all() and np.array_equal(la[:, 8:], l[:, 8:])   # transparent over white, as before
    # a grey photo given an RGB profile (PIL's convert("L") keeps it) is converted as the RGB photo it was
    adobe = rgb_profile(*ADOBE_D50, 563 / 256)
    Image.fromarray(grey).save(tmp_path / "l_rgb.png", icc_profile=adobe)
    assert np.abs(load_image(tmp_path / "l_rgb.png") - _adobe_to_srgb(np.dstack([grey] * 3).astype(float))).max() <= 2
    cmyk = Image.new("CMYK", (16, 16), (0, 128, 255, 0))
    cmyk.save(tmp_path / "c.jpg", icc_profile=adobe)
    with pytest.warns(UserWarning, match="c.jpg: its colour profile is for RGB pixels, not CMYK; the colours are used"):
        load_image(tmp_path / "c.jpg")


def test_written_pngs_keep_every_channel_in_order_and_jpegs_stay_close(astronaut, tmp_path):
    rgba = np.dstack([astronaut, astronaut[..., 1]])
    for name, array in (("gray.png", astronaut[..., 0]), ("rgb.png", astronaut), ("rgba.png", rgba)):
        assert np.array_equal(np.asarray(Image.open(write_image(tmp_path / name, array))), array)
    jpeg = np.asarray(Image.open(write_image(tmp_path / "rgb.jpg", astronaut)))
    assert np.abs(jpeg.astype(int) - astronaut).mean() < 3
    mask = astronaut[..., 0] > 128
    assert np.array_equal(np.asarray(Image.open(write_image(tmp_path / "bool.png", mask))), mask * np.uint8(255))
    deep = astronaut.astype(np.uint16) * 257
    assert np.array_equal(np.asarray(Image.open(write_image(tmp_path / "deep.png", deep[..., 0]))), deep[..., 0])
    grey_alpha = np.asarray(Image.open(write_image(tmp_path / "la.png", rgba[..., 2:])))   # as RGBA
    assert np.array_equal(grey_alpha, np.dstack([rgba[..., 2:3]] * 3 + [rgba[..., 3:]]))
    refused = (("float.png", astronaut / 255.0, "float64.*uint8"), ("flat.png", astronaut[..., :1], "512x512x1"),
               ("deep.jpg", deep, "uint16 array as JPEG"), ("cut.jpg", rgba, "RGBA.*JPEG"))
    for name, array, words in refused:
        with pytest.raises(ImageError, match=words):
            write_image(tmp_path / name, array)
        assert not (tmp_path / name).exists()


def test_gray_and_float_arrays_become_rgb_uint8(astronaut):
    gray = load_image(astronaut[..., 0])
    assert gray.shape == astronaut.shape and gray.dtype == np.uint8
    assert load_image(astronaut.astype(np.float32) / 255.0).dtype == np.uint8


@pytest.mark.parametrize("bad", [np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 2), np.uint8),
                                 np.full((4, 4), np.nan), np.zeros((4, 4), np.complex64)])
def test_bad_arrays_are_refused(bad):
    with pytest.raises(ImageError):
        load_image(bad)


def test_a_channels_first_array_is_refused_with_the_transpose_named(astronaut):
    with pytest.raises(ImageError, match=r"got 512 \(channels first\? arr.transpose\(1, 2, 0\) puts them last\)"):
        load_image(astronaut.transpose(2, 0, 1))
    with pytest.raises(ImageError, match="an image array of int32 must hold values in 0..255"):
        load_image(np.full((8, 8), 300, np.int32))


def test_photos_past_pillows_warning_are_read_up_to_the_limit(monkeypatch):
    """Pillow warns of photos over half its limit (89.5 MP): that warning was made an error, refusing photos from
    89.5 MP where the stated limit is 179 MP, and from several threads it left the process's warning filters
    changed. Pillow's limit made small here: 1600 pixels between its warning (1000) and its refusal (2000)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 20, 30)).save(buf, format="PNG")
    filters = list(warnings.filters)
    with pytest.warns(Image.DecompressionBombWarning):
        assert load_image(buf.getvalue()).shape == (40, 40, 3)
    assert warnings.filters == filters
    big = io.BytesIO()
    Image.new("RGB", (50, 50)).save(big, format="PNG")   # past Pillow's refusal: said as personseg's
    with pytest.raises(ImageError, match="2,500 pixels is over the limit"):
        load_image(big.getvalue())


def test_a_dark_16_bit_grey_photo_stays_dark(tmp_path):
    """A fade's dark frame as a 16-bit grey PNG (values up to 178 of 65535) was read as 0..255: 257 times too
    bright, a flash in the clip."""
    import cv2

    dark = np.tile(np.arange(0, 180, 2, dtype=np.uint16), (16, 1))
    cv2.imwrite(str(tmp_path / "dark.png"), dark)
    assert Image.open(tmp_path / "dark.png").mode == "I;16"
    assert load_image(tmp_path / "dark.png").max() <= 1


def test_8_bit_values_in_a_uint16_array_are_refused_not_read_as_black(astronaut):
    with pytest.raises(ImageError, match="uint16 image array holding 0..255 only.*pass 8-bit values as uint8"):
        load_image(astronaut.astype(np.uint16))
    assert load_image(np.zeros((8, 8), np.uint16)).max() == 0   # black is black
    assert np.array_equal(load_image(astronaut.astype(np.uint16) * 257), astronaut)


def test_a_file_object_read_to_its_end_says_so(astronaut):
    f = io.BytesIO()
    Image.fromarray(astronaut).save(f, format="PNG")
    f.seek(0)
    assert np.array_equal(load_image(f), astronaut)
    with pytest.raises(ImageError, match="read to its end already .seek.0. first"):   # a second call on the same one
        load_image(f)
    with pytest.raises(ImageError, match="gave no bytes: it is empty"):
        load_image(io.BytesIO())


def test_not_an_image_is_an_image_error(tmp_path):
    with pytest.raises(ImageError):
        load_image(b"not an image")
    with pytest.raises(ImageError):
        load_image(tmp_path / "missing.jpg")


def test_masks_of_0_and_1_palette_masks_and_soft_mattes_are_read_as_they_are_meant(tmp_path):
    person = np.zeros((20, 30), np.uint8)
    person[5:15, 10:20] = 1
    Image.fromarray(person).save(tmp_path / "ones.png")   # as many labelling tools save masks
    indexed = Image.fromarray(person, mode="P")
    indexed.putpalette([0, 0, 0, 90, 0, 0])   # index 1 drawn dark red: darker than mid-grey
    indexed.save(tmp_path / "indexed.png")
    soft = (person * 200 + 40).astype(np.uint8)   # a matte with a grey floor: that floor is background
    Image.fromarray(soft).save(tmp_path / "soft.png")
    Image.fromarray(person * 255).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "quantised.png")
    labels = person.copy()
    labels[5:15, 15:20] = 2   # a second person's label, as Penn-Fudan's own masks number people
    Image.fromarray(labels).save(tmp_path / "labels.png")
    noisy = person.copy()
    noisy[5:15, 12] = 3   # a 0/1 mask through JPEG: values up to 3 at its edges (read at mid-grey: all background)
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    for name in ("ones", "indexed", "soft", "quantised", "labels", "noisy"):   # quantised: a 0/255 mask whose
        assert np.array_equal(load_mask(tmp_path / f"{name}.png"), person * 255), name   # palette starts white
    red = np.zeros((20, 30, 3), np.uint8)
    red[5:15, 10:20] = (255, 0, 0)   # a red person on black: darker than mid-grey as grey, read as nobody before
    Image.fromarray(red).save(tmp_path / "red.png")
    cutout = np.dstack([np.full((20, 30, 3), 230, np.uint8), person * 255])   # a cut-out: the person is its alpha
    Image.fromarray(cutout, mode="RGBA").save(tmp_path / "cutout.png")
    opaque = np.dstack([np.dstack([person * 255] * 3), np.full((20, 30), 255, np.uint8)])   # alpha says nothing
    Image.fromarray(opaque, mode="RGBA").save(tmp_path / "opaque.png")
    bordered = opaque.copy()
    bordered[0, :4, 3] = 0   # a few transparent pixels (under ALPHA_MASK_SHARE): the colours still make the mask
    Image.fromarray(bordered, mode="RGBA").save(tmp_path / "bordered.png")
    for name in ("red", "cutout", "opaque", "bordered"):
        assert np.array_equal(load_mask(tmp_path / f"{name}.png"), person * 255), name


def test_a_label_maps_void_band_is_neither_person_nor_scored(tmp_path):
    # PASCAL VOC's masks: 0 background, 1.. labels, 255 a band round each object; read at mid-grey the band alone
    # was the person, scored as the truth
    person = np.zeros((20, 30), np.uint8)
    person[5:15, 10:20] = 1
    voc = person.copy()
    voc[4, 9:21] = voc[15, 9:21] = voc[4:16, 9] = voc[4:16, 20] = VOID
    Image.fromarray(voc).save(tmp_path / "voc.png")
    indexed = Image.fromarray(voc, mode="P")
    indexed.putpalette([0, 0, 0, 128, 0, 0] + [0, 0, 0] * 253 + [224, 224, 192])   # VOC's own: a palette
    indexed.save(tmp_path / "indexed.png")
    for name in ("voc", "indexed"):
        mask, void = read_mask(tmp_path / f"{name}.png")
        assert np.array_equal(mask, person * 255) and np.array_equal(void, voc == VOID), name
    # 0/255 masks that are no label maps, though they hold 255 and values under 32: read as they were
    big = np.zeros((60, 80), np.uint8)
    big[10:50, 20:60] = 255
    stray = big.copy()
    stray[0, :2] = 1   # two dark stray pixels are not the person of a label map whose void the person is
    lifted = np.maximum(big, 1)   # a background of 1, not 0
    Image.fromarray(stray).save(tmp_path / "stray.png")
    Image.fromarray(lifted).save(tmp_path / "lifted.png")
    Image.fromarray(big).convert("P").save(tmp_path / "grey-palette.png")   # indices 0/255 of a grey palette
    mid_tone = np.where(big > 0, 128, 0).astype(np.uint8)   # a 0/128 mask is not a photo
    Image.fromarray(mid_tone).save(tmp_path / "mid-tone.png")
    for name in ("stray", "lifted", "grey-palette", "mid-tone"):
        mask, void = read_mask(tmp_path / f"{name}.png")
        assert np.array_equal(mask, big) and void is None, name


def test_a_person_coloured_on_a_coloured_background_is_refused_not_read_as_all_person(tmp_path):
    mask = np.zeros((20, 30, 3), np.uint8)
    mask[:] = (0, 0, 255)
    mask[5:15, 10:20] = (255, 0, 0)   # read on black, both colours are bright: all person
    Image.fromarray(mask).save(tmp_path / "blue.png")
    with pytest.raises(ImageError, match="blue.png: not a readable mask.*read on black"):
        load_mask(tmp_path / "blue.png")
    Image.fromarray(np.full((20, 30, 3), 255, np.uint8)).save(tmp_path / "white.png")   # one colour: all person
    assert load_mask(tmp_path / "white.png").min() == 255


def test_every_model_has_a_torch_architecture():
    assert {m.architecture for m in SPECS.values()} <= set(ARCHITECTURES)
    with pytest.raises(ValueError, match="unknown model"):
        spec("magic")


def test_the_learning_rate_schedule_takes_runs_of_any_length():
    import torch

    from personseg.train.loop import one_cycle

    for steps in range(1, 61):   # 20 steps (e.g. 20 epochs of 16 pairs) divided by zero in torch's own
        opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
        sched, rates = one_cycle(opt, 0.1, steps), []
        for _ in range(steps):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert max(rates) <= 0.1 and (steps < 3 or rates[0] < max(rates))


def test_weights_of_another_architecture_are_refused_in_one_line():
    from personseg.train.loop import build_model, load_init

    with pytest.raises(PersonsegError, match=r"^run/best.pt: the weights of another architecture \("):
        load_init(build_model("sinet"), build_model("lwpsn").state_dict(), "run/best.pt")


def test_validation_split_is_seeded_and_disjoint():
    val, trn = validation_split(50, 0.1, 0)
    assert len(val) == 5 and not set(val) & set(trn) and sorted(val + trn) == list(range(50))
    assert validation_split(50, 0.1, 0) == (val, trn) and validation_split(50, 0.1, 1) != (val, trn)


def test_training_sets_join_folders_and_hold_out_a_seeded_share(tmp_path):
    rng = np.random.default_rng(0)
    roots = []
    for name, count in (("a", 12), ("b", 8)):
        root = tmp_path / name
        for i in range(count):
            write_image(root / "images" / f"{i:02d}.png", rng.integers(0, 255, (40, 30, 3), dtype=np.uint8))
            mask = np.zeros((40, 30), np.uint8)
            mask[10:30, 8:22] = 255
            write_image(root / "masks" / f"{i:02d}.png", mask)
        roots.append(root)
    trn, val, augment = training_sets("sinet", roots, None, tmp_path / "cache", AUGMENT_PRESETS["full"],
                                      val_fraction=0.25, seed=0, log=lambda line: None)
    assert len(trn) == 15 and len(val) == 5 and augment == AUGMENT_PRESETS["full"]
    assert not set(trn.ids) & set(val.ids) and {i.split("/")[0] for i in trn.ids + val.ids} == {"a", "b"}
    assert trn.images[0].shape == (40, 30, 3) and trn.masks[0].max() == 255


def test_black_and_white_augmentation_gives_equal_channels_noise_included(astronaut):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    mask[100:400, 150:350] = 255
    for grey in (1.0, 0.0):
        img, _ = augment(np.random.default_rng(0), astronaut, mask, (96, 128), AugmentConfig(grey=grey, noise=1))
        same = np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])
        assert same == (grey == 1.0)
    assert all(preset.grey == 0.1 for preset in AUGMENT_PRESETS.values())   # both presets; the default draws none


def test_black_and_white_keeps_the_luminance_in_every_channel(astronaut):
    for rgb in (astronaut, astronaut.astype(np.float32)):
        grey = black_and_white(rgb)
        assert grey.shape == rgb.shape and grey.dtype == rgb.dtype and (grey == grey[..., :1]).all()
        expected = rgb.astype(np.float64) @ [0.299, 0.587, 0.114]
        assert np.abs(grey[..., 0] - expected).max() <= 1.0


def test_a_full_disk_names_the_file_being_written_and_leaves_no_temporary(tmp_path, monkeypatch):
    import errno
    import os

    from personseg.errors import describe
    from personseg.image import write_bytes

    opened = os.fdopen

    class Full:
        def __init__(self, fd: int, mode: str) -> None:
            self.file = opened(fd, mode)

        def __enter__(self) -> "Full":
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", Full)
    with pytest.raises(OSError) as caught:
        write_bytes(tmp_path / "frame-000001.mask.png", b"png")
    assert describe(caught.value) == f"{tmp_path / 'frame-000001.mask.png'}: No space left on device"
    assert list(tmp_path.iterdir()) == []



def test_a_photo_cut_short_is_named_before_any_is_segmented(tmp_path):
    write_image(tmp_path / "images/a.jpg", np.random.default_rng(0).integers(0, 255, (64, 48, 3), np.uint8))
    whole = (tmp_path / "images/a.jpg").read_bytes()
    (tmp_path / "images/a.jpg").write_bytes(whole[: len(whole) // 2])   # its header intact
    write_image(tmp_path / "masks/a.png", np.zeros((64, 48), np.uint8))
    for check in (lambda: check_pairs(find_pairs(tmp_path / "images", tmp_path / "masks"), "eval's"),
                  lambda: load_pairs(tmp_path)):   # eval, training
        with pytest.raises(ImageError, match=r"1 of the 1 pairs in .* cannot be used: .*a.jpg: not a readable"):
            check()

def test_a_mask_of_another_size_is_named_by_eval_and_training(tmp_path):
    write_image(tmp_path / "images/a.png", np.zeros((40, 30, 3), np.uint8))
    write_image(tmp_path / "masks/a.png", np.zeros((20, 15), np.uint8))
    pairs = find_pairs(tmp_path / "images", tmp_path / "masks")
    with pytest.raises(ImageError, match=r"masks/a.png: mask is 15x20, image .* is 30x40"):
        evaluate(lambda rgb: np.zeros(rgb.shape[:2], np.uint8), pairs)
    write_image(tmp_path / "images/b.png", np.zeros((40, 30, 3), np.uint8))
    write_image(tmp_path / "masks/b.png", np.zeros((10, 15), np.uint8))
    (tmp_path / "images/c.jpg").write_bytes(b"not a photo")
    write_image(tmp_path / "masks/c.png", np.zeros((40, 30), np.uint8))
    with pytest.raises(ImageError, match=r"3 of the 3 pairs in .* cannot be used: .*a.png: mask is 15x20.*b.png: mask "
                                         r"is 15x10.*c.jpg"):   # every one named, not one a run
        load_pairs(tmp_path)
    write_image(tmp_path / "images/d.png", np.zeros((40, 30, 3), np.uint8))   # and one without a mask: named
    with pytest.raises(ImageError, match=r"1 without a mask .*\(d\); and 3 of the 3 pairs"):   # at once, not
        load_pairs(tmp_path)   # before the others in a second run
    people = [("a", tmp_path / "images/a.png", [tmp_path / "masks/a.png"], [])]   # eval --people
    with pytest.raises(ImageError, match="mask is 15x20"):
        evaluate_people(lambda rgb: [], people)


@pytest.mark.parametrize("folders, given, hint", [
    (("images", "masks"), "images", "give the folder that holds both: "),
    (("images", "labels"), "", "it holds images/, labels/; masks/ is missing"),
    ((), "", "it is empty"),
    ((), "nowhere", "there is no folder "),
    (("photo.jpg",), "", "it holds images itself: put the photos in "),
])
def test_a_folder_laid_out_otherwise_is_said_what_it_holds(tmp_path, folders, given, hint):
    for name in folders:
        if "." in name:
            (tmp_path / name).touch()
        else:
            (tmp_path / name).mkdir()
    with pytest.raises(PersonsegError, match=f"expected folders 'images/' and 'masks/'.*\\({hint}"):
        load_pairs(tmp_path / given)


def test_photos_for_masks_inverted_masks_and_masks_named_otherwise_are_pointed_out(tmp_path, astronaut):
    # each trained without a word (validation IoU 0.18 and 0.002), or was refused as lacking masks, no more said
    photo = astronaut
    person = np.zeros(photo.shape[:2], np.uint8)
    person[100:, 150:350] = 255
    for i in range(3):
        write_image(tmp_path / f"images/{i}.png", photo)
        write_image(tmp_path / f"masks/{i}.png", 255 - person)
    with pytest.warns(UserWarning, match="3 of the 3 masks in .* mark most of their border as the person"):
        load_pairs(tmp_path)
    write_image(tmp_path / "masks/0.png", photo, overwrite=True)
    with pytest.raises(ImageError, match="0.png: not a mask but a photo"):
        load_mask(tmp_path / "masks/0.png")
    rng = np.random.default_rng(0)   # dark and bright parts in many shades, no mid-grey: it was read as a mask
    low, high = rng.integers(10, 64, photo.shape), rng.integers(192, 247, photo.shape)
    dark = np.where(rng.random(photo.shape) < 0.5, low, high).astype(np.uint8)
    write_image(tmp_path / "masks/0.png", dark, overwrite=True)
    with pytest.raises(ImageError, match=r"0.png: not a mask but a photo, it seems: \d+% of its pixels differ"):
        load_mask(tmp_path / "masks/0.png")
    noisy = np.clip(np.where(person > 0, 235, 16) + np.random.default_rng(0).normal(0, 3, person.shape), 0, 255)
    write_image(tmp_path / "masks/0.png", noisy.astype(np.uint8), overwrite=True)   # video's range, with noise:
    assert (load_mask(tmp_path / "masks/0.png") == person).all()   # two tones, a mask however textured
    (tmp_path / "masks/0.png").rename(tmp_path / "masks/0_mask.png")
    with pytest.raises(PersonsegError, match="0_mask.png is not the mask of any photo"):
        find_pairs(tmp_path / "images", tmp_path / "masks")
    write_image(tmp_path / "images/01.png", photo)   # 01.png, another photo's mask, is named in no hint
    write_image(tmp_path / "masks/01.png", person)
    (tmp_path / "masks/0_mask.png").unlink()
    with pytest.raises(PersonsegError) as refused:
        find_pairs(tmp_path / "images", tmp_path / "masks")
    assert "without a mask" in str(refused.value) and "01.png" not in str(refused.value)


def test_cached_keypoints_belong_to_the_pixels_not_only_the_name_and_size(tmp_path, monkeypatch):
    calls = []

    class Backend:
        def detect(self, rgb):
            calls.append(1)
            return [np.full((17, 3), float(rgb[0, 0, 0]), np.float32)]

    monkeypatch.setattr("personseg.pose.get_backend", lambda name: Backend())
    photo = np.zeros((8, 6, 3), np.uint8)
    photo[:, :3] = 200
    first = PairSet(["a"], [photo], [np.zeros((8, 6), np.uint8)])
    mirrored = PairSet(["a"], [photo[:, ::-1]], [np.zeros((8, 6), np.uint8)])
    cache = tmp_path / "keypoints.json"
    assert pose_keypoints(first, cache, log=lambda line: None)[0][0][0, 0] == 200
    pose_keypoints(first, cache, log=lambda line: None)
    assert len(calls) == 1   # the same photo: from the cache
    assert pose_keypoints(mirrored, cache, log=lambda line: None)[0][0][0, 0] == 0 and len(calls) == 2


def test_incomplete_pairs_name_the_ids_without_a_mask_and_without_an_image(tmp_path):
    for name in ("a", "b"):
        write_image(tmp_path / "images" / f"{name}.png", np.zeros((4, 4, 3), np.uint8))
    write_image(tmp_path / "masks/a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(PersonsegError, match=r"pairs incomplete: 1 without a mask in .*masks \(b\)$"):
        find_pairs(tmp_path / "images", tmp_path / "masks")
    with pytest.raises(PersonsegError, match=r"1 without an image in .*images \(c\); 1 without a mask .*\(b\)$"):
        find_pairs(tmp_path / "images", tmp_path / "masks", ["a", "b", "c"])
    write_image(tmp_path / "images/sub/d.png", np.zeros((4, 4, 3), np.uint8))   # not scored: said
    with pytest.warns(UserWarning, match=r"1 image in subfolders of .*images \(sub/\) left out"):
        assert [i for i, _, _ in find_pairs(tmp_path / "images", tmp_path / "masks", ["a"])] == ["a"]
    write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))   # the masks' folder is not counted as images
    with pytest.warns(UserWarning, match=r"^2 images in subfolders of .* \(images/\) left out"):
        find_pairs(tmp_path, tmp_path / "masks")


def test_ids_listed_twice_or_with_their_extension_are_named(tmp_path):
    # a stem listed twice was scored twice
    write_image(tmp_path / "images/a.png", np.zeros((4, 4, 3), np.uint8))
    write_image(tmp_path / "masks/a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(PersonsegError, match="ids listed more than once: a$"):
        find_pairs(tmp_path / "images", tmp_path / "masks", ["a", "a"])
    with pytest.raises(PersonsegError, match=r"\(a.png\) \(ids are file names without their extension\)$"):
        find_pairs(tmp_path / "images", tmp_path / "masks", ["a.png"])


def test_people_are_scored_against_a_coco_file_of_polygons_and_run_lengths(tmp_path):
    # eval --people read pose_mini's layout only: a COCO file (annotate's own, CVAT's) gave "'image'"
    from pycocotools import mask as coco_mask

    write_image(tmp_path / "photos/a.png", np.zeros((20, 30, 3), np.uint8))
    write_image(tmp_path / "photos/b.png", np.zeros((20, 30, 3), np.uint8))
    first, crowd = np.zeros((20, 30), np.uint8), np.zeros((20, 30), np.uint8)
    first[5:10, 3:12], crowd[12:18, 20:28] = 1, 1
    rle = coco_mask.encode(np.asfortranarray(first))
    runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, crowd.ravel(order="F").astype(int), -1]))).tolist()   # 0s first
    coco = {"images": [{"id": 7, "file_name": "a.png"}, {"id": 8, "file_name": "b.png"}],
            "categories": [{"id": 3, "name": "person"}, {"id": 1, "name": "dog"}],
            "annotations": [{"id": 1, "image_id": 7, "category_id": 3,
                             "segmentation": rle | {"counts": rle["counts"].decode()}},
                            {"id": 2, "image_id": 7, "category_id": 3, "segmentation": [[20, 0, 29, 0, 29, 4, 20, 4]]},
                            {"id": 3, "image_id": 7, "category_id": 3, "iscrowd": 1,
                             "segmentation": {"size": [20, 30], "counts": runs}},
                            {"id": 4, "image_id": 8, "category_id": 1, "segmentation": [[0, 0, 9, 0, 9, 9]]}]}
    path = tmp_path / "people.json"
    path.write_text(json.dumps(coco))
    (a, image, people, crowds), (b, _, nobody, _) = instance_sets(path, tmp_path / "photos")
    assert (a, b, image, len(people), len(crowds), nobody) == ("a.png", "b.png", tmp_path / "photos/a.png", 2, 1, [])
    rgb = np.zeros((20, 30, 3), np.uint8)
    assert np.array_equal(true_mask(people[0], rgb, image), first * 255)
    assert np.array_equal(true_mask(crowds[0], rgb, image), crowd * 255)
    assert (true_mask(people[1], rgb, image)[0:4, 21:29] == 255).all()
    match = evaluate_people(lambda rgb: [first * 255, crowd * 255], [(a, image, people, crowds)])
    assert (len(match.ious), match.missed, match.spurious) == (1, 1, 0)   # the one on the crowd is not spurious
    with pytest.raises(PersonsegError, match="2 of the 2 images .* are not under"):
        instance_sets(path)   # the file's own folder
    with pytest.raises(ImageError, match="cannot be read .run lengths of a 30x21 mask on a 30x20 photo"):
        true_mask({"size": [21, 30], "counts": "abc"}, rgb, image)


@pytest.mark.filterwarnings("ignore:.*without a segmentation are not scored")
def test_a_coco_file_to_score_people_is_checked_before_anything_is_segmented(tmp_path):
    # a bad polygon on the last image ended eval after every photo was segmented; a photo labelled at another
    # size (or as stored, before its EXIF turn) was scored as it came, wrong; a photo listed twice counted twice
    write_image(tmp_path / "a.png", np.zeros((20, 30, 3), np.uint8))
    turned = Image.new("RGB", (30, 20))
    exif = turned.getexif()
    exif[0x0112] = 6   # shown a quarter turned: 20x30
    turned.save(tmp_path / "t.jpg", exif=exif)
    square = [[0, 0, 9, 0, 9, 9, 0, 9]]
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
            "categories": [{"id": 0, "name": "Person"}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 0, "segmentation": square},
                            {"id": 6, "image_id": 1, "category_id": 0, "bbox": [0, 0, 4, 4]}]}
    path = tmp_path / "people.json"

    def sets(change=lambda c: None):
        data = json.loads(json.dumps(coco))
        change(data)
        path.write_text(json.dumps(data))
        return instance_sets(path)

    with pytest.warns(UserWarning, match="1 people without a segmentation are not scored"):
        assert [len(people) for _, _, people, _ in sets()] == [1]   # "Person", id 0: a person
    with pytest.raises(PersonsegError, match="annotation 5 of a.png cannot be read .a polygon is a list"):
        sets(lambda c: c["annotations"][0].update(segmentation=[[1, 2]]))
    with pytest.raises(PersonsegError, match="gives a.png as 60x40; the photo is 30x20: annotations are scored"):
        sets(lambda c: c["images"][0].update(width=60, height=40))
    with pytest.raises(PersonsegError, match="gives t.jpg as 30x20; the photo is 20x30 .its EXIF orientation"):
        sets(lambda c: c["images"][0].update(file_name="t.jpg"))
    with pytest.raises(PersonsegError, match="lists a.png more than once"):
        sets(lambda c: c["images"].append({"id": 2, "file_name": "a.png"}))
    with pytest.raises(PersonsegError, match="none of its 1 people has a segmentation"):
        sets(lambda c: c["annotations"].pop(0))
    with pytest.raises(PersonsegError, match="no category named person"):
        sets(lambda c: c["categories"][0].update(name="dog"))
    # run lengths short of the photo were decoded from memory pycocotools never wrote (person pixels from nowhere)
    for counts in ([105], "", [-5, 605]):
        with pytest.raises(PersonsegError, match="annotation 5 of a.png cannot be read .run lengths that do not"):
            sets(lambda c: c["annotations"][0].update(segmentation={"size": [20, 30], "counts": counts}))
    # CVAT writes its masks as crowds: scored as nobody, silently; Label Studio on Windows, ids as strings
    with pytest.raises(PersonsegError, match="all of its 1 people are marked as crowds .* --crowds-as-people"):
        sets(lambda c: c["annotations"][0].update(iscrowd=1))
    (tmp_path / "sub").mkdir()
    write_image(tmp_path / "sub/b.png", np.zeros((20, 30, 3), np.uint8))
    windows = sets(lambda c: c["images"][0].update(file_name="sub\\b.png", id="1"))
    assert windows[0][1] == tmp_path / "sub/b.png" and len(windows[0][2]) == 1
    # with a limit, only the images scored are looked at (a missing one past it is not)
    path.write_text(json.dumps(coco | {"images": coco["images"] + [{"id": 9, "file_name": "gone.png"}]}))
    assert len(instance_sets(path, limit=1)) == 1
    with pytest.raises(PersonsegError, match="1 of the 2 images"):
        instance_sets(path)
    path.write_text("[1, 2]")
    with pytest.raises(PersonsegError, match="not a readable annotations file \\(TypeError"):
        instance_sets(path)


def test_hidden_files_are_not_pairs(tmp_path):
    # macOS's ._ copies beside the photos made train and eval refuse the set ("1 without a mask (._a)")
    write_image(tmp_path / "images/a.png", np.zeros((4, 4, 3), np.uint8))
    write_image(tmp_path / "masks/a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "images/._a.png").write_bytes(b"\0\0")
    assert [i for i, _, _ in find_pairs(tmp_path / "images", tmp_path / "masks")] == ["a"]


def test_a_photo_of_only_black_and_white_dots_is_blurred_into_shades_and_any_other_left_as_it_is(astronaut):
    assert descreened(astronaut) is astronaut
    dots = np.asarray(Image.fromarray(astronaut).convert("1").convert("RGB"))
    seen = descreened(dots)
    assert seen.shape == dots.shape and len(np.unique(seen)) > 100
    assert abs(float(seen.mean()) - float(dots.mean())) < 2   # the same brightness, in shades
    flags = np.zeros((40, 60, 3), np.uint8)
    flags[:, :30, 0] = flags[:, 30:, 2] = 255   # flat primary colours: a graphic, not dots
    assert descreened(flags) is flags


def test_a_url_and_one_persons_keypoints_unwrapped_say_what_to_give():
    from personseg.pose.keypoints import given_keypoints

    with pytest.raises(ImageError, match="https://example.com/a.jpg: a URL; personseg reads files and bytes"):
        load_image("https://example.com/a.jpg")
    for alone in (np.zeros((17, 3)), np.zeros(51)):
        with pytest.raises(PersonsegError, match=r"one person's keypoints alone are people=\[keypoints\]"):
            given_keypoints(alone)
    assert len(given_keypoints([np.zeros(51)])) == 1 and len(given_keypoints(np.zeros((2, 17, 3)))) == 2


def test_keypoints_too_large_for_a_float_are_refused_in_words():
    """An integer of 400 digits raised a bare OverflowError (the service answered 500)."""
    from personseg.pose.keypoints import given_keypoints

    for huge in (10 ** 400, -(10 ** 400)):
        with pytest.raises(PersonsegError, match="person 1: keypoints must be finite"):
            given_keypoints([[huge] * 51])
    with pytest.raises(PersonsegError, match=r"person 1: give 17 keypoints as \[x, y, v\]"):   # taken as numbers
        given_keypoints([["12"] * 51])


def test_a_pose_is_matched_to_the_true_person_most_of_its_keypoints_stand_on_once():
    from personseg.train.people import matched

    from synthetic import person

    left, right = np.zeros((400, 600), bool), np.zeros((400, 600), bool)
    left[40:360, 150:250] = True
    right[40:360, 350:450] = True
    a, b, nowhere = person(200, 50, 100), person(400, 50, 100), person(200, 50, 100)
    nowhere[:, 1] -= 1000   # off the photo
    twice = person(205, 50, 100)   # a second pose of the left person, fewer points sure
    twice[:8, 2] = 0.1
    got = matched([b, nowhere, twice, a], [left, right])
    assert [(kp is p, j) for (kp, j), p in zip(got, (b, a))] == [(True, 1), (True, 0)]
    assert matched([], [left]) == [] and matched([a], []) == []


def test_the_person_model_trains_on_each_real_person_their_photos_held_out_whole(tmp_path, monkeypatch):
    """A folder with a mask per person (annotations.json) gives the person model a pair per person found: framed
    on them, their prior, their mask alone; validation takes whole photos."""
    import json

    import personseg.train.people as people
    import personseg.train.sets as sets

    from synthetic import person

    root = tmp_path / "street"
    entries, poses = [], {}
    for i in range(8):
        write_image(root / "images" / f"{i}.png", np.full((400, 600, 3), 60 + i, np.uint8))
        instances = []
        for k, cx in enumerate((200, 400)):
            m = np.zeros((400, 600), np.uint8)
            m[40:360, cx - 50 : cx + 50] = 255
            write_image(root / "instance_masks" / f"{i}_{k}.png", m)
            instances.append({"instance_mask": f"instance_masks/{i}_{k}.png"})
        entries.append({"image": f"images/{i}.png", "instances": instances})
        poses[str(i)] = [person(200, 50, 100), person(400, 50, 100)]
    (root / "annotations.json").write_text(json.dumps({"images": entries}))
    monkeypatch.setattr(people, "photo_people", lambda rgb, backend: ([], None))   # each photo's grey is its id
    monkeypatch.setattr(people, "find_people", lambda rgb, union, backend, known: poses[str(rgb[0, 0, 0] - 60)])
    monkeypatch.setattr("personseg.pose.get_backend", lambda name: None)
    said = []
    pairs, photos = people.person_pairs(root / "annotations.json", ["1", "2"], ("ssm",), "lwpsn-person",
                                        tmp_path / "cache.json", said.append)
    assert said[-1].endswith("4 people found and matched on 2 of 2 photos")
    assert len(json.loads((tmp_path / "cache.json").read_text())) == 2   # the people found kept for the next run
    wider = np.zeros((400, 600), np.uint8)
    wider[40:360, 140:260] = 255
    write_image(root / "instance_masks" / "1_0.png", wider, overwrite=True)   # photo 1's masks changed since
    people.person_pairs(root / "annotations.json", ["1", "2"], ("ssm",), "lwpsn-person", tmp_path / "cache.json",
                        said.append)
    kept = json.loads((tmp_path / "cache.json").read_text())   # what was kept for it as it was is replaced
    assert len(kept) == 2 and sorted(k.split("#")[0] for k in kept) == ["1", "2"]
    assert len(pairs) == 4 and photos == ["street/1"] * 2 + ["street/2"] * 2
    for image, mask in zip(pairs.images, pairs.masks):
        own, ssm = mask > 0, image[..., 3].astype(float)
        assert image.shape[2] == 4 and own.any() and ssm[own].mean() > 4 * ssm[~own].mean()
        assert own.mean() < 0.5   # framed on one person: the other is background, where in the frame at all
    monkeypatch.setattr(sets, "pose_keypoints", lambda part, cache, log: [[person(15, 5, 10)] for _ in part.ids])
    single = tmp_path / "single"
    for i in range(6):
        write_image(single / "images" / f"{i}.png", np.full((40, 30, 3), 90, np.uint8))
        mask = np.zeros((40, 30), np.uint8)
        mask[5:35, 10:20] = 255
        write_image(single / "masks" / f"{i}.png", mask)
    trn, val, _ = sets.training_sets("lwpsn-person", [single, root], None, tmp_path / "cache",
                                     AUGMENT_PRESETS["full"], val_fraction=0.25, seed=0, log=lambda line: None)
    real_val = {i.split(":")[0] for i in val.ids if i.startswith("street/")}
    real_trn = {i.split(":")[0] for i in trn.ids if i.startswith("street/")}
    assert len(real_val) == 2 and len(real_trn) == 6 and not real_val & real_trn
    assert sum(i.startswith("street/") for i in trn.ids + val.ids) == 16
    trn, val, _ = sets.training_sets("lwpsn-person", [root], None, tmp_path / "cache", AUGMENT_PRESETS["full"],
                                     val_fraction=0.25, seed=0, log=lambda line: None)   # real people alone
    assert len(trn) == 12 and len(val) == 4
    with pytest.raises(PersonsegError, match="--split train"):   # 'fit' is this project's, refused before work
        sets.training_sets("lwpsn-person", [root, single], "fit", tmp_path / "cache", AUGMENT_PRESETS["full"])


def test_predictions_are_matched_to_the_true_photos_by_the_end_of_their_paths(tmp_path, monkeypatch):
    """eval --predictions: a file_name names the photo whose absolute path it ends (written for the photos' folder
    or one above; `./`, backslashes and a drive letter aside); people of other categories and without a
    segmentation are not predictions; names of no photo are listed; ambiguous and inconsistent files are refused."""
    square = [[1, 1, 9, 1, 9, 9]]
    data = {"images": [{"id": 1, "file_name": "./a.jpg", "width": 20, "height": 10},
                       {"id": 2, "file_name": "C:\\shots\\sub\\b.jpg"}, {"id": 3, "file_name": "c.jpg"}],
            "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": square},
                            {"id": 2, "image_id": 1, "category_id": 2, "segmentation": square},
                            {"id": 3, "image_id": 2, "category_id": 1, "segmentation": []},
                            {"id": 4, "image_id": 2, "category_id": 1, "segmentation": square, "iscrowd": 1}]}
    path = tmp_path / "found.json"

    def found(photos: list, changed: dict | None = None):
        path.write_text(json.dumps(data | (changed or {})))
        return predicted_people(path, photos)

    monkeypatch.chdir(tmp_path)   # relative photo paths are matched by their absolute path
    got = found([tmp_path / "x/a.jpg", Path("shots/sub/b.jpg"), tmp_path / "x/b.jpg", tmp_path / "x/ba.jpg"])
    assert got.people == [[square], [square], None, None]   # x/b.jpg is not sub/b.jpg, nor ba.jpg a.jpg
    assert got.sizes == [(20, 10), (None, None), (None, None), (None, None)] and got.unmatched == ["c.jpg"]
    with pytest.raises(PersonsegError, match="lists a.jpg, a name of .*x/a.jpg and of .*y/a.jpg"):
        found([tmp_path / "x/a.jpg", tmp_path / "y/a.jpg"])
    with pytest.raises(PersonsegError, match="lists a.jpg and x/a.jpg, both names of"):
        found([tmp_path / "x/a.jpg"], {"images": data["images"] + [{"id": 4, "file_name": "x/a.jpg"}]})
    with pytest.raises(PersonsegError, match="lists c.jpg more than once"):
        found([], {"images": data["images"] + [{"id": 4, "file_name": "c.jpg"}]})
    with pytest.raises(PersonsegError, match="annotation 9 is of image 7, which the file does not list"):
        found([], {"annotations": [{"id": 9, "image_id": 7, "category_id": 1, "segmentation": square}]})
    with pytest.raises(PersonsegError, match="none of its people has a segmentation"):
        found([], {"annotations": [{"id": 9, "image_id": 1, "category_id": 1, "keypoints": [1] * 51}]})
    with pytest.raises(PersonsegError, match="not a readable COCO file"):
        found([], {"images": None})
