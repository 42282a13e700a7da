"""Shared fixtures: real images from the data folder (PERSONSEG_DATA, default ../shared/data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from personseg.data import data_root
from personseg.image import load_image, load_mask

DATA = data_root()


def pytest_report_header(config):
    return f"personseg data: {DATA}"


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA / "eg1800").is_dir():
        pytest.fail(f"test data not found at {DATA}; set PERSONSEG_DATA to the shared data folder")
    return DATA


@pytest.fixture(scope="session")
def portrait(data_dir):
    """(rgb, mask) of an EG1800 test portrait."""
    return load_image(data_dir / "eg1800/images/00002.jpg"), load_mask(data_dir / "eg1800/masks/00002.png")


@pytest.fixture(scope="session")
def pose_mini(data_dir):
    """The pose_mini annotations: per image, its path, union mask path and instances with keypoints."""
    return json.loads((data_dir / "pose_mini/annotations.json").read_text())


@pytest.fixture(scope="session")
def single_person(data_dir, pose_mini):
    """(rgb, instance mask, COCO keypoints (17, 3) with visibility as score) of a one-person COCO photo."""
    entry = next(e for e in pose_mini["images"] if e["image"].endswith("000000000785.jpg"))
    inst = entry["instances"][0]
    kp = np.array(inst["keypoints"], np.float32).reshape(17, 3)
    kp[:, 2] = (kp[:, 2] > 0).astype(np.float32)
    return (load_image(data_dir / "pose_mini" / entry["image"]),
            load_mask(data_dir / "pose_mini" / inst["instance_mask"]), kp)


@pytest.fixture(scope="session")
def segmenter():
    from personseg import Segmenter

    return Segmenter(method="classical")
