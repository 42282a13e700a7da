"""The HTTP service and web page of `personseg serve` (FastAPI and uvicorn, in the default install).

``ServeSettings`` (serve/settings.py) loads no web framework; ``create_app`` (serve/app.py) does, on first use."""

from __future__ import annotations

from .settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
