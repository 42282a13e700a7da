"""Progress of long work on stderr: a bar on a terminal, else a line ("N of TOTAL images, S s") every
PROGRESS_LINE_SECONDS: a long batch or video written into a log (a GUI's pipe, nohup) said nothing before its
summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: Without a terminal, progress is a line this often, in seconds.
PROGRESS_LINE_SECONDS = 30.0


class Progress:
    """Counts ``unit`` (a plural: "images", "frames") done out of ``total`` (None: not known) on stderr. Without a
    terminal the last of a known total is not said: the summary that follows says it."""

    def __init__(self, total: int | None, unit: str = "images") -> None:
        self.total, self.unit, self.done = total, unit, 0
        self._bar = tqdm(total=total, unit=unit.rstrip("s"), file=sys.stderr) if sys.stderr.isatty() else None
        self._start = self._said = time.monotonic()

    def update(self) -> None:
        """One more done."""
        self.done += 1
        if self._bar is not None:
            self._bar.update()
        elif self.done != self.total and time.monotonic() - self._said >= PROGRESS_LINE_SECONDS:
            self._said = time.monotonic()
            of = f" of {self.total}" if self.total is not None else ""
            print(f"{self.done}{of} {self.unit}, {self._said - self._start:.0f} s", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def progress(items: Iterable[T], total: int | None = None, quiet: bool = False) -> Iterable[T]:
    """``items`` (images) passed through, each counted once the caller is done with it (``Progress``); nothing
    shown with ``quiet``."""
    if quiet:
        return items
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    return _counted(items, Progress(total))


def _counted(items: Iterable[T], shown: Progress) -> Iterator[T]:
    try:
        for item in items:
            yield item
            shown.update()
    finally:
        shown.close()
