"""Boxes from keypoints and masks, framing at a network's aspect ratio, crops and pastes."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from personseg.framing import (TILE_OVERLAP, binary_mask, blended, crop, frame_box, keypoint_box, mask_box,
                               on_pixels, paste, people_box, shared_halvings, shrunk, tiles, whole_frame)
from personseg.pose import empty_keypoints
from personseg.pose.keypoints import near_mask

from synthetic import person


def test_people_box_is_the_union_of_everyones_keypoint_boxes():
    a, b = person(30, 10, 10), person(120, 40, 10)
    box = people_box([a, b], 200)
    assert box[0] == keypoint_box(a, 200)[0] and box[2] == keypoint_box(b, 200)[2]
    assert people_box([], 200) is None and people_box([empty_keypoints()], 200) is None


def test_a_person_without_ankles_goes_on_to_the_bottom_edge():
    kp = person(50, 10, 10)
    kp[15:, 2] = 0.0   # ankles unseen
    assert keypoint_box(kp, 300)[3] == 300.0
    assert keypoint_box(person(50, 10, 10), 300)[3] < 300.0


def test_frame_box_takes_the_aspect_ratio_and_a_margin():
    x0, y0, x1, y1 = frame_box((10, 10, 30, 90), 0.75)
    assert abs((x1 - x0) / (y1 - y0) - 0.75) < 1e-6 and y0 < 10 and y1 > 90
    assert on_pixels((1.2, 2.7, 10.1, 11.5)) == (1.0, 2.0, 11.0, 12.0)


def test_mask_box_and_binary_mask():
    prob = np.zeros((20, 30), np.float32)
    prob[5:10, 7:12] = 0.7
    assert mask_box(prob) == (7.0, 5.0, 12.0, 10.0)
    assert mask_box(np.zeros((4, 4), np.float32)) is None
    assert binary_mask(prob).max() == 255 and binary_mask(prob).dtype == np.uint8


def test_a_crop_pasted_back_lands_where_it_was():
    prob = np.zeros((64, 48), np.float32)
    prob[20:40, 10:30] = 1.0
    box = (8.0, 16.0, 32.0, 48.0)
    back = paste(crop(prob, box, (48, 64)), box, prob.shape)
    assert np.abs(back[18:46, 8:32] - prob[18:46, 8:32]).mean() < 0.05 and back[:16].max() == 0
    # into a map of half the image's size, the box carried into it: the half-size image of the same
    half = paste(crop(prob, box, (48, 64)), box, prob.shape, size=(24, 32))
    assert half.shape == (32, 24) and half[:8].max() == 0
    assert np.abs(half[10:20, 5:15] - 1.0).max() < 0.05
    assert np.abs(half[9:23, 4:16] - back[18:46:2, 8:32:2]).mean() < 0.05
    # over a map, with a box off whole pixels: written on the whole pixels it covers, the rest kept
    base = np.full((32, 24), 0.25, np.float32)
    over = paste(np.ones((8, 8), np.float32), (4.5, 4.5, 12.5, 12.5), (32, 24), out=base)
    assert over is base and (over[5:12, 5:12] == 1.0).all() and over[4, 4] == over[12, 12] == 0.25


def test_a_crop_shrunk_through_halvings_samples_where_the_box_lies():
    # a ramp of x and y (odd sizes too): each pixel of the crop holds its centre's place in the image, however
    # many halvings the shrinking took first (within OpenCV's fixed-point warp: 1/32 of a halved pixel); the whole
    # image too, whose last halving is resized instead of warped
    for (h, w), box in itertools.product(((800, 600), (799, 599)), ((50.3, 100.7, 450.2, 700.9), None)):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        box, size = box or (0, 0, w, h), (48, 64)
        out = crop(np.dstack([xx, yy, np.zeros_like(xx)]), box, size)
        x = box[0] + (np.arange(size[0]) + 0.5) * (box[2] - box[0]) / size[0] - 0.5
        y = box[1] + (np.arange(size[1]) + 0.5) * (box[3] - box[1]) / size[1] - 0.5
        assert np.abs(out[..., 0] - x[None]).max() < 0.25 and np.abs(out[..., 1] - y[:, None]).max() < 0.25
    # a side of one pixel, which halving leaves as it is, ends the halvings (it looped for ever on banners)
    for shape, box in (((1, 600, 3), (0, -224, 600, 225)), ((600, 1, 3), (-224, 0, 225, 600)),
                       ((1, 1, 3), (0, 0, 999, 999))):
        assert crop(np.full(shape, 7, np.uint8), box, (48, 64)).shape == (64, 48, 3)


def test_a_photos_halvings_are_made_once_for_its_crops_and_its_working_image():
    rgb = np.random.default_rng(0).integers(0, 256, (800, 600, 3), np.uint8)
    exact = cv2.resize(rgb, (300, 400), interpolation=cv2.INTER_AREA)
    with shared_halvings(rgb):
        crop(rgb, (0, 0, 600, 800), (96, 128))   # halves the photo once
        half = shrunk(rgb, (300, 400))
        assert half is shrunk(rgb, (300, 400)) and np.array_equal(half, exact)
        # a smaller size from the half (INTER_AREA of INTER_AREA: within a level of the photo's own)
        quarter = cv2.resize(rgb, (150, 200), interpolation=cv2.INTER_AREA).astype(int)
        assert np.abs(shrunk(rgb, (150, 200)) - quarter).max() <= 1
        other = rgb.copy()   # another image, even one equal to it, has halvings of its own
        assert shrunk(other, (300, 400)) is not half
    assert shrunk(rgb, (300, 400)) is not half and np.array_equal(shrunk(rgb, (300, 400)), exact)


def test_whole_frame_letterboxes_without_squashing():
    x0, y0, x1, y1 = whole_frame((100, 300, 3), 0.75)
    assert (x1 - x0) / (y1 - y0) == 0.75 and x1 - x0 >= 300



def test_a_panorama_is_seen_through_overlapping_tiles_of_the_frames_shape():
    assert tiles((800, 600, 3), 0.75, 2.5) == [whole_frame((800, 600, 3), 0.75)]   # near the frame's shape
    assert tiles((480, 640, 3), 0.75, 2.5) == [whole_frame((480, 640, 3), 0.75)]
    frames = tiles((400, 2237, 3), 0.75, 2.5)
    assert frames[0][0] == 0 and frames[-1][2] == 2237
    assert all(f[1] == 0 and f[3] == 400 and f[2] - f[0] == 300 for f in frames)
    assert all(b[0] - a[0] <= 300 * (1 - TILE_OVERLAP) for a, b in zip(frames, frames[1:]))
    tall = tiles((2000, 300, 3), 0.75, 2.5)   # taller than the frame: tiles down the image
    assert tall[0][1] == 0 and tall[-1][3] == 2000 and all(f[2] - f[0] == 300 and f[3] - f[1] == 400 for f in tall)
    assert len(tiles((480, 640, 3), 0.75, 1.3)) == 2 and len(tiles((400, 600, 3), 0.75, 1.3)) == 3   # landscape
    assert len(tiles((400, 4000, 3), 0.75, 2.5)) == 17   # a 10:1 panorama
    with pytest.warns(UserWarning, match="8x2000 .*too long and thin for the tiles .*cut it into shorter pieces"):
        assert tiles((2000, 8, 3), 0.75, 2.5) == [whole_frame((2000, 8, 3), 0.75)]   # a strip: too many, seen whole


def test_tiles_blend_back_into_one_map_in_place():
    """Each tile's map, at any resolution, lands where the tile lies: a map of x seen through tiles is x again,
    at the image's size and at a smaller one; where the tiles overlap the blend passes from one to the next."""
    shape = (100, 700, 3)
    frames = tiles(shape, 0.75, 2.5)

    def seen(frame):   # what a network would see: the image's x (column centres), at 40x60
        return np.tile(np.linspace(frame[0], frame[2], 40, endpoint=False, dtype=np.float32)
                       + (frame[2] - frame[0]) / 80, (60, 1))

    whole = blended(frames, [seen(f) for f in frames], shape)
    assert whole.shape == (100, 700) and np.abs(whole - (np.arange(700) + 0.5)).max() < 1.5
    larger = [np.ones((256, 192), np.float32) for _ in frames]   # maps of more pixels than the image
    assert blended(frames, larger, shape).shape == (100, 700)
    half = blended(frames, [seen(f) for f in frames], shape, size=(350, 50))
    assert half.shape == (50, 350) and np.abs(half[:, 2:-2] - (np.arange(2, 348) * 2 + 1)).max() < 3
    tall = tiles((700, 100, 3), 0.75, 2.5)   # down a tall image: a map of y is y again
    down = blended(tall, [np.tile((np.linspace(f[1], f[3], 60, endpoint=False, dtype=np.float32)
                                   + (f[3] - f[1]) / 120)[:, None], (1, 40)) for f in tall], (700, 100, 3))
    assert len(tall) > 1 and np.abs(down - (np.arange(700) + 0.5)[:, None]).max() < 3
    ones = blended(frames, [np.full((60, 40), 1.0 if f[0] == 0 else 0.0, np.float32) for f in frames], shape)
    overlap = int(frames[1][0]), int(frames[0][2])
    assert ones[:, :overlap[0] - 2].min() > 0.999 and ones[:, overlap[1] + 2:].max() < 0.001
    fade = ones[0, overlap[0] + 2:overlap[1] - 2]   # a linear fade from the first to the next
    assert (np.diff(fade) < 0).all() and np.abs(np.diff(fade, 2)).max() < 0.01


def test_people_given_off_the_photo_are_refused_or_not_placed():
    """Keypoints made for another size of the photo gave a blob over half of it; all on one point divided by 0."""
    from personseg.errors import PersonsegError
    from personseg.pose.keypoints import placed_people

    rng = np.random.default_rng(0)
    kp = np.column_stack([rng.uniform(100, 300, 17), rng.uniform(50, 400, 17), np.ones(17)]).astype(np.float32)
    assert len(placed_people([kp], (480, 640))) == 1
    for far in (kp * [10, 10, 1], kp - [1000, 0, 0], np.tile([1e9, 5, 1], (17, 1))):
        with pytest.raises(PersonsegError, match="far outside the 640x480 photo"):
            placed_people([kp, far.astype(np.float32)], (480, 640))
    beside = kp - [400, 0, 0]   # beside the photo, not far: not placed, and refused where nobody else is
    point = np.tile([100, 100, 1], (17, 1)).astype(np.float32)
    assert len(placed_people([kp, beside, point], (480, 640))) == 1
    shoulders = np.zeros((17, 3), np.float32)
    shoulders[[5, 6]] = [(100, 120, 1), (160, 120, 1)]   # two sure joints on one row: placed, as before
    assert len(placed_people([shoulders], (480, 640))) == 1
    for nobody in ([beside], [point], [beside, point]):
        with pytest.raises(PersonsegError, match="can be placed"):
            placed_people(nobody, (480, 640))
    unsure = kp.copy()
    unsure[:, 2] = 0
    assert placed_people([unsure], (480, 640)) == []   # nothing sure given: an empty mask, as before


def test_near_regions_keeps_the_mask_and_a_band_around_it():
    from personseg.refine.components import NEAR_SHRINK, SUBJECT_EDGE, near_regions

    prob = np.full((240, 320), 0.3, np.float32)   # a haze over the background
    prob[100:140, 150:170] = 0.9
    out = near_regions(prob)
    assert np.array_equal(out >= 0.5, prob >= 0.5) and out[120, 160] == prob[120, 160]
    band = round(SUBJECT_EDGE * np.hypot(240, 320))
    assert out[120, 170 + band // 2] == 0.3                          # inside the band: as it was
    assert out[120, 170 + band + 2 * NEAR_SHRINK + 1:].max() == 0   # beyond it: nothing
    assert out[:50].max() == 0


def test_keypoints_far_from_the_mask_become_unseen():
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 40:60] = 255
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 0.9
    # on, 6 px, 16, past the frame's edge (kept), 13.6 px away
    kp[:6, :2] = [(50, 50), (65, 50), (75, 50), (-3, -3), (200, 50), (68.6, 68.6)]
    kp[6:, :2], kp[6, 2] = 50, 0.1
    out = near_mask(kp, mask, 10)
    assert out[:7, 2].tolist() == pytest.approx([0.9, 0.9, 0, 0.9, 0.9, 0, 0.1]) and kp[2, 2] == pytest.approx(0.9)
    assert (near_mask(kp, np.zeros_like(mask), 10)[[0, 1, 2, 5], 2] == 0).all()
