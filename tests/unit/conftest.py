"""The unit tier: no data folder, no network scored; synthetic arrays and scikit-image's bundled photos."""

from __future__ import annotations

import numpy as np
import pytest

from synthetic import person


@pytest.fixture
def two_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 100x200 probability with a large region on the left and a smaller one on the right, and a person's
    keypoints on each."""
    prob = np.zeros((100, 200), np.float32)
    prob[10:90, 10:60] = 0.9
    prob[30:60, 150:170] = 0.8
    return prob, person(35, 12, 25, score=0.9), person(160, 32, 8, score=0.9)
