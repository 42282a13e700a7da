"""The video's encoding and decoding threads end after Ctrl-C lands anywhere in the main thread, also where it loses a
thread's wake-up (CPython's Condition.notify interrupted between waking a waiter and forgetting it)."""

from __future__ import annotations

import threading
import time

import pytest

from personseg.video.io import _Worker, prefetched

original_notify = threading.Condition.notify


def _interrupted_notify(monkeypatch, thread: threading.Thread, lands_after: float = 0.0) -> None:
    """The next ``notify`` made on ``thread`` wakes its waiter, then Ctrl-C lands before the waiter is forgotten
    (the window a signal can hit in CPython 3.11's ``Condition.notify``), ``lands_after`` seconds later."""
    def notify(self, n: int = 1) -> None:
        if threading.current_thread() is thread and self._waiters:
            monkeypatch.setattr(threading.Condition, "notify", original_notify)
            self._waiters[0].release()
            self.release()   # the woken thread runs on meanwhile, as it may where this one is switched out
            time.sleep(lands_after)
            self.acquire()
            raise KeyboardInterrupt
        original_notify(self, n)

    monkeypatch.setattr(threading.Condition, "notify", notify)


def _ends_within(scenario, seconds: float = 10) -> list:
    """Run ``scenario`` on a thread of its own; what it raised, or a failure where it did not end in time."""
    raised: list = []

    def run() -> None:
        try:
            scenario()
        except BaseException as e:  # noqa: BLE001 - looked at by the test
            raised.append(e)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(seconds)
    assert not runner.is_alive(), "the interrupted work hung"
    return raised


def test_an_encoding_thread_ends_after_ctrl_c_lost_its_wake_up(monkeypatch):
    done: list[int] = []

    def scenario() -> None:
        worker = _Worker()
        time.sleep(0.2)   # the worker waits for a call
        _interrupted_notify(monkeypatch, threading.current_thread())
        try:
            worker.submit(lambda: done.append(1))
        finally:
            time.sleep(0.2)   # the run's other threads end first
            worker.join()   # as VideoWriter.close does after Ctrl-C

    raised = _ends_within(scenario)
    assert [type(e) for e in raised] == [KeyboardInterrupt] and done == [1]


def test_a_decoding_thread_ends_after_ctrl_c_lost_its_wake_up(monkeypatch):
    closed: list[bool] = []

    def frames():
        try:
            yield from range(10_000)
        finally:
            closed.append(True)

    def scenario() -> None:
        ahead = prefetched(frames(), size=1)
        assert next(ahead) == 0
        time.sleep(0.2)   # the decoding thread waits on the full queue
        # the woken thread hands on a frame and waits again before Ctrl-C is raised here
        _interrupted_notify(monkeypatch, threading.current_thread(), lands_after=0.2)
        next(ahead)

    raised = _ends_within(scenario)
    assert [type(e) for e in raised] == [KeyboardInterrupt] and closed == [True]
