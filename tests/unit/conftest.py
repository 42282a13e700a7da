"""The unit tier: no data folder, no network scored; synthetic arrays and scikit-image's bundled photos."""

from __future__ import annotations

import socket

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


@pytest.fixture
def free_port() -> str:
    """A port nothing on this machine listens on now (the serve tests check theirs is free before serving, and
    failed where a server of the user's had the default)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])
