import cv2
import numpy as np

from personseg.image import load_mask
from personseg.metrics import foreground_iou
from personseg.refine.components import keep_people


def _people(data_dir, pose_mini):
    """(union mask as float probability, keypoints of everyone) of the pose_mini photo with the most people."""
    entry = max(pose_mini["images"], key=lambda e: len(e["instances"]))
    masks = [load_mask(data_dir / "pose_mini" / i["instance_mask"]) for i in entry["instances"]]
    kps = []
    for inst in entry["instances"]:
        kp = np.array(inst["keypoints"], np.float32).reshape(17, 3)
        kp[:, 2] = (kp[:, 2] > 0).astype(np.float32)
        kps.append(kp)
    return (np.maximum.reduce(masks) / 255.0).astype(np.float32), kps


def _with_blob(prob: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """``prob`` plus a disk of ``radius`` inside the image where the background is widest; (new prob, the disk's pixels)."""
    free = (prob < 0.5).astype(np.uint8)
    free[[0, -1], :] = free[:, [0, -1]] = 0   # the whole disk inside the image
    far = cv2.distanceTransform(free, cv2.DIST_L2, 5)
    y, x = np.unravel_index(np.argmax(far), far.shape)
    assert far[y, x] > radius + 2
    disk = np.zeros(prob.shape, np.uint8)
    cv2.circle(disk, (int(x), int(y)), radius, 1, -1)
    return np.maximum(prob, 0.9 * disk), disk > 0


def test_stray_blob_goes_and_every_person_stays(data_dir, pose_mini):
    prob, kps = _people(data_dir, pose_mini)
    assert len(kps) >= 3
    noisy, blob = _with_blob(prob, 12)
    kept = keep_people(noisy, kps)
    assert not (kept[blob] >= 0.5).any()
    assert foreground_iou(kept >= 0.5, prob >= 0.5) > 0.98   # small people hold keypoints, so they stay


def test_without_keypoints_size_decides(data_dir, pose_mini):
    prob, _ = _people(data_dir, pose_mini)
    largest = cv2.connectedComponentsWithStats((prob >= 0.5).astype(np.uint8))[2][1:, cv2.CC_STAT_AREA].max()
    small, small_blob = _with_blob(prob, 6)
    assert not (keep_people(small, [])[small_blob] >= 0.5).any()
    big_radius = int(np.sqrt(0.4 * largest / np.pi))   # 40% of the largest region: another person, kept
    big, big_blob = _with_blob(prob, big_radius)
    assert (keep_people(big, [])[big_blob] >= 0.5).all()


def test_empty_and_offset_masks(data_dir, pose_mini):
    """Nobody: nothing to label; regions away from the origin are found where they are (they are labelled
    within their bounding box)."""
    empty = np.zeros((40, 60), np.float32)
    assert keep_people(empty, []) is empty
    prob, _ = _people(data_dir, pose_mini)
    shifted = np.zeros((prob.shape[0] + 50, prob.shape[1] + 70), np.float32)
    shifted[50:, 70:] = prob
    noisy, blob = _with_blob(shifted, 8)
    kept = keep_people(noisy, [])
    assert not (kept[blob] >= 0.5).any()
    assert np.array_equal(kept[50:, 70:] >= 0.5, keep_people(noisy[50:, 70:], []) >= 0.5)
