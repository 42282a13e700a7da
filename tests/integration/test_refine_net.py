"""Seed 003's refinement network: its guide maps (boundary and leftover masks of a coarse matte) in training
and at inference, the coarse-matte cache, starting it from a trained LWPSN, and the pipeline stage."""

import cv2
import numpy as np
import pytest
import torch

from personseg.framing import crop, frame_box, mask_box
from personseg.models.registry import spec, torch_model
from personseg.refine.network import refined_probability
from personseg.refine.matting import GUIDE_MAPS
from personseg.runtime import guide_planes, preprocess
from personseg.train.data import PairSet, coarse_mattes, load_pairs, with_guides
from personseg.train.export import export_onnx
from personseg.train.loop import TrainConfig, load_init, train


@pytest.fixture(scope="module")
def matted_pairs(data_dir, tmp_path_factory):
    """Three EG1800 test portraits with coarse mattes from the shipped fast method (through the cache)."""
    pairs = load_pairs(data_dir / "eg1800", "test", max_side=240)
    pairs = PairSet(pairs.ids[:3], pairs.images[:3], pairs.masks[:3])
    cache = tmp_path_factory.mktemp("cache") / "mattes.npz"
    return pairs, coarse_mattes(pairs, "fast", cache, log=lambda s: None), cache


def test_coarse_mattes_are_the_method_output_and_read_back_from_the_cache(matted_pairs, monkeypatch):
    pairs, mattes, cache = matted_pairs
    for matte, gt in zip(mattes, pairs.masks):
        assert matte.dtype == np.uint8 and matte.shape == gt.shape
        inter = np.count_nonzero((matte > 127) & (gt > 127))
        assert inter / np.count_nonzero((matte > 127) | (gt > 127)) > 0.8   # a real coarse segmentation

    def no_segmenter(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr("personseg.train.data.Segmenter", no_segmenter)
    again = coarse_mattes(pairs, "fast", cache, log=lambda s: None)
    assert all((a == b).all() for a, b in zip(mattes, again))


def test_coarse_mattes_of_a_refining_method_are_its_result_before_refinement(matted_pairs, tmp_path, monkeypatch):
    """The network learns to correct what it is fed at inference: accurate's result without the network."""
    whole = matted_pairs[0]
    pairs = PairSet(whole.ids[:1], whole.images[:1], whole.masks[:1])

    def no_refinement(*args, **kwargs):
        raise AssertionError("the refinement network made the matte it is to learn to correct")

    monkeypatch.setattr("personseg.methods.network.refined_probability", no_refinement)
    matte = coarse_mattes(pairs, "accurate", tmp_path / "mattes.npz", log=lambda s: None)[0]
    gt = pairs.masks[0] > 127
    assert np.count_nonzero((matte > 127) & gt) / np.count_nonzero((matte > 127) | gt) > 0.8


def test_guide_channels_follow_the_matte(matted_pairs):
    pairs, mattes, _ = matted_pairs
    five = with_guides(pairs, spec("refine").guides, mattes)
    img = five.images[0]
    assert img.shape[2] == 5 and (img[..., :3] == pairs.images[0]).all()
    boundary, leftover = img[..., 3] / 255.0, img[..., 4] / 255.0
    inside = (mattes[0] > 127)
    # the leftover mask lies inside the person, the boundary band around the contour
    assert leftover[inside].mean() > 0.6 > 0.1 > leftover[~inside].mean()
    assert np.abs(boundary - GUIDE_MAPS["boundary"](mattes[0])).max() <= 0.5 / 255 + 1e-6


def test_inference_guides_are_cut_like_the_image(matted_pairs):
    """At inference the guide maps of the whole image are cut to the network's box like the image itself,
    each map in its own channel in the model's order."""
    pairs, mattes, _ = matted_pairs
    model = spec("refine")
    maps = [GUIDE_MAPS[name](mattes[1]) for name in model.guides]
    box = frame_box(mask_box(mattes[1] / 255.0), model.aspect)
    planes = guide_planes(model, np.dstack(maps), box, pairs.images[1].shape)
    for plane, full in zip(planes, maps):
        assert plane.shape == (model.size[1], model.size[0])
        assert np.abs(plane / 255.0 - crop(full, box, model.size)).max() < 1e-5
    assert not np.allclose(planes[0], planes[1])
    # maps made at half the image's size are cut from the same place: what the full-size maps give, nearly
    half = np.dstack([cv2.resize(m, (m.shape[1] // 2, m.shape[0] // 2), interpolation=cv2.INTER_AREA) for m in maps])
    small = guide_planes(model, half, box, pairs.images[1].shape)
    assert all(np.abs(a - b).mean() < 0.02 * 255 for a, b in zip(small, planes))
    x = preprocess(pairs.images[1], model, box, guides=np.dstack(maps))
    assert x.shape == (1, 5, model.size[1], model.size[0])
    with pytest.raises(ValueError, match="coarse matte"):
        preprocess(pairs.images[1], model, box)


def test_refine_model_started_from_lwpsn_ignores_its_new_channels():
    """--init from a model with other maps: RGB weights kept, other input channels start at zero, so the
    new model equals the old one shown an empty prior, whatever its guide channels hold."""
    torch.manual_seed(0)
    lwpsn = torch_model("lwpsn").eval()
    refine = torch_model("refine").eval()
    load_init(refine, lwpsn.state_dict())
    x = torch.randn(1, 5, 64, 48)
    old = lwpsn(torch.cat([x[:, :3], torch.zeros(1, 1, 64, 48)], dim=1))
    assert torch.allclose(refine(x), old, atol=1e-5)
    first = next(k for k, w in refine.state_dict().items() if w.ndim == 4)
    grown, source = refine.state_dict()[first], lwpsn.state_dict()[first]
    assert grown.shape[1] == 5 and torch.equal(grown[:, :3], source[:, :3]) and not grown[:, 3:].any()


def test_refine_model_trains_and_exports(matted_pairs, tmp_path):
    pairs, mattes, _ = matted_pairs
    five = with_guides(pairs, spec("refine").guides, mattes)
    cfg = TrainConfig(model="refine", size=(64, 96), batch=2, epochs=1)
    best = train(cfg, five, PairSet(five.ids[:1], five.images[:1], five.masks[:1]), tmp_path / "run",
                 log=lambda s: None)
    assert export_onnx(best, tmp_path / "m.onnx")["max_abs_diff"] < 1e-3


def test_nothing_coarse_nothing_refined(portrait):
    rgb, _ = portrait
    empty = np.zeros(rgb.shape[:2], np.float32)
    assert refined_probability(rgb, empty) is empty


def test_a_speck_that_vanishes_at_the_working_size_is_left_as_it_is():
    """A one-pixel region of a large photo is gone once the mask is shrunk to the matting's size: nothing to
    refine (this crashed on a person-free crop of a COCO photo)."""
    prob = np.zeros((1600, 1200), np.float32)
    prob[5, 5] = 1.0
    assert refined_probability(np.zeros((1600, 1200, 3), np.uint8), prob) is prob
