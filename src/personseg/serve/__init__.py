"""The HTTP service and web page of `personseg serve` (needs FastAPI and uvicorn, in the default install)."""

from .app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
