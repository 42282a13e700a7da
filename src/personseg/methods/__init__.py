"""Every segmentation method, by name: the only place that knows the names.

A network method with the usual chain is one entry here (and its model in models/registry.py), e.g.::

    NetworkMethod("wide", "a wider SINet on the whole image (20 ms)", networks=("sinet-wide",), uses_outline=True),
"""

from __future__ import annotations

from ..errors import PersonsegError
from .base import Method, Scene
from .classical import ClassicalMethod
from .network import NetworkMethod

#: In the order ``--help`` lists them: slowest and most accurate last.
METHODS: dict[str, Method] = {m.name: m for m in (
    ClassicalMethod(
        "classical", "no network: BlazePose keypoints seed a graph cut and dense CRF of the main person (0.5 s)"),
    NetworkMethod(
        "fast", "SINet (84K parameters, trained here) on the whole image, zooming in on the people it finds "
        "(6 ms a 600x800 photo with its matting)",
        # guided matting on video frames too: on the three clips IoU parkour 0.8007 -> 0.8136, tennis 0.7530 ->
        # 0.7631, hike 0.8311 -> 0.8522, flicker 0.00945 -> 0.00804, 0.00642 -> 0.00541, 0.0057 -> 0.00456, 5-9
        # ms a frame (accurate lost with it: 0.9303 -> 0.9235, 0.8980 -> 0.8900, 0.9226 -> 0.9188)
        networks=("sinet",), uses_outline=True, video_matting="guided"),
    NetworkMethod(
        "pose-unet", "BlazePose keypoints -> seed 002's pose-guided U-Net, int8 (0.05 s); trained on "
        "portraits alone (EG1800): poor on whole bodies (CCP test 0.63 IoU)",
        networks=("pose-unet",), needs_keypoints=True),
    # the best measured combination (docs/ablation.md): SINet and LWPSN + SSM (seed 000), both framed on the
    # keypoints, averaged (above either alone on EG1800, CCP and the parkour frames), joined with MediaPipe's
    # selfie model (on held-out portraits above our networks, their join above either), then BlazePose's
    # outline and seed 003's refinement network
    # on a video frame with one person followed SINet alone (lone_networks): the selfie model weighs three quarters
    # there, and LWPSN's pass (11 ms a frame on one thread) moved the clips' IoU by 0.0004 at most as they are
    # (parkour 0.9236 -> 0.9235, tennis 0.8901 -> 0.8900, hike 0.9192 -> 0.9188), CPU 7 ms a frame less
    NetworkMethod(
        "accurate", "SINet and LWPSN framed on BlazePose keypoints, joined with MediaPipe's selfie model and "
        "BlazePose's outline, refined by seed 003's network (0.08 s)",
        networks=("sinet", "lwpsn"), needs_keypoints=True, uses_outline=True, selfie=True, refine=True,
        lone_networks=("sinet",)),
)}
#: Measured best on EG1800 test in IoU and boundary F (benchmarks/RESULTS.md), with matting on, and under
#: 0.5 s per 600x800 photo on 2 cores.
DEFAULT_METHOD = "accurate"
#: Video's default, as photos': on the parkour, tennis and hike clips (VideoSegmenter.stream, 2026-12-07) clip IoU
#: 0.9303 / 0.8980 / 0.9226 against "fast"'s 0.8063 / 0.7623 / 0.8491 (flicker 0.0024-0.0028 against 0.0045-0.0084),
#: ahead too on clips that start mid-action and pans over portraits and full bodies (benchmarks/RESULTS.md); "fast"
#: runs at about 1.7 times its frames a second (docs/ARCHITECTURE.md, Video).
DEFAULT_VIDEO_METHOD = "accurate"
#: The method whose mattes of the training images seed 003's refinement network learns to correct.
DEFAULT_COARSE_METHOD = "fast"


def get_method(name: str, mediapipe_masks: bool = True) -> Method:
    """The method called ``name`` (``mediapipe_masks`` False: without any mask made by MediaPipe's models,
    ``Method.without_mediapipe_masks``); a PersonsegError naming the choices otherwise."""
    if name not in METHODS:
        raise PersonsegError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name] if mediapipe_masks else METHODS[name].without_mediapipe_masks()


__all__ = ["DEFAULT_COARSE_METHOD", "DEFAULT_METHOD", "DEFAULT_VIDEO_METHOD", "METHODS", "Method", "NetworkMethod",
           "ClassicalMethod", "Scene", "get_method"]
