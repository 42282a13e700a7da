"""The C allocator's settings for image work: glibc hands every freed block over 128 KB straight back to the
system, so each call's image-sized arrays (a 600x800 float map is 1.9 MB) are fresh pages that fault in and
are zeroed again. Measured on 40 600x800 photos with the same settings from the environment (docs/speed.md):
`fast` with guided matting 10.8 -> 9.2 ms, a cut-out's extra 28 -> 20 ms."""

from __future__ import annotations

import ctypes
import os
import sys

#: Blocks up to this size come from the reused heap instead of fresh pages (frames and photos up to a few
#: megapixels); larger ones (a 24 MP map is 96 MB) still go straight back to the system.
MMAP_THRESHOLD = 16 << 20
#: Free memory at the heap's top kept for the next call instead of handed back.
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters
_tuned = False


def tune_allocator() -> None:
    """Raise glibc's mmap and trim thresholds for this process (once). A no-op elsewhere than glibc on Linux,
    with PERSONSEG_TUNE_MALLOC=0, and where the process was started with its own settings
    (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES naming either)."""
    global _tuned
    if _tuned or not sys.platform.startswith("linux"):
        return
    _tuned = True
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if (os.environ.get("PERSONSEG_TUNE_MALLOC") == "0" or "MALLOC_MMAP_THRESHOLD_" in os.environ
            or "MALLOC_TRIM_THRESHOLD_" in os.environ or "mmap_threshold" in tunables or "trim_threshold" in tunables):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt   # the C library this process already runs on
    except (OSError, AttributeError):   # musl and others: their allocator, their settings
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
