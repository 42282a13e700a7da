"""`personseg serve`: the HTTP service (FastAPI) and its web page.

Requests are decoded and segmented on the WorkPool's threads, never on the event loop; every error answers
JSON ``{"error": "..."}`` with its status: 401 no or wrong key, 413 upload or image too large, 415 not an
image, 422 bad parameters, 503 queue full or time limit passed, 500 anything unforeseen (the server stays up).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np
from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from PIL import ImageColor
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import ImageError, ImageTooLargeError, PersonsegError
from ..image import MAX_PIXELS, load_image
from ..methods import DEFAULT_METHOD, METHODS
from ..outputs import MAX_BLUR
from ..pose.keypoints import given_keypoints
from .answers import PICTURES, SERVICE_OUTPUTS, picture, result_json, stages_json
from .work import Busy, WorkPool

PAGE = resources.files("personseg.serve") / "page"


@dataclass(frozen=True)
class ServeSettings:
    """How the service runs; the defaults are `personseg serve`'s."""

    method: str = DEFAULT_METHOD      # the method of requests that name none (its models load at start)
    workers: int = 1                  # threads segmenting at once (each network already uses every core)
    queue: int = 64                   # requests that may wait for a worker before 503
    max_upload: int = 20 * 2 ** 20    # bytes of a request body before 413
    max_pixels: int = MAX_PIXELS      # pixels of an image before 413
    timeout: float = 60.0             # seconds a request may wait and run before 503
    api_key: str | None = None        # required as X-API-Key (or Authorization: Bearer) when set

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise PersonsegError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        for name in ("workers", "queue", "max_upload", "max_pixels"):
            if getattr(self, name) < 1:
                raise PersonsegError(f"{name.replace('_', ' ')} must be at least 1")
        if not self.timeout > 0:
            raise PersonsegError("the time limit must be above 0 seconds")


class Failed(Exception):
    """A request refused with ``status`` and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers


def create_app(settings: ServeSettings = ServeSettings()) -> "BodyLimit":
    """The service as an ASGI app: the FastAPI app behind BodyLimit (the upload limit, checked before parsing)."""
    pool = WorkPool(settings.method, settings.workers, settings.queue)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await asyncio.to_thread(pool.start)
        yield
        pool.close()

    app = FastAPIOffline(title="personseg", version=__version__, lifespan=lifespan,   # /docs without a CDN
                         description="Find people in photos and cut them out. Every error answers "
                                     '`{"error": "..."}`.')

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.exception_handler(Failed)
    async def _failed(_: Request, e: Failed) -> JSONResponse:
        return error(e.status, str(e), e.headers)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, e: HTTPException) -> JSONResponse:
        return error(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return error(422, "; ".join(f"{'.'.join(str(p) for p in d['loc'][1:]) or d['loc'][0]}: {d['msg']}"
                                    for d in e.errors()))

    @app.exception_handler(Exception)
    async def _internal(_: Request, e: Exception) -> JSONResponse:
        return error(500, f"internal error ({type(e).__name__}); the server is still running")

    def keyed(request: Request) -> None:
        if settings.api_key is None:
            return
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not secrets.compare_digest(given.encode(), settings.api_key.encode()):
            raise Failed(401, "missing or wrong API key: send it as X-API-Key", {"WWW-Authenticate": "Bearer"})

    @app.get("/v1/health", summary="200 once the models are loaded")
    async def health() -> dict:
        return {"status": "ok", "method": settings.method, "version": __version__, "busy": pool.pending}

    @app.get("/v1/methods", dependencies=[Depends(keyed)], summary="the methods, outputs and limits")
    async def methods() -> dict:
        return {"default": settings.method,
                "methods": [{"name": m.name, "summary": m.summary, "needs_keypoints": m.needs_keypoints,
                             "models": list(m.models)} for m in METHODS.values()],
                "outputs": list(SERVICE_OUTPUTS),
                "limits": {"upload_bytes": settings.max_upload, "pixels": settings.max_pixels,
                           "queue": settings.queue, "timeout_s": settings.timeout}}

    @app.post("/v1/segment", dependencies=[Depends(keyed)], response_model=None,
              summary="segment the people of one image",
              responses={200: {"content": {"image/png": {}, "application/json": {}}}})
    async def segment(
        image: UploadFile = File(description="the photo (JPEG, PNG, WebP, ...)"),
        people: str | None = Form(None, description="JSON list of people, each 17 COCO keypoints [x, y, v] in "
                                                    "pixels: exactly they are segmented, their keypoints the "
                                                    "priors (no search)"),
        output: Literal[SERVICE_OUTPUTS] = Query("mask", description="mask (0/255 PNG), alpha, cutout (RGBA "
                                                 "PNG), replace, blur, overlay; json: everyone's box, keypoints, "
                                                 "score and mask (COCO RLE); stages: json with every stage's "
                                                 "picture (the web page)"),
        method: Literal[tuple(METHODS)] | None = Query(None, description="default: the server's"),
        instances: bool = Query(False, description="one mask per person (json, stages)"),
        background: str = Query("white", description="colour (name or #rrggbb) for output=replace"),
        blur: float = Query(0.02, gt=0, le=MAX_BLUR, description="background blur, share of the diagonal"),
    ) -> Response:
        colour = _colour(background)
        given = _people(people)
        data = await image.read()
        name = method or settings.method

        def job(segmenter) -> Response:
            try:
                rgb = load_image(data, settings.max_pixels)
                result = segmenter(name, instances)(rgb, people=given)
            except ImageTooLargeError as e:
                raise Failed(413, _upload(e)) from None
            except ImageError as e:
                raise Failed(415 if data else 422, _upload(e)) from None
            except PersonsegError as e:
                raise Failed(422, str(e)) from None
            if output == "json":
                return JSONResponse(result_json(result, name))
            if output == "stages":
                return JSONResponse(stages_json(result, name))
            bg = np.broadcast_to(np.array(colour, np.uint8), (*result.mask.shape, 3))
            return Response(picture(result, output, bg, blur), media_type="image/png",
                            headers={"X-People": str(len(result.instances or result.people))})

        try:
            future = pool.submit(job)
        except Busy:
            raise Failed(503, f"busy: {settings.queue} requests are waiting; try again shortly",
                         {"Retry-After": "1"}) from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), settings.timeout)
        except TimeoutError:
            future.cancel()   # dropped if still queued; a running job finishes and is discarded
            raise Failed(503, f"not done within the time limit of {settings.timeout:g} s") from None

    app.mount("/page", StaticFiles(directory=str(PAGE)), name="page")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(PAGE / "index.html"))

    return BodyLimit(app, settings.max_upload)


def _colour(spec: str) -> tuple[int, int, int]:
    try:
        return ImageColor.getrgb(spec)[:3]
    except ValueError:
        raise Failed(422, f"background {spec!r} is not a colour (a name or #rrggbb)") from None


def _people(field: str | None) -> list[np.ndarray] | None:
    if field is None:
        return None
    try:
        people = json.loads(field)
    except json.JSONDecodeError as e:
        raise Failed(422, f"people: not JSON ({e.msg})") from None
    if not isinstance(people, list):
        raise Failed(422, "people: give a JSON list of people, each 17 keypoints [x, y, v]")
    try:
        return given_keypoints(people)
    except PersonsegError as e:
        raise Failed(422, f"people: {e}") from None


def _upload(e: ImageError) -> str:
    return str(e).replace("<bytes>", "the upload", 1)


class BodyLimit:
    """ASGI wrapper that reads a request body up to ``limit`` bytes before the app sees it, answering 413 past it
    (whether or not Content-Length says so) without reading further."""

    def __init__(self, app: FastAPI, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            return await self._refuse(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await self._refuse(send)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        await JSONResponse({"error": f"the upload is over the limit of {self.limit} bytes"}, status_code=413)(
            {"type": "http"}, None, send)
