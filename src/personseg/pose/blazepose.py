"""COCO-17 keypoints from MediaPipe BlazePose (the model bundled with mediapipe 0.10.14; fully offline)."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .._mediapipe import solution, started

# BlazePose's 33 landmarks that correspond to the 17 COCO keypoints, in COCO order.
BLAZEPOSE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
# MediaPipe face detection's key points (right eye, left eye, nose tip, mouth, right ear, left ear) by COCO index.
FACE_TO_COCO = {0: 2, 1: 1, 2: 0, 3: 5, 4: 4}


class BlazePoseBackend:
    """Single-person BlazePose (model complexity 1, the only one mediapipe ships).

    Scores are BlazePose's visibility; landmarks it places outside the frame keep their
    coordinates (useful for priors of a body cut by the image edge) with the score it gave.
    ``video``: calls are frames of one clip in order; BlazePose then looks for the person where the last
    call found them and runs its person detector only when it lost them (measured on the parkour frames:
    35 ms a call instead of 60-90 ms). Its own landmark smoothing is off: the caller tracks keypoints.
    ``body_mask``: also return the person's outline that the same landmark model draws (``detect_with_mask``;
    about 7 ms more a call; in video mode mediapipe smooths it over frames).
    """

    name = "blazepose"

    def __init__(self, min_detection_confidence: float = 0.3, video: bool = False, body_mask: bool = False) -> None:
        self._pose = started(lambda: solution("pose").Pose(
            static_image_mode=not video,
            smooth_landmarks=False,
            model_complexity=1,
            enable_segmentation=body_mask,
            min_detection_confidence=min_detection_confidence,
        ))
        # Close-up portraits where BlazePose finds no body still have a face: keep its five face points.
        self._faces = started(lambda: solution("face_detection").FaceDetection(model_selection=1,
                                                                              min_detection_confidence=0.5))
        # mediapipe's graphs hold about 115 MB each until closed, and nothing closes them when the backend goes
        self._closed = weakref.finalize(self, _close, self._pose, self._faces)

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        return self.detect_with_mask(rgb)[0]

    def detect_with_mask(self, rgb: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        h, w = rgb.shape[:2]
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return self._face_only(rgb), None
        lm = result.pose_landmarks.landmark
        kp = np.array(
            [(lm[i].x * w, lm[i].y * h, lm[i].visibility) for i in BLAZEPOSE_TO_COCO], dtype=np.float32
        )
        kp[:, 2] = np.clip(kp[:, 2], 0.0, 1.0)
        body = result.segmentation_mask
        return [kp], None if body is None else np.clip(body, 0.0, 1.0).astype(np.float32, copy=False)

    def _face_only(self, rgb: np.ndarray) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        result = self._faces.process(np.ascontiguousarray(rgb))
        people = []
        for det in result.detections or []:
            pts = det.location_data.relative_keypoints
            kp = np.zeros((17, 3), np.float32)
            for coco, mp_index in FACE_TO_COCO.items():
                kp[coco] = (pts[mp_index].x * w, pts[mp_index].y * h, det.score[0])
            people.append(kp)
        return people

    def reset(self) -> None:
        """Forget the clip seen so far (video: the next call looks at its frame afresh)."""
        self._pose.reset()

    def close(self) -> None:
        self._closed()


def _close(*solutions: Any) -> None:
    for solution in solutions:
        solution.close()
