"""How `personseg serve` runs (no web framework imported: the CLI reads the defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import PersonsegError
from ..methods import DEFAULT_METHOD, METHODS

#: Host names a server bound to loopback answers to (against DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class ServeSettings:
    """How the service runs; the defaults are `personseg serve`'s."""

    method: str = DEFAULT_METHOD      # the method of requests that name none (its models load at start)
    workers: int = 1                  # threads segmenting at once (one: each network uses every core)
    queue: int = 64                   # requests that may wait for a worker before 503
    max_upload: int = 20 * 2 ** 20    # bytes of a request body before 413
    max_pixels: int = 40_000_000      # pixels of an image before 413 (a 40 MP photo needs about 2 GB here)
    timeout: float = 60.0             # seconds a request may wait and run before 503
    api_key: str | None = None        # required as X-API-Key (or Authorization: Bearer) when set
    hosts: tuple[str, ...] | None = LOOPBACK_HOSTS   # Host header names answered (None: any)
    origins: tuple[str, ...] = ()     # other sites whose pages may call /v1/ (CORS); "*" for any

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise PersonsegError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.api_key is not None and not (self.api_key.isascii() and self.api_key.isprintable()
                                             and self.api_key.strip()):
            raise PersonsegError("the API key must be printable ASCII (it travels in an HTTP header)")
        for name in ("workers", "queue", "max_upload", "max_pixels"):
            if getattr(self, name) < 1:
                raise PersonsegError(f"{name.replace('_', ' ')} must be at least 1")
        if not self.timeout > 0:
            raise PersonsegError("the time limit must be above 0 seconds")
        # as browsers send them, or a site written in capitals or with its default port would never match
        object.__setattr__(self, "origins", tuple(check_origin(o) for o in self.origins))


def check_origin(origin: str) -> str:
    """``origin`` as browsers send it (scheme and host in lower case, no default port), or "*"; PersonsegError
    unless it is a web origin (scheme://host[:port], nothing after)."""
    if origin == "*":
        return origin
    try:
        parts = urlsplit(origin)
        port = parts.port   # a port that is not a number raises here
    except ValueError:
        parts = port = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or origin.partition("://")[2] != parts.netloc):
        raise PersonsegError(f"origin {origin!r}: give it as a browser sends it, e.g. https://app.example.com or "
                             "http://localhost:3000 (no path, no slash at the end), or * for any site")
    scheme = parts.scheme   # urlsplit's, in lower case
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")
