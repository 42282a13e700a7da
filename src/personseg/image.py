"""Read, validate and normalise images; write outputs atomically."""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Union

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps
from pillow_heif import register_heif_opener

from .errors import ImageError, ImageTooLargeError, OutputExistsError

ImageInput = Union[str, os.PathLike, bytes, BinaryIO, np.ndarray, Image.Image]

#: Largest image accepted, in pixels (about 16k x 11k); larger ones are refused as possible decompression bombs.
MAX_PIXELS = 178_956_970
#: Smallest side accepted, in pixels: below it there is no person to find (and the networks' crops degenerate).
MIN_SIDE = 8
#: How far past [0, 1] a float array may stray by rounding and still be read (clipped).
FLOAT_SLACK = 1e-3
#: zlib level of the PNGs written: the fastest. A 24 MP RGBA cut-out: 1.2 s and 16.5 MB at 1, 4.5 s and 12.1 MB
#: at PIL's default 6 (benchmarks/large_photo.py); masks, mostly long runs, stay small at any level.
PNG_LEVEL = 1
#: The PNG row filter: each row less the one above it, the same for every row. Pillow's encoder tries all five
#: filters on every row (it offers no other choice); on the outputs of 20 photos (600x800) the fixed filter
#: encoded in 36-56% of the time, the files 2% smaller to 1% larger (docs/speed.md).
PNG_FILTER = cv2.IMWRITE_PNG_FILTER_UP
#: The blur (pixels) that turns a 1-bit photo's dots back into shades (``descreened``). Chosen with `accurate` on
#: 25 held-out photos (validation EG1800 and CCP, Penn-Fudan train) turned 1-bit by Pillow (Floyd-Steinberg),
#: mean IoU: none 0.052, 0.6 / 0.8 / 1.0 / 1.5 / 2.5 px 0.653 / 0.726 / 0.749 / 0.704 / 0.694 (the grey photos
#: 0.816).
BILEVEL_SIGMA = 1.0
#: The colour space photos are read into: the networks were trained on sRGB photos, and outputs are written
#: untagged, which viewers show as sRGB.
SRGB = ImageCms.createProfile("sRGB")
#: Levels a channel may move for a profile to count as sRGB's own (``srgb_transform``): the sRGB IEC61966-2.1
#: profile that cameras embed moves 34 of 4913 colours by one level from LittleCMS's sRGB, and applying it made a
#: 12 MP JPEG load 2.3 times as long for nothing.
SRGB_SLACK = 1
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".png", ".webp", ".avif", ".heic", ".heif", ".gif", ".bmp", ".tif",
                  ".tiff")
#: Video files given as a photo are refused naming what reads them.
MOVIE_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".wmv", ".3gp")

# iPhones' photos (HEIC) open as any other: pillow-heif's decoder, its HEIF rotations applied (EXIF orientation 1)
register_heif_opener()


def load_image(source: ImageInput, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Return ``source`` as an HxWx3 uint8 RGB array. ``source``: a path, encoded bytes, a binary file object
    (an open file, BytesIO), a PIL image, or an RGB(A) or gray array: uint8 or other integers in 0..255,
    uint16 (0..65535; one holding only 0..255 is refused), float in [0, 1], or bool. Arrays are taken as RGB
    (OpenCV's BGR arrays need ``cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)`` first).

    EXIF orientation is applied, and an embedded colour profile (``in_srgb``: files and PIL images; arrays are taken
    as sRGB); gray, palette, CMYK and 16-bit inputs are converted; transparent pixels (RGBA files and arrays alike)
    are shown over white. The input itself is never modified.
    """
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        return _pil_to_rgb(source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError("the image data is empty (0 bytes)")
        return _open_and_convert(io.BytesIO(data), "<bytes>", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        if not os.fspath(source):
            raise ImageError("the image path is empty")
        path = Path(source)
        if path.is_dir():
            raise ImageError(f"{path}: is a folder, not an image file")
        if not path.is_file():
            raise ImageError(f"{os.fspath(source)}: {not_there(source)}")
        if path.stat().st_size == 0:
            raise ImageError(f"{path}: the file is empty (0 bytes)")
        with open(path, "rb") as f:
            return _open_and_convert(f, str(path), max_pixels)
    if callable(getattr(source, "read", None)):
        text = "the file object gives text, not bytes; open it in binary mode ('rb')"
        if isinstance(source, io.TextIOBase):   # reading an image from it would fail to decode it as text
            raise ImageError(text)
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError(text)
        if not data:
            try:
                read = source.tell() > 0   # read before (by another call): it stands at its end
            except (OSError, ValueError, AttributeError):
                read = False
            raise ImageError("the file object gave no bytes: " + ("it was read to its end already (seek(0) first, "
                             "or pass the path or the bytes)" if read else "it is empty"))
        return load_image(bytes(data), max_pixels)
    raise ImageError(f"cannot read an image from a {type(source).__name__}; pass a path, bytes, a binary file, "
                     "a PIL image or an array")


def _open_and_convert(stream, name: str, max_pixels: int) -> np.ndarray:
    try:
        # Pillow warns of photos over half its limit (89.5 MP) and refuses those over it (MAX_PIXELS): the size is
        # checked here before the pixels are decoded, the warning left as Pillow gives it (the command line hides
        # it). Made an error here, it refused photos from 89.5 MP on, and from several threads at once
        # ``warnings.catch_warnings`` left that filter on for the whole process.
        im = Image.open(stream)
        _check_size(im.size, name, max_pixels)
        im.load()
    except ImageError:   # ImageTooLargeError included
        raise
    except Image.DecompressionBombError as e:   # Pillow's own limit, met first
        count = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(count.group(1)):,} pixels" if count else "its size"
        raise ImageTooLargeError(f"{name}: {size} is over the limit of {max_pixels:,} pixels; resize it "
                                 "first") from None
    except Image.UnidentifiedImageError:
        movie = (": a video? `personseg video` reads videos, and VideoSegmenter their frames"
                 if Path(name).suffix.lower() in MOVIE_SUFFIXES else "")
        raise ImageError(f"{name}: not an image, or in a format that cannot be read{movie}") from None
    except (OSError, SyntaxError, ValueError, EOFError, TypeError) as e:   # TypeError: PIL on broken TIFF tags
        raise ImageError(f"{name}: not a readable image ({_plain(e)})") from None
    return _pil_to_rgb(im, max_pixels, name)


def _plain(error: Exception) -> str:
    """An exception's message without Python's object reprs (``<_io.BufferedReader name=...>``)."""
    text = str(error)
    return text.split(" <", 1)[0].strip() if " <" in text else text or type(error).__name__


def _check_size(size: tuple[int, int], name: str, max_pixels: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if min(w, h) < MIN_SIDE:
        raise ImageError(f"{name}: {w}x{h} is too small; personseg needs at least {MIN_SIDE}x{MIN_SIDE} pixels")
    if w * h > max_pixels:
        raise ImageTooLargeError(f"{name}: {w}x{h} is over the limit of {max_pixels:,} pixels; resize it first")


def _pil_to_rgb(im: Image.Image, max_pixels: int, name: str = "<image>") -> np.ndarray:
    _check_size(im.size, name, max_pixels)
    try:
        im = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, EOFError) as e:   # a broken EXIF block: the pixels as stored
        warnings.warn(f"{name}: EXIF orientation unreadable ({_plain(e)}); the image is used as stored")
    im = in_srgb(im, name)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        # 16-bit files are 0..65535 however dark (a fade's dark frame was read as 0..255, 257 times too bright);
        # 32-bit integers ("I") hold 8-bit values where none is above 255
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return _array_to_rgb(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if im.mode == "F":   # 32-bit float files: 0..1, or 0..255 where any value is above 1
        arr = np.nan_to_num(np.asarray(im, dtype=np.float32))
        return _array_to_rgb(np.clip(arr / (255.0 if arr.max() > 1.0 else 1.0), 0.0, 1.0))
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Transparent pixels are shown over white, as a viewer would.
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def in_srgb(im: Image.Image, name: str = "<image>") -> Image.Image:
    """``im`` with its embedded colour profile applied (a camera's Adobe RGB, an iPhone's Display P3, a printer's
    CMYK, a grey one; LittleCMS through Pillow): its colours as sRGB values, so the networks see what they were
    trained on and the outputs, written untagged, look as the photo does (colours outside sRGB clipped). ``im`` as it
    is without a profile, with sRGB's (SRGB_SLACK), or in a mode not converted (16-bit, float); a profile that
    cannot be read, or is for other pixels than the image's (an RGB one on CMYK pixels), is said in a warning and the
    colours used as stored. Transparency is kept (palette and grey images with it become RGBA)."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return im
    try:
        space = _profile(bytes(icc)).profile.xcolor_space.strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        warnings.warn(f"{name}: its colour profile is unreadable ({_plain(e)}); the colours are used as stored")
        return im
    clear = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if space == "RGB" and im.mode != "CMYK":
        mode = "RGBA" if clear else "RGB"
    elif (space, im.mode) in (("GRAY", "L"), ("GRAY", "LA"), ("CMYK", "CMYK")):
        mode = space.replace("GRAY", "L")
    else:
        warnings.warn(f"{name}: its colour profile is for {space} pixels, not {im.mode}; the colours are used as "
                      "stored")
        return im
    try:
        transform = srgb_transform(bytes(icc), mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        warnings.warn(f"{name}: its colour profile cannot be applied ({_plain(e)}); the colours are used as stored")
        return im
    if transform is None:
        return im
    out = ImageCms.applyTransform(im if im.mode == mode else im.getchannel("L") if mode == "L" else im.convert(mode),
                                  transform)
    if mode == "L" and clear:
        out.putalpha(im.getchannel("A"))
    return out


@lru_cache(maxsize=16)
def _profile(icc: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(icc))


@lru_cache(maxsize=16)
def srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform of images of ``mode`` (RGB, RGBA, L or CMYK) from the colour profile ``icc`` into sRGB (RGBA
    from RGBA, else RGB); None where it moves no colour by more than SRGB_SLACK (17 levels a channel tried): an sRGB
    profile, and such photos are read as stored at no cost."""
    transform = ImageCms.buildTransform(_profile(icc), SRGB, mode, "RGBA" if mode == "RGBA" else "RGB")
    if mode in ("RGB", "RGBA"):
        levels = np.minimum(np.arange(17) * 16, 255).astype(np.uint8)
        grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(17, 289, 3)
        probe = Image.fromarray(grid).convert(mode)
        moved = np.asarray(ImageCms.applyTransform(probe, transform)).astype(np.int16) - np.asarray(probe)
        if np.abs(moved).max() <= SRGB_SLACK:
            return None
    return transform


def kept_image(source: ImageInput) -> np.ndarray:
    """``load_image(source)``, copied where that is the caller's own array: a Result keeps its image to render
    from, and a buffer the caller fills again (a camera's, a decoder's) changed its cut-outs afterwards without a
    word (the copy: 36 us a 600x800 photo)."""
    rgb = load_image(source)
    return rgb.copy() if isinstance(source, np.ndarray) and np.may_share_memory(rgb, source) else rgb


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    if arr.size == 0 or arr.ndim not in (2, 3):
        raise ImageError(f"an image array must be HxW or HxWxC with pixels; got shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] not in (1, 3, 4):
        first = " (channels first? arr.transpose(1, 2, 0) puts them last)" if arr.shape[0] in (1, 3, 4) else ""
        raise ImageError(f"an image array must have 1, 3 or 4 channels, last (HxWxC); got {arr.shape[2]}{first}")
    _check_size((arr.shape[1], arr.shape[0]), "the image array", MAX_PIXELS)
    if arr.dtype == np.uint8:
        out = arr
    elif arr.dtype == np.uint16:
        if 0 < arr.max() <= 255:   # read as 0..65535 it would be all but black: no one found, no word said
            raise ImageError(f"a uint16 image array holding 0..{arr.max()} only (8-bit values?): uint16 is read as "
                             "0..65535; pass 8-bit values as uint8")
        out = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise ImageError(f"an image array of {arr.dtype} must hold values in 0..255 (uint16 for 0..65535); "
                             f"got {arr.min()}..{arr.max()}")
        out = arr.astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageError("the image array holds NaN or infinite values")
        low, high = float(arr.min()), float(arr.max())
        if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
            raise ImageError(f"a float image array must hold values in [0, 1]; got {low:.6g}..{high:.6g} "
                             "(for 0..255 values pass uint8)")
        out = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif arr.dtype == np.bool_:
        out = arr.astype(np.uint8) * 255
    else:
        raise ImageError(f"unsupported image array dtype {arr.dtype}; use uint8, uint16, integers in 0..255, "
                         "float in [0, 1] or bool")
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    elif out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    elif out.shape[2] == 4:   # transparent pixels over white, as for RGBA files
        a = out[:, :, 3:].astype(np.float32) / 255.0
        out = (out[:, :, :3] * a + 255.0 * (1.0 - a) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(out)


def not_there(path: str | os.PathLike) -> str:
    """Why ``path``, which names no file, is not read: a URL (which Path turns into 'https:/...') or no such file."""
    if re.match(r"[a-z][a-z0-9+.-]+:/", os.fspath(path), re.I):
        return "a URL; personseg reads files and bytes only (download it first)"
    if Path(path).is_symlink():
        return f"a link to {os.readlink(path)}, which is not there"
    return "no such file or folder"


def black_and_white(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (HxWx3, uint8 or float32) as a black-and-white photo: its luminance (0.299 R + 0.587 G + 0.114 B)
    in all three channels."""
    return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def descreened(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (HxWx3 uint8) as the networks and the pose backend should see it: a black-and-white photo of only
    black and white pixels (1-bit, dithered) blurred by a Gaussian of BILEVEL_SIGMA pixels back into shades of grey
    (BlazePose and the networks found almost nobody in the dots); any other image as it is."""
    row = rgb[rgb.shape[0] // 2]   # a photo with shades shows them at once
    if np.any((row != 0) & (row != 255)) or np.any((rgb != 0) & (rgb != 255)):
        return rgb
    if np.any(rgb[..., 0] != rgb[..., 1]) or np.any(rgb[..., 0] != rgb[..., 2]):   # flat colours, not dots
        return rgb
    return cv2.GaussianBlur(rgb, (0, 0), BILEVEL_SIGMA)


def load_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a ground-truth or saved mask as uint8 HxW {0, 255}: foreground where it is brighter than mid-grey
    (0/255 masks, soft mattes; a colour mask where any of its colours is: a red person on black), and wherever it
    is not 0 in a label map: a mask whose values all lie under LABELS_BELOW (0s and 1s, as many labelling tools
    save them, or per-person labels) but for VOID, or of palette indices whose 0 is black; a label map's VOID
    pixels are not the person (``read_mask``). A mask with an alpha channel (a cut-out, RGBA) is its alpha where
    that is a mask itself (``_mask_plane``)."""
    return read_mask(path)[0]


def read_mask(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """``load_mask``'s mask, and the pixels of a label map marked VOID (nobody is scored there), or None where
    there are none. ImageError for a file that is no mask, or a photo (``_photo_share``)."""
    try:
        with Image.open(path) as im:
            palette = im.mode == "P" and (im.getpalette() or [255])[:3] == [0, 0, 0]
            arr = np.asarray(im) if palette else _mask_plane(im)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: not a readable mask ({e})") from None
    # every test below from one histogram (OpenCV's: a fifth of numpy's bincount's time)
    counts = cv2.calcHist([np.ascontiguousarray(arr)], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    labels = counts[1:VOID].any() if palette else counts[1:LABELS_BELOW].any() and not counts[LABELS_BELOW:VOID].any()
    # VOC's band: beside labels, on a background of 0, thin (a person of 255 beside a few dark pixels is none)
    void = arr == VOID if labels and counts[0] and counts[VOID] else None
    if void is not None and not _thin(void):
        void = None
    if palette or (labels and (void is not None or not counts[VOID])):   # a label map
        person = (arr > 0) if void is None else (arr > 0) & ~void
        return person.view(np.uint8) * np.uint8(255), void
    photo = _photo_share(counts)
    if photo:   # the photos themselves in the masks folder trained and scored without a word
        raise ImageError(f"{path}: not a mask but a photo, it seems: {photo:.0%} of its pixels are mid-grey in many "
                         "shades (a mask is the person bright on black; a soft edge's grey lies along its outline)")
    textured = _textured_share(arr, counts)
    if textured:   # a photo of dark and bright parts (a portrait on black) passed the test above
        raise ImageError(f"{path}: not a mask but a photo, it seems: {textured:.0%} of its pixels differ from their "
                         "neighbours, and few are black or white (a mask is the person bright on black, flat but "
                         "along its outline)")
    return (arr > 127).view(np.uint8) * np.uint8(255), None


def _thin(void: np.ndarray) -> bool:
    """Whether the VOID pixels are a thin band (VOC's, about 5 px wide round each object): an erosion by a
    VOID_BAND square leaves under a quarter of them."""
    kept = cv2.erode(void.view(np.uint8), np.ones((VOID_BAND, VOID_BAND), np.uint8))
    return np.count_nonzero(kept) * 4 < np.count_nonzero(void)


def _photo_share(counts: np.ndarray) -> float:
    """The share of mid-grey pixels (64..191) of a mask plane's histogram ``counts`` where that is
    PHOTO_GREY_SHARE or more and they spread over many shades (no nine neighbouring shades hold half of them,
    as one tone of a 0/128 mask does); 0.0 otherwise."""
    mid = counts[64:192]
    share = mid.sum() / max(counts.sum(), 1)
    flat = np.convolve(mid, np.ones(9, np.int64), mode="valid").max()
    return float(share) if share >= PHOTO_GREY_SHARE and flat * 2 < mid.sum() else 0.0


def _textured_share(arr: np.ndarray, counts: np.ndarray) -> float:
    """The share of pixels of the mask plane ``arr`` (its histogram ``counts``) that differ from their right and
    lower neighbours by PHOTO_STEP or more together, where that is PHOTO_TEXTURE or more, under PHOTO_SATURATED of
    the pixels are black or white (8 levels from either end) and under PHOTO_TWO_TONES lie near two tones (a
    noisy mask of video's 16 and 235); 0.0 otherwise."""
    total = max(counts.sum(), 1)
    saturated = (counts[:9].sum() + counts[247:].sum()) / total
    if saturated >= PHOTO_SATURATED or _two_tones(counts) / total >= PHOTO_TWO_TONES or min(arr.shape) < 2:
        return 0.0
    p = arr.astype(np.int16)
    step = np.abs(p[:-1, 1:] - p[:-1, :-1]) + np.abs(p[1:, :-1] - p[:-1, :-1])
    share = float(np.count_nonzero(step >= PHOTO_STEP)) / step.size
    return share if share >= PHOTO_TEXTURE else 0.0


def _two_tones(counts: np.ndarray) -> int:
    """The pixels of the histogram ``counts`` within the two most-filled windows of TONE_WIDTH levels apart."""
    windows = np.convolve(counts, np.ones(TONE_WIDTH, np.int64), mode="valid")   # [i]: levels i .. i + width - 1
    first = int(np.argmax(windows))
    others = windows.copy()
    others[max(0, first - TONE_WIDTH + 1): first + TONE_WIDTH] = 0
    return int(windows[first] + others.max())


#: A mask whose values all lie under this is a label map, any non-zero value a person: 0/1 masks, per-person
#: labels 0/1/2/... (Penn-Fudan's own), and their JPEG copies, whose noise lifts a 0/1 mask to 0..3 (read at
#: mid-grey they were all background: an IoU of 0 with no word).
LABELS_BELOW = 32
#: In a label map, the value of pixels nobody is scored on: PASCAL VOC's band round each object (read at mid-grey
#: the band alone was the person).
VOID = 255
#: The side of the square whose erosion a label map's VOID band does not survive (VOC's is about 5 px wide; a
#: person drawn 255 is wider).
VOID_BAND = 7


#: A "mask" this share of whose pixels lie between dark and bright (64..191), in many shades, is a photo: the
#: masks of every set here have none there, 96% of their photos (200 of each set's) 20% or more; a matte's grey
#: floor (40) is dark.
PHOTO_GREY_SHARE = 0.2
#: ... or one under this share of whose pixels are black or white, under PHOTO_TWO_TONES near two tones, and at
#: least PHOTO_TEXTURE of whose pixels differ from their neighbours by PHOTO_STEP. Of the 142 photos of every set
#: here the test above takes for masks (a portrait on black), this one refuses 111; every set's masks are black
#: or white throughout; mattes made by ``accurate`` (PNG and JPEG, 100 photos of coco_people, pennfudan and
#: coco_single) are at least 0.48 black or white; a 16/235 mask with noise (a standard deviation up to 8 levels)
#: lies 0.88 or more near two tones.
PHOTO_SATURATED = 0.4
PHOTO_TWO_TONES = 0.85
TONE_WIDTH = 25
PHOTO_TEXTURE = 0.1
PHOTO_STEP = 6


#: A mask's pixel is coloured, not grey, where its channels differ by more than this (JPEG's noise on grey stays under).
COLOURED = 48
#: A mask's alpha channel marks the person (a cut-out) where at least this share of its pixels is transparent
#: (alpha under 128) and some are opaque: not a mask with a transparent border, or one uniformly see-through.
ALPHA_MASK_SHARE = 0.01


def _mask_plane(im: Image.Image) -> np.ndarray:
    """The one plane of a mask image that marks the person: its alpha channel where that is a mask itself
    (ALPHA_MASK_SHARE; a colour made transparent, PNG's colour key, is not), else the brightest of its colours at
    each pixel (grey as it is: a mask is read on black). ValueError for a mask bright everywhere and coloured
    somewhere (a person on a coloured background: all person, read on black)."""
    if im.mode in ("RGBA", "LA", "PA"):
        alpha = np.asarray(im.getchannel("A"))
        clear = np.count_nonzero(alpha < 128)
        if ALPHA_MASK_SHARE * alpha.size <= clear < alpha.size:
            return alpha
    if im.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV", "PA"):
        rgb = np.asarray(im.convert("RGB"))
        plane = rgb.max(axis=2)
        if plane.min(initial=255) > 127 and (np.ptp(rgb, axis=2) > COLOURED).any():
            # every pixel bright, some of them coloured: a person coloured on a coloured background, which read on
            # black would be all person (a bright grey mask, a JPEG's noise on white, is all person as meant)
            raise ValueError("a mask in colours none of which is black; masks are read on black (the person any "
                             "bright colour or grey, the rest black)")
        return plane
    return np.asarray(im.convert("L"))


def load_pair(image: str | os.PathLike, mask: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A photo and its ground-truth mask (``load_image``, ``load_mask``); ImageError where their sizes differ."""
    rgb = load_image(image)
    return rgb, mask_of(mask, rgb.shape, image)[0]


def mask_of(mask: str | os.PathLike, shape: tuple[int, ...],
            image: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """The ground-truth mask at ``mask`` of the photo at ``image``, of ``shape`` (h, w, ...), and its void pixels
    (``read_mask``); ImageError where its size is not the photo's."""
    m, void = read_mask(mask)
    if m.shape != tuple(shape[:2]):
        raise ImageError(f"{mask}: mask is {m.shape[1]}x{m.shape[0]}, image {image} is {shape[1]}x{shape[0]}")
    return m, void


def write_image(path: str | os.PathLike, array: np.ndarray, overwrite: bool = False, *, reuse: bool = False) -> Path:
    """Write ``array`` (HxW, HxWx3 or HxWx4 uint8) to ``path`` atomically; the format follows the suffix.
    ``reuse``: ``array`` is the caller's to lose (its colour channels are reordered in place: no copy)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite to replace it")
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(path.suffix.lower(), "PNG")
    return write_bytes(path, encode_image(array, fmt, reuse=reuse), overwrite=overwrite)


def encode_image(array: np.ndarray, fmt: str = "PNG", *, reuse: bool = False) -> bytes:
    """``array`` (HxW, HxWx3 or HxWx4 uint8, RGB order; uint16 too for PNG) as a PNG (zlib PNG_LEVEL, the
    PNG_FILTER on every row) or JPEG (quality 95) file. OpenCV encodes (it lets the filter be chosen and lets other
    threads run meanwhile); its channel order is made in place with ``reuse`` (``array`` is lost), else in a copy.
    A bool HxW array is written as 0/255, grey with alpha (HxWx2) as RGBA; anything else is refused (ImageError)
    rather than written wrong."""
    if array.dtype == bool and array.ndim == 2:
        array = array.astype(np.uint8) * np.uint8(255)
    if array.ndim == 3 and array.shape[2] == 2:   # OpenCV writes no grey-with-alpha PNG
        array = np.dstack([array[..., :1]] * 3 + [array[..., 1:]])
    shape = "x".join(map(str, array.shape))
    depths = (np.uint8,) if fmt == "JPEG" else (np.uint8, np.uint16)
    if array.dtype not in depths or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ImageError(f"cannot write a {shape} {array.dtype} array as {fmt}: give uint8 HxW, HxWx3 (RGB) or "
                         "HxWx4 (RGBA), e.g. (alpha * 255).round().astype(np.uint8) for a float matte")
    if fmt == "JPEG" and array.ndim == 3 and array.shape[2] == 4:
        raise ImageError(f"cannot write a {shape} RGBA array as JPEG, which has no transparency: write it as PNG")
    if array.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR
        in_place = reuse and array.flags.c_contiguous and array.flags.writeable
        array = cv2.cvtColor(array, code, dst=array if in_place else None)
    params = ([cv2.IMWRITE_JPEG_QUALITY, 95] if fmt == "JPEG" else
              [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL, cv2.IMWRITE_PNG_FILTER, PNG_FILTER])
    ok, buf = cv2.imencode(".jpg" if fmt == "JPEG" else ".png", array, params)
    if not ok:
        raise ImageError(f"OpenCV could not encode a {shape} image as {fmt}")
    return buf.tobytes()


def write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):   # as open() would make it: mkstemp's 0600 is for its own privacy
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:   # a full disk names no file by itself
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def image_files(folder: Path) -> list[Path]:
    """The visible image files of ``folder`` (not in its subfolders; hidden ones, such as macOS's ``._`` copies,
    are not the user's), in ``name_order``: a clip's frames, a data set's images or masks."""
    return sorted((f for f in folder.iterdir()
                   if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda f: name_order(f.name))


def name_order(name: str) -> tuple:
    """Sort key of a file name (a clip's frames): each run of digits taken as a number, so unpadded numbering
    (FFmpeg's ``%d``: 1.jpg, 2.jpg, ... 10.jpg) stays in order; the name itself settles ties (1.jpg, 01.jpg)."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts)), name
