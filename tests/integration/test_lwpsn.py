"""Networks fed keypoint priors: LWPSN (seed 000) with the SSM, seed 002's pose-guided U-Net; what feeds
them in training and at inference (prior channels, IPR, the keypoint cache)."""

import json

import cv2
import numpy as np
import pytest
import torch

from personseg.framing import crop, frame_box, keypoint_box
from personseg.models.lwpsn import LWPSN
from personseg.models.poseunet import PoseUNet
from personseg.models.registry import spec, torch_model
from personseg.priors import people_map
from personseg.runtime import preprocess, prior_planes
from personseg.train.augment import AugmentConfig, augment, pyramid_resize, warp_params
from personseg.train.data import PairSet, load_pairs, pose_keypoints, with_priors
from personseg.train.export import export_onnx
from personseg.train.loop import TrainConfig, train

STILL = AugmentConfig(rotate=0, scale=(1, 1), shift=0, flip=0, brightness=0.3, contrast=0.3, saturation=0.3,
                      blur=0, noise=0, composite=0, prior_drop=0)


@pytest.mark.parametrize("name, channels", [("lwpsn", 4), ("lwpsn-rgb", 3), ("pose-unet", 5)])
def test_networks_take_their_channels_and_return_full_size_logits(name, channels):
    model = torch_model(name)
    assert isinstance(model, PoseUNet if name == "pose-unet" else LWPSN) and spec(name).channels == channels
    assert sum(p.numel() for p in model.parameters()) < 1_000_000   # ~2 MB as ONNX
    x = torch.zeros(2, spec(name).channels, 256, 192)
    model.train()
    logits, coarse = model(x)
    assert logits.shape == coarse.shape == (2, 2, 256, 192)
    assert model.eval()(x).shape == (2, 2, 256, 192)


@pytest.fixture(scope="module")
def people_pairs(data_dir, tmp_path_factory):
    """Three pose_mini photos with their keypoints found by BlazePose (through the training cache)."""
    pairs = load_pairs(data_dir / "pose_mini", max_side=320)
    pairs = PairSet(pairs.ids[:3], pairs.images[:3], pairs.masks[:3])
    cache = tmp_path_factory.mktemp("cache") / "kp.json"
    return pairs, pose_keypoints(pairs, cache, log=lambda s: None), cache


def test_keypoint_cache_is_read_back_without_the_pose_backend(people_pairs, monkeypatch):
    pairs, people, cache = people_pairs
    assert sum(len(p) for p in people) >= 3
    stored = json.loads(cache.read_text())
    assert len(stored) == 3 and all("@" in key for key in stored)

    def no_backend(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr("personseg.pose.get_backend", no_backend)
    again = pose_keypoints(pairs, cache, log=lambda s: None)
    assert all(np.allclose(a, b, atol=0.01) for pa, pb in zip(people, again) for a, b in zip(pa, pb))


def test_ssm_channel_moves_with_the_image_and_keeps_its_values(people_pairs):
    pairs, people, _ = people_pairs
    four = with_priors(pairs, ("ssm",), people)
    image, mask = four.images[0], four.masks[0]
    assert image.shape[2] == 4 and image[..., 3].max() == 255
    out, m = augment(np.random.default_rng(0), image, mask, (96, 128), STILL)
    m0 = warp_params(np.random.default_rng(0), (image.shape[1], image.shape[0]), (96, 128), STILL)
    ref = cv2.warpAffine(image[..., 3], m0, (96, 128), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert out.shape == (128, 96, 4)
    assert np.abs(out[..., 3].astype(int) - ref).max() <= 2          # colour changes leave the map alone
    inside = out[..., 3][m > 0].mean()
    assert inside > 2 * out[..., 3][m == 0].mean()                    # and it lies on the person
    dropped, _ = augment(np.random.default_rng(0), image, mask, (96, 128), AugmentConfig(prior_drop=1.0))
    assert dropped[..., 3].max() == 0


def test_pyramid_resize_lowers_detail_at_the_same_size(portrait):
    rgb = portrait[0][:256, :192]
    levels = {pyramid_resize(np.random.default_rng(s), rgb, 2).std() for s in range(12)}
    assert len(levels) == 3   # full, half and quarter resolution were all drawn
    sharp = cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var()
    for s in range(12):
        out = pyramid_resize(np.random.default_rng(s), rgb, 2)
        assert out.shape == rgb.shape
        assert cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var() <= sharp + 1e-3


def test_inference_ssm_matches_the_crop_of_the_full_image_map(people_pairs):
    pairs, people, _ = people_pairs
    rgb, kps = pairs.images[0], people[0]
    model = spec("lwpsn")
    box = frame_box(keypoint_box(kps[0]), model.aspect)
    drawn = prior_planes(model, kps, box)[0] / 255.0
    cropped = crop(people_map("ssm", kps, rgb.shape[:2]), box, model.size)
    assert drawn.shape == (model.size[1], model.size[0])
    assert np.abs(drawn - cropped).mean() < 0.03 and drawn.max() > 0.99
    x = preprocess(rgb, model, box, kps)
    assert x.shape == (1, 4, model.size[1], model.size[0]) and -1.01 <= x[0, 3].min() and x[0, 3].max() <= 1.01


@pytest.mark.parametrize("name", ["lwpsn", "pose-unet"])
def test_networks_with_priors_train_and_export(people_pairs, tmp_path, name):
    pairs, people, _ = people_pairs
    four = with_priors(pairs, spec(name).priors, people)
    assert four.images[0].shape[2] == spec(name).channels
    cfg = TrainConfig(model=name, size=(64, 96), batch=2, epochs=1, augment=AugmentConfig(pyramid=1))
    best = train(cfg, four, PairSet(four.ids[:1], four.images[:1], four.masks[:1]), tmp_path / "run",
                 log=lambda s: None)
    info = export_onnx(best, tmp_path / "m.onnx")
    assert info["max_abs_diff"] < 1e-3


def test_pose_unet_output_follows_the_limb_prior_before_training():
    """Equation (4): with the learned part silent, the person logit is log(prior + floor)."""
    model = torch_model("pose-unet").eval()
    torch.nn.init.zeros_(model.last[-1].weight)
    torch.nn.init.zeros_(model.last[-1].bias)
    x = torch.zeros(1, 5, 64, 48)
    x[:, 4] = -1.0
    x[:, 4, 20:40, 10:30] = 1.0            # a limb passes here (prior 1), nowhere else (prior 0)
    person = model(x)[0, 1]
    assert person[30, 20] > -0.1 and person[5, 5] < -2.9
