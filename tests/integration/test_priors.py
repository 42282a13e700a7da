import numpy as np

from personseg.metrics import foreground_iou
from personseg.priors import frame_map, limb_prior, pose_map, skeleton_map, spatial_saliency_map


def test_ssm_follows_the_person(single_person):
    rgb, mask, kp = single_person
    shape = rgb.shape[:2]
    ssm = spatial_saliency_map(kp, shape)
    assert ssm.dtype == np.float32 and ssm.shape == shape
    assert 0 <= ssm.min() and ssm.max() == 1
    person = mask > 0
    assert ssm[person].mean() > 0.8
    assert ssm[~person].mean() < 0.15
    # Saliency falls off with distance: a band far from the body is darker than one near it.
    skel, frame = skeleton_map(kp, shape), frame_map(kp, shape)
    assert set(np.unique(skel)) <= {0, 1} and (frame >= skel).all() and frame.sum() > skel.sum()
    assert foreground_iou(frame, person) > 0.5
    assert (ssm[frame > 0] == 1).all()


def test_ssm_of_nobody_is_empty():
    assert not spatial_saliency_map(np.zeros((17, 3), np.float32), (40, 30)).any()


def test_pose_map_peaks_at_joints(single_person):
    rgb, _, kp = single_person
    pm = pose_map(kp, rgb.shape[:2])
    x, y = np.round(kp[13, :2]).astype(int)  # left knee
    assert pm[y, x] > 0.95
    assert pm.mean() < 0.1


def test_limb_prior_covers_limbs(single_person):
    rgb, mask, kp = single_person
    lp = limb_prior(kp, rgb.shape[:2])
    mid = np.round((kp[13, :2] + kp[15, :2]) / 2).astype(int)  # left shin
    assert lp[mid[1], mid[0]] > 0.95
    assert lp[mask > 0].mean() > 3 * lp[mask == 0].mean()
