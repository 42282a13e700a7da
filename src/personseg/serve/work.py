"""The service's workers: a fixed number of threads, each with its own Segmenters, fed from a bounded queue."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..pipeline import Segmenter

#: A job: given the worker's ``segmenter(method, instances)``, it returns what the request answers.
Job = Callable[[Callable[[str, bool], Segmenter]], Any]


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class WorkPool:
    """``workers`` threads segmenting for the service. Each builds a Segmenter per (method, instances) on first
    use and keeps it; sessions of the same network are shared (runtime.py). At most ``queue_size`` jobs wait."""

    def __init__(self, method: str, workers: int, queue_size: int) -> None:
        self.method = method
        self._jobs: queue.Queue = queue.Queue(maxsize=queue_size)
        self._threads = [threading.Thread(target=self._work, name=f"personseg-worker-{k}", daemon=True)
                         for k in range(workers)]
        self._ready = threading.Barrier(workers + 1)
        self._lock = threading.Lock()
        self.pending = 0   # queued and running
        self._failed: list[BaseException] = []

    def start(self) -> None:
        """Start the workers and wait until each has loaded the default method's models."""
        for t in self._threads:
            t.start()
        self._ready.wait()
        if self._failed:
            raise self._failed[0]

    def submit(self, job: Job) -> Future:
        """Queue ``job``; Busy when the queue is full."""
        future: Future = Future()
        with self._lock:
            try:
                self._jobs.put_nowait((job, future))
            except queue.Full:
                raise Busy from None
            self.pending += 1
        return future

    def close(self) -> None:
        """Stop the workers once they finish what they run (queued jobs are dropped)."""
        for _ in self._threads:
            self._jobs.put((None, None))

    def _work(self) -> None:
        made: dict[tuple[str, bool], Segmenter] = {}

        def segmenter(method: str, instances: bool) -> Segmenter:
            if (method, instances) not in made:
                made[method, instances] = Segmenter(method, instances=instances)
            return made[method, instances]

        try:   # load the models and run them once, so that the first request waits for neither
            segmenter(self.method, False)(np.full((64, 48, 3), 128, np.uint8))
        except BaseException as e:   # noqa: BLE001 - start() raises it
            self._failed.append(e)
        self._ready.wait()
        if self._failed:
            return
        while True:
            job, future = self._jobs.get()
            if job is None:
                return
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(job(segmenter))
                    except BaseException as e:   # noqa: BLE001 - handed to the request that asked
                        future.set_exception(e)
            finally:
                with self._lock:
                    self.pending -= 1
