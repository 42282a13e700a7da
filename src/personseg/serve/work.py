"""The service's workers: a fixed number of threads, each with its own Segmenters, fed from a bounded queue."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..pipeline import Segmenter
from ..runtime import threads

#: A job: given the worker's ``segmenter(method, instances, subject, require_person, person_check)``, it returns
#: what the request answers.
Job = Callable[[Callable[..., Segmenter]], Any]


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class WorkPool:
    """``workers`` threads segmenting for the service. Each builds a Segmenter per (method, instances, subject,
    require_person, person_check) on first use and keeps it; sessions of the same network are shared (runtime.py). At most
    ``queue_size`` jobs wait; a job whose future was cancelled (its request timed out or its client left) frees
    its place at once."""

    def __init__(self, method: str, workers: int, queue_size: int) -> None:
        self.method, self.queue_size = method, queue_size
        self._waiting: collections.deque[tuple[Job, Future]] = collections.deque()
        self._ready = threading.Condition()
        self._running = 0
        self._stopping = False
        # several workers run the networks on one thread each: sessions spinning on every core in each worker
        # took each other's CPU (two workers, accurate: 19.8 -> 17.4 photos a second; on one thread each, 20.8)
        self._threads = [threading.Thread(target=self._work, args=(1 if workers > 1 else None,),
                                          name=f"personseg-worker-{k}", daemon=True) for k in range(workers)]
        self._loaded = threading.Barrier(workers + 1)
        self._failed: list[BaseException] = []

    @property
    def pending(self) -> int:
        """Jobs waiting or running."""
        with self._ready:
            return len(self._live()) + self._running

    def start(self) -> None:
        """Start the workers and wait until each has loaded the default method's models, with and without
        instances (the page asks for them); raises what stopped a worker from loading them."""
        for t in self._threads:
            t.start()
        self._loaded.wait()
        if self._failed:
            raise self._failed[0]

    def submit(self, job: Job) -> Future:
        """Queue ``job``; Busy when ``queue_size`` jobs already wait."""
        future: Future = Future()
        with self._ready:
            if len(self._live()) >= self.queue_size:
                raise Busy
            self._waiting.append((job, future))
            self._ready.notify()
        return future

    def close(self) -> None:
        """Cancel the waiting jobs; each worker stops after the job it runs (does not wait for them)."""
        with self._ready:
            self._stopping = True
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            self._ready.notify_all()

    def _live(self) -> collections.deque:
        """The waiting jobs, cancelled ones dropped (call holding ``_ready``)."""
        if any(f.cancelled() for _, f in self._waiting):
            self._waiting = collections.deque((j, f) for j, f in self._waiting if not f.cancelled())
        return self._waiting

    def _work(self, onnx_threads: int | None) -> None:
        with threads(onnx_threads):
            self._serve()

    def _serve(self) -> None:
        from ..refine.matting import load_pymatting

        made: dict[tuple[str, bool, str, bool, bool], Segmenter] = {}

        def segmenter(method: str, instances: bool, subject: str = "all", require_person: bool = False,
                      person_check: bool = True) -> Segmenter:
            key = method, instances, subject, require_person, person_check
            if key not in made:
                made[key] = Segmenter(method, instances=instances, subject=subject, require_person=require_person,
                                      person_check=person_check)
            return made[key]

        try:   # load the models and run them once, and the cut-outs' kernels, so that no first request waits
            for instances in (False, True):
                segmenter(self.method, instances)(np.full((64, 48, 3), 128, np.uint8))
            load_pymatting()
        except BaseException as e:   # noqa: BLE001 - start() raises it
            self._failed.append(e)
        self._loaded.wait()
        if self._failed:
            return
        while True:
            with self._ready:
                while not self._live() and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                job, future = self._waiting.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                self._running += 1
            try:
                future.set_result(job(segmenter))
            except BaseException as e:   # noqa: BLE001 - handed to the request that asked
                future.set_exception(e)
            finally:
                with self._ready:
                    self._running -= 1
