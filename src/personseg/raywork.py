"""A batch of image files on Ray: Ray Data reads the files and decodes them in tasks that take no CPU (so that
actors holding every CPU cannot starve them), and a pool of actors of one CPU each, each holding one Segmenter
(its models loaded once, onnxruntime on one thread), does each image's work."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import warnings
from collections import Counter
from collections.abc import Iterator

import numpy as np

from .errors import PersonsegError, describe
from .image import MIN_SIDE, load_image
from .pipeline import Segmenter
from .runtime import threads


class ImageActor:
    """A Ray actor: one Segmenter, fed one decoded image a call; ``work`` says what is made of it (a string
    handed back to the driver)."""

    def __init__(self, options: dict) -> None:
        import ray

        self.segmenter = Segmenter(**options)
        self.node = ray.get_runtime_context().get_node_id()

    def work(self, path: str, rgb: np.ndarray) -> str:
        raise NotImplementedError

    def __call__(self, batch: dict) -> dict:
        path, rgb, error = str(batch["path"][0]), batch["rgb"][0], str(batch["error"][0])
        made = ""
        if not error:
            try:
                with threads(1):
                    made = self.work(path, rgb)
            except Exception as e:   # noqa: BLE001 - reported with the image; the run goes on
                error = describe(e)
        return {"path": [path], "made": [made], "error": [error], "node": [self.node]}


#: Seconds a cluster's head has to answer before --address is refused (Ray itself retries for minutes).
CONNECT_S = 5.0


def _check_reachable(address: str) -> None:
    """PersonsegError where nothing answers at ``address`` (host:port, or ray://host:port): Ray retried for
    minutes, printing its own warnings, before any word of ours."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():   # "auto" and other forms Ray reads itself
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_S).close()
    except OSError as e:
        raise PersonsegError(f"--address {address}: nothing answers there ({e.strerror or e}); start the cluster's "
                             "head there (ray start --head prints its address), or give another") from None


def ray_run(paths: list[str], actor: type[ImageActor], kwargs: dict, actors: int, address: str | None,
            nodes: Counter) -> Iterator[tuple[str, str | PersonsegError]]:
    """(path, what ``actor`` made of it, or the error) for every file of ``paths`` (absolute), in the order they
    finish, on ``actors`` actors (0: one per two CPUs of the cluster). ``address``: a running cluster's
    (``ray start --head`` prints it); None starts one of this machine alone, whose processes talk over loopback
    only. ``nodes`` counts the images each node did."""
    if address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise PersonsegError("--engine ray needs Ray: pip install 'personseg[ray]'") from None
    if not ray.is_initialized():
        if address is not None:
            _check_reachable(address)
        before = signal.getsignal(signal.SIGTERM)
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        if before is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, before)   # Ray's exits at once; the command's cleans up as Ctrl-C does
    import ray.data   # its loggers made before they are quietened

    for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "ray"]:   # its notices are not ours
        logging.getLogger(name).setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    actors = actors or max(1, int(ray.cluster_resources().get("CPU", 2)) // 2)
    files = ray.data.read_binary_files(paths, include_paths=True, num_cpus=0)
    with warnings.catch_warnings():   # max_restarts has no named parameter in Ray 2.60 (constraints.txt): Ray's
        # note that passing it the old way is deprecated is not the user's to act on
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        done = files.map(_decode, num_cpus=0).map_batches(
            actor, fn_constructor_kwargs=kwargs, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1, max_restarts=0)
    for row in done.iter_rows():
        nodes[row["node"]] += 1
        yield row["path"], PersonsegError(row["error"]) if row["error"] else row["made"]


def _decode(row: dict) -> dict:
    """A Ray Data task: the file's bytes decoded (an unreadable file passes on its error)."""
    try:
        return {"path": row["path"], "rgb": load_image(row["bytes"]), "error": ""}
    except PersonsegError as e:   # said of the file, as a local run says it (the path is put before it)
        said = str(e).replace("<bytes>: ", "", 1).replace("the image data is empty", "the file is empty", 1)
        return {"path": row["path"], "rgb": np.zeros((MIN_SIDE, MIN_SIDE, 3), np.uint8), "error": said}
