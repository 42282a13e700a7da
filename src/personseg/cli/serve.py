"""`personseg serve`: the HTTP service and its web page (serve/app.py), run by uvicorn."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import socket
import sys

from ..errors import PersonsegError
from ..image import MAX_PIXELS
from ..methods import DEFAULT_METHOD, METHODS
from ..serve.settings import ServeSettings
from .common import methods_help

#: The environment variable read for the API key when --api-key is not given.
API_KEY_ENV = "PERSONSEG_API_KEY"


def add_parser(sub) -> None:
    s = sub.add_parser("serve", help="an HTTP service and a web page to segment photos and correct keypoints",
                       description="Serve personseg over HTTP: POST /v1/segment, GET /v1/health, GET /v1/methods, "
                                   "API docs at /docs and the web page at /. Bound to this machine (127.0.0.1) "
                                   f"unless --host says otherwise, which then needs an API key (--api-key or "
                                   f"{API_KEY_ENV}).")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000,
                   help="port (default 8000; 0: a free one, which the line on stderr names)")
    s.add_argument("--method", default=DEFAULT_METHOD, choices=tuple(METHODS),
                   help=methods_help(DEFAULT_METHOD) + "; requests may name another")
    s.add_argument("--workers", type=int, default=1,
                   help="images segmented at once (default 1: each network already uses every core; with more, "
                        "each worker's networks run on one)")
    s.add_argument("--queue", type=int, default=64, help="requests that may wait before 503 busy (default 64)")
    s.add_argument("--max-upload-mb", type=float, default=20.0, help="largest request body (default 20 MB)")
    s.add_argument("--max-pixels", type=int, default=ServeSettings.max_pixels,
                   help=f"largest photo (default {ServeSettings.max_pixels:,} pixels; each takes about 50 bytes a "
                        f"pixel while it is segmented; at most {MAX_PIXELS:,})")
    s.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a request may wait and run before 503 (default 60)")
    s.add_argument("--api-key", default=os.environ.get(API_KEY_ENV),
                   help=f"required from clients as the header X-API-Key (or Authorization: Bearer KEY) on /v1/ "
                        f"(default: ${API_KEY_ENV}); needed off loopback")
    s.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="let the web pages of this site call /v1/ from the browser (CORS), e.g. "
                        "http://localhost:3000; repeat for more sites, or * for any site (then anyone's page can "
                        "send your photos here: pair it with --api-key). Default: only this server's own page")
    s.add_argument("--quiet", action="store_true",
                   help="no line on stdout for each request (client, method, path, status: uvicorn's access "
                        "log), which is written by default")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..serve import create_app

    if not 1 <= args.max_pixels <= MAX_PIXELS:
        raise PersonsegError(f"--max-pixels takes 1 to {MAX_PIXELS}")
    if not 0 <= args.port <= 65535:
        raise PersonsegError(f"--port {args.port}: give a port from 1 to 65535 (or 0 for a free one)")
    loopback = _loopback(args.host)
    if not loopback and not args.api_key:
        raise PersonsegError(f"--host {args.host} is reachable from other machines: set --api-key or "
                             f"{API_KEY_ENV} (or serve on 127.0.0.1)")
    settings = ServeSettings(method=args.method, workers=args.workers, queue=args.queue,
                             max_upload=int(args.max_upload_mb * 2 ** 20), max_pixels=args.max_pixels,
                             timeout=args.timeout, api_key=args.api_key or None,
                             hosts=_answered(args.host) if loopback else None, origins=tuple(args.allow_origin))
    if "*" in args.allow_origin and not args.api_key:
        print("personseg: warning: --allow-origin '*' without --api-key: the page of any site you visit can send "
              "photos here and read the answers", file=sys.stderr)
    # the port is held from here (before the models load, not a server's traceback after; nor a second server
    # started meanwhile on the same port); requests sent while they load are answered once they have
    sockets = listen(args.host, args.port)
    try:
        port = sockets[0].getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"personseg: loading {args.method}, then serving http://{host}:{port}/ (Ctrl-C stops)",
              file=sys.stderr, flush=True)
        # uvicorn.Server, not uvicorn.run, which swallows the signal uvicorn raises again once it has stopped: the
        # command then ends as every command does (130 after Ctrl-C, 143 after SIGTERM)
        config = uvicorn.Config(create_app(settings), host=args.host, port=port, log_level="warning")
        # uvicorn's own messages at warning, its line a request (its access log) unless --quiet
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING if args.quiet else logging.INFO)
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        _close(sockets)
    return 0


#: What to do when the server could not bind, by the error's number.
BIND_HINTS = {errno.EADDRINUSE: "give another --port, or stop what uses it",
              errno.EACCES: "ports below 1024 need more rights: give another --port",
              errno.EADDRNOTAVAIL: "give --host an address of this machine"}


def listen(host: str, port: int, tries: int = 5) -> list[socket.socket]:
    """Sockets listening on ``port`` (0: a free one, the same on each; ``tries`` ports tried where one taken on
    another address of ``host`` is met) at every address of ``host``, as uvicorn serves them; PersonsegError where
    that cannot be: a name that does not resolve, an address not this machine's, a port in use or not allowed."""
    try:
        addresses = list(dict.fromkeys(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)))
    except socket.gaierror as e:
        raise PersonsegError(f"cannot serve on {host} ({e.strerror}): give --host an address of this machine") from None
    while True:
        try:
            return _bound(addresses, port)
        except OSError as e:
            tries -= 1   # a free port of the first address taken on another: another free port
            if not (port == 0 and len(addresses) > 1 and e.errno == errno.EADDRINUSE and tries):
                hint = BIND_HINTS.get(e.errno, "give another --host or --port")
                raise PersonsegError(f"cannot serve on {host}:{port} ({e.strerror or e}): {hint}") from None


def _bound(addresses: list[tuple], port: int) -> list[socket.socket]:
    """A socket listening at each of ``addresses`` (``socket.getaddrinfo``'s), on the port of the first where
    ``port`` is 0; OSError where one cannot, the others closed."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn: a restart binds at once
            if family == socket.AF_INET6:   # as asyncio: IPv4 has its own socket
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(2048)   # listening holds the port: another socket with SO_REUSEADDR could bind it too
    except OSError:
        _close(sockets)
        raise
    return sockets


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def _answered(host: str) -> tuple[str, ...]:
    """The Host names a server on the loopback address ``host`` answers to: the usual ones and ``host`` itself
    (127.0.0.2 was refused by its own server)."""
    name = f"[{host}]" if ":" in host else host.lower()
    return ServeSettings.hosts + (() if name in ServeSettings.hosts else (name,))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
