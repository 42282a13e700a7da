"""`personseg video`: a video file or a folder of frames in; a composited video, or per-frame PNGs, out."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..errors import PersonsegError
from ..methods import DEFAULT_VIDEO_METHOD
from ..outputs import VIDEO_OUTPUTS, background_image, check_outputs, render, save_outputs
from ..refine.matting import MATTING_SIDE
from .io import VIDEO_SUFFIXES, Frame, Source, VideoWriter, prefetched
from .stream import VideoSegmenter


def run_video(src: str | Path, out: str | Path, method: str = DEFAULT_VIDEO_METHOD, save: str | None = None,
              background: str | None = None, blur: float = 0.02, fps: float = 25.0, pose_every: int | None = None,
              keypoints: str | Path | None = None, smooth: bool = True, matting: str | None = None,
              matting_side: int | None = MATTING_SIDE, overwrite: bool = False, progress: bool = True) -> dict:
    """Segment every frame of ``src`` and write ``out``; returns {'frames', 'seconds', 'fps'}."""
    out = Path(out)
    to_file = out.suffix.lower() in VIDEO_SUFFIXES
    if out.suffix and not to_file and not out.is_dir():
        raise PersonsegError(f"{out}: write video as {', '.join(VIDEO_SUFFIXES)}, or give a folder for per-frame PNGs")
    outputs = tuple(o.strip() for o in (save or ("blur" if to_file else "mask")).split(",") if o.strip())
    check_outputs(outputs, background)
    if to_file and (len(outputs) != 1 or outputs[0] not in VIDEO_OUTPUTS):
        raise PersonsegError(f"a video file shows one of {', '.join(VIDEO_OUTPUTS)}; for other outputs "
                             "(cutout, json) give --out a folder to get per-frame PNGs")
    if keypoints is not None and Path(keypoints).exists() and not overwrite:
        raise PersonsegError(f"output exists: {keypoints} (use --overwrite to replace)")
    seg = VideoSegmenter(method, pose_every=pose_every, smooth=smooth, matting=matting, matting_side=matting_side)
    source = Source(src, fps=fps)
    writer: VideoWriter | None = None
    kp_file = None
    if keypoints is not None:
        kp_path = Path(keypoints)
        kp_partial = kp_path.with_name(f".{kp_path.name}.partial")
        kp_path.parent.mkdir(parents=True, exist_ok=True)
        kp_file = open(kp_partial, "w")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=source.count, unit="frame", file=sys.stderr)
    frames, start, done = 0, time.perf_counter(), False
    try:
        bg, early_audio = None, []
        for item, result in seg.stream(prefetched(source), lambda i: i.rgb if isinstance(i, Frame) else None):
            if result is None:
                if writer is not None:
                    writer.write_audio(item)
                elif to_file:
                    early_audio.append(item)   # sound before the first picture: held until the file is open
                continue
            if bg is None and "replace" in outputs:
                bg = background_image(background, item.rgb.shape[:2])
            if to_file:
                if writer is None:
                    writer = VideoWriter(out, source, (item.rgb.shape[1], item.rgb.shape[0]), overwrite)
                    for packet in early_audio:
                        writer.write_audio(packet)
                writer.write(lambda r=result, b=bg: render(r, outputs[0], b, blur), item.pts, item.index)
            else:
                save_outputs(result, out, item.stem, outputs, background, blur, overwrite, source=f"{src}#{item.index}",
                             background_array=bg)
            if kp_file is not None:
                people = [{"id": i, "keypoints": kp.round(2).tolist()} for i, kp in zip(result.ids, result.people)]
                kp_file.write(json.dumps({"frame": item.index, "stem": item.stem, "people": people}) + "\n")
            frames += 1
            if bar is not None:
                bar.update()
        done = True
    finally:
        if bar is not None:
            bar.close()
        source.close()
        if writer is not None:
            writer.close(complete=done)
        if kp_file is not None:
            kp_file.close()
            if done and frames:
                kp_partial.replace(kp_path)
            else:
                kp_partial.unlink(missing_ok=True)
    if frames == 0:
        raise PersonsegError(f"{src}: no frames")
    seconds = time.perf_counter() - start
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds}
