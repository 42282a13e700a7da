"""People on a panorama: the single-person pose backend is run on square tiles, and what it finds is put
together (instances.photo_people)."""

from __future__ import annotations

import cv2
import numpy as np

from personseg.instances import photo_people

from synthetic import person


class Largest:
    """A pose backend that finds the largest white block of the image it is given (one person a call, as
    BlazePose; slivers under 2000 pixels are nobody), and draws its outline."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        return self.detect_with_mask(rgb)[0]

    def detect_with_mask(self, rgb: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        self.calls += 1
        n, labels, stats, _ = cv2.connectedComponentsWithStats((rgb[..., 0] > 127).astype(np.uint8))
        if n == 1 or stats[1:, cv2.CC_STAT_AREA].max() < 2000:   # what painting out leaves is nobody
            return [], None
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, w, h = stats[k, :4]
        return [person(x + w / 2, y, h / 2.4)], (labels == k).astype(np.float32)


def blocks(shape: tuple[int, int], spans: list[tuple[int, int, int]]) -> np.ndarray:
    """A black image with white blocks (x0, x1, height) standing on its bottom edge."""
    rgb = np.zeros((*shape, 3), np.uint8)
    for x0, x1, height in spans:
        rgb[shape[0] - height:, x0:x1] = 255
    return rgb


def test_a_panorama_is_searched_tile_by_tile_and_everyone_is_kept_once():
    # 200x1000: six tiles of 200; two people in the first (the second found once the first is painted out), one
    # where the third and fourth tiles overlap (both find her), one in the last
    rgb = blocks((200, 1000), [(20, 60, 150), (120, 160, 120), (480, 520, 110), (880, 920, 100)])
    backend = Largest()
    people, outline = photo_people(rgb, backend, outline=True)
    assert backend.calls == 6 + 4 and len(people) == 4   # a second search of each tile where someone was found
    assert [round(float(kp[0, 0])) for kp in people] == [40, 140, 500, 900]   # the largest first, in the photo
    assert outline.shape == (200, 1000)   # the largest one's outline, where that person stands
    assert (outline > 0.5).sum() == 40 * 150 and (outline[50:, 20:60] > 0.5).all()


def test_a_photo_not_that_wide_is_searched_once():
    rgb = blocks((200, 700), [(80, 120, 150), (480, 520, 120)])
    backend = Largest()
    people, outline = photo_people(rgb, backend)
    assert backend.calls == 1 and len(people) == 1 and outline is None
