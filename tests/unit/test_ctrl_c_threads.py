"""Background threads (the video's encoding and decoding ones, the output writers) end, or serve on, after
Ctrl-C lands anywhere in the main thread's hand-over to them: real signals (SIGALRM raising KeyboardInterrupt, as
Ctrl-C does) at random moments, hundreds of times. On queue.Queue, one in eight interrupted hand-overs left the
encoding thread waiting for ever (a lost wake-up, or the queue's lock left held), and the decoding one hung
within a few dozen; on concurrent.futures the writers' waits hung in 12 of 30."""

from __future__ import annotations

import itertools
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from personseg.outputs import _Writing
from personseg.video.io import _Worker, prefetched

#: Interrupted hand-overs tried in each test.
ROUNDS = 300
#: Seconds the cleanup after one may take before the test calls it hung.
LIMIT = 5


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class Hung(Exception):
    pass


def _hung(*_: object) -> None:
    raise Hung("the cleanup after Ctrl-C did not end")


@contextmanager
def _signals() -> Iterator[None]:
    before = signal.signal(signal.SIGALRM, _interrupt)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


def _interrupted(work: Callable[[], None], cleanup: Callable[[], None]) -> None:
    """``work`` until Ctrl-C lands in it at a random moment, then ``cleanup`` within LIMIT seconds."""
    signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, random.uniform(0.0005, 0.01))
    try:
        work()
    except KeyboardInterrupt:
        pass
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, _hung)
    signal.setitimer(signal.ITIMER_REAL, LIMIT)
    try:
        cleanup()
    except KeyboardInterrupt:   # landed in work's last instant, after the loop
        cleanup()
    signal.setitimer(signal.ITIMER_REAL, 0)


def test_the_encoding_thread_ends_after_ctrl_c_in_a_submit():
    random.seed(0)
    with _signals():
        for _ in range(ROUNDS):
            worker = _Worker()

            def submit_for_ever() -> None:
                while True:
                    worker.submit(lambda: None)

            _interrupted(submit_for_ever, worker.join)   # as VideoWriter.close does
            assert not worker._thread.is_alive()


def test_the_decoding_thread_ends_after_ctrl_c_in_a_get():
    random.seed(0)
    with _signals():
        for _ in range(ROUNDS):
            closed: list[bool] = []

            def frames() -> Iterator[int]:
                try:
                    yield from itertools.count()
                finally:
                    closed.append(True)

            ahead = prefetched(frames(), size=2)
            assert next(ahead) == 0   # its thread started (a generator never started is closed without running)

            def take_for_ever() -> None:
                for _ in ahead:
                    pass

            _interrupted(take_for_ever, ahead.close)   # its thread stopped and its frames closed
            assert closed == [True]


def test_the_writers_finish_and_serve_on_after_ctrl_c_in_a_save():
    random.seed(0)
    with _signals():
        for _ in range(ROUNDS):
            writing = _Writing()

            def write_for_ever() -> None:
                while True:
                    writing.hand(lambda: None)

            _interrupted(write_for_ever, writing.wait)   # as save_outputs' finally does
        after = _Writing()
        after.hand(lambda: "written")
        after.wait()
        assert after.results() == ["written"]


def test_ctrl_c_while_a_save_waits_for_its_files_is_raised_once_they_are_written():
    written: list[bool] = []

    def slow_write() -> None:
        time.sleep(0.3)
        written.append(True)

    with _signals():
        writing = _Writing()
        writing.hand(slow_write)
        signal.setitimer(signal.ITIMER_REAL, 0.05)   # Ctrl-C while the file is on its way
        with pytest.raises(KeyboardInterrupt):
            writing.wait()
    assert written == [True]   # a writer thread left in OpenCV's encoder as the process ended aborted it
