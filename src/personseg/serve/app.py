"""`personseg serve`: the HTTP service (FastAPI) and its web page.

Requests are decoded and segmented on the WorkPool's threads, never on the event loop; every error answers
JSON ``{"error": "..."}`` with its status (ERRORS, which the OpenAPI document lists too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from contextlib import asynccontextmanager
from importlib import resources
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.formparsers import MultiPartParser
from starlette.requests import ClientDisconnect

from .. import __version__
from ..edits import edited
from ..errors import ImageError, ImageTooLargeError, PersonsegError
from ..image import load_image
from ..methods import METHODS
from ..outputs import DEFAULT_BLUR, DRAWN_BY, MAX_BLUR, colour_of
from ..pipeline import SUBJECTS, check_given, check_subject
from ..pose.keypoints import given_keypoints
from .answers import SERVICE_OUTPUTS, listed, picture, result_json, stages_json
from .settings import ServeSettings
from .work import Busy, WorkPool

PAGE = resources.files("personseg.serve") / "page"
#: A body that is neither a form nor a photo.
NOT_A_PHOTO_BODY = ("send the photo as the field 'image' of a multipart/form-data body (curl -F image=@photo.jpg ...) "
                    "or as the body itself with its type (curl --data-binary @photo.jpg -H 'Content-Type: "
                    "image/jpeg' ...)")
#: The type curl --data-binary gives a body unless told: a form of text fields, which cannot hold a photo.
URLENCODED = "application/x-www-form-urlencoded"
#: Refusals the client's browser hides from its page (another site's POST) are also said on the server's stderr.
LOG = logging.getLogger("personseg.serve")
#: Most people one request may give (each costs a pass of the person model).
MAX_PEOPLE = 64
#: Seconds between checks that a waiting request's client is still there.
POLL_S = 0.5
#: The form fields /v1/segment reads.
FIELDS = ("image", "people", "dropped")
#: The headers of every answer of /v1/segment, as the OpenAPI document lists them.
ANSWER_HEADERS = {"X-People": {"description": "how many people the answer holds", "schema": {"type": "integer"}},
                  "X-Regions-Without-Keypoints": {"description": "marked regions nobody placed stands on (with "
                                                                 "instances: the people found without a pose)",
                                                  "schema": {"type": "integer"}}}
#: Said where a form field is sent as a query parameter.
FORM_FIELDS_NOTE = " (image, people and dropped are fields of the multipart/form-data body, not parameters)"
#: How Starlette's form parser begins its refusal of a field other than a file over its size (answered 400).
PART_TOO_LARGE = "Part exceeded maximum size"
#: The background of output=replace where none is given.
BACKGROUND = "white"


class ErrorAnswer(BaseModel):
    """What every error answers."""

    error: str = Field(description="what went wrong, in one line")


#: The error answers of the endpoints that segment, as the OpenAPI document lists them.
ERRORS = {400: "a body that is neither multipart/form-data nor a photo (image/...), or a Host that is not this "
               "server's",
          401: "no API key or a wrong one (servers started with --api-key)",
          403: "a request from another site's page", 413: "the upload or the image is too large",
          415: "not a usable image (unreadable, truncated, too small)", 422: "bad parameters or fields",
          500: "an unforeseen error (the server stays up)",
          503: "the queue is full or the time limit passed before the request started (Retry-After: try again), "
               "or the request itself takes longer than the limit (no Retry-After: the same request would too)"}


class Failed(Exception):
    """A request refused with ``status`` and a message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers


def create_app(settings: ServeSettings = ServeSettings()) -> "Guard | Cors":
    """The service as an ASGI app: the FastAPI app behind Guard (host, origin, key and upload size, checked
    before the body is parsed), and with ``settings.origins`` behind Starlette's CORS middleware, which answers
    those sites' preflight requests and marks every answer to them (Guard's refusals too) as readable there."""
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
        if e.status_code == 400 and str(e.detail).startswith(PART_TOO_LARGE):   # Starlette's form parser's
            return error(413, f"a form field that is not a file is over {MultiPartParser.max_part_size >> 20} MB (the "
                              "photo goes as a file: curl -F image=@photo.jpg; people holds at most "
                              f"{MAX_PEOPLE} people)")
        return error(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        if request.method == "POST" and not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error(400, NOT_A_PHOTO_BODY)
        if any(tuple(d["loc"]) == ("body", "image") and d["type"] != "missing" for d in e.errors()):
            return error(422, "the field 'image' must be a file upload (curl -F image=@photo.jpg ...), not text")
        for field in ("people", "dropped"):   # a file sent where its text belongs (curl's @ for <)
            if any(tuple(d["loc"]) == ("body", field) and d["type"] == "string_type" for d in e.errors()):
                return error(422, f"the field '{field}' is JSON text: send a file's contents as "
                                  f"-F \"{field}=<{field}.json\" (curl's <), not the file itself ({field}=@...)")
        return error(422, "; ".join(f"{'.'.join(str(p) for p in d['loc'][1:]) or d['loc'][0]}: {d['msg']}"
                                    for d in e.errors()))

    @app.exception_handler(Exception)
    async def _internal(_: Request, e: Exception) -> JSONResponse:
        return error(500, f"internal error ({type(e).__name__}); the server is still running")

    @app.get("/v1/health", summary="200 once the models are loaded")
    async def health() -> dict:
        return {"status": "ok", "method": settings.method, "version": __version__, "busy": pool.pending}

    app.add_api_route("/v1/health", health, methods=["HEAD"], include_in_schema=False)   # monitors probe so

    @app.get("/v1/methods", summary="the methods, outputs and limits",
             responses={401: {"model": ErrorAnswer, "description": ERRORS[401]}})
    async def methods() -> dict:
        return {"default": settings.method,
                "methods": [{"name": m.name, "summary": m.summary, "needs_keypoints": m.needs_keypoints,
                             "models": list(m.models)} for m in METHODS.values()],
                "outputs": list(SERVICE_OUTPUTS), "subjects": list(SUBJECTS),
                "limits": {"upload_bytes": settings.max_upload, "pixels": settings.max_pixels,
                           "queue": settings.queue, "timeout_s": settings.timeout}}

    @app.post("/v1/segment", response_model=None,
              summary="segment the people of one image",
              responses={200: {"content": {"image/png": {}, "application/json": {}}, "headers": ANSWER_HEADERS}}
              | {status: {"model": ErrorAnswer, "description": text} for status, text in ERRORS.items()},
              openapi_extra={"requestBody": {"content": {kind: {"schema": {"type": "string", "format": "binary"}}
                                                         for kind in ("image/*", "application/octet-stream")}}})
    async def segment(
        request: Request,
        image: UploadFile | None = File(None, description="the photo (JPEG, PNG, WebP, HEIC, ...); or send the "
                                                          "photo itself as the body, Content-Type image/..."),
        people: str | None = Form(None, description="JSON list of people (at most 64), each 17 COCO keypoints "
                                                    "[x, y, v] in pixels of the upright photo: exactly they are "
                                                    "segmented, their keypoints the priors (no search)"),
        dropped: str | None = Form(None, description="with edit=true: JSON list of the search's regions found "
                                                     "without a pose (numbered from 0 in its order) that are "
                                                     "removed; a person of no keypoints in people stands for "
                                                     "each of the others, in order"),
        output: Literal[SERVICE_OUTPUTS] = Query("mask", description="mask (0/255 PNG), alpha, cutout (RGBA "
                                                 "PNG), replace, blur, overlay; json: each person's box, "
                                                 "keypoints and score, with instances=true everyone and each "
                                                 "one's mask (COCO RLE), keypoint_names and skeleton (pairs "
                                                 "of indices into keypoint_names, from 0; COCO files number "
                                                 "them from 1); stages: json with pictures of the "
                                                 "stages (the web page)"),
        method: Literal[tuple(METHODS)] | None = Query(None, description="default: the server's"),
        instances: bool = Query(False, description="one mask per person (json, stages); the pictures are then "
                                                   "of everyone the search for people found"),
        edit: bool = Query(False, description="with people and instances: the photo's people after an edit (the "
                                              "web page): those whose keypoints are the search's keep its masks, "
                                              "the others are segmented from their keypoints"),
        subject: Literal[SUBJECTS] = Query("all", description="all: everyone found; main: only the most "
                                                              "prominent person the pose backend finds, or the "
                                                              "largest region where it finds nobody (portraits "
                                                              "with passers-by)"),
        require_person: bool = Query(False, description="where the pose backend finds nobody, an empty mask and "
                                                        "no people (stricter than the person check: people it "
                                                        "misses are lost)"),
        person_check: bool = Query(True, description="where the pose backend places nobody, keep only the "
                                                     "regions the region check trained here takes for people "
                                                     "(false: whatever the networks marked); methods that run "
                                                     "no pose backend (fast) have no check"),
        # no defaults in the schema: /docs sends them, and each is refused with the other outputs
        background: str | None = Query(None, description=f"colour (name, #rrggbb written %23rrggbb in a URL, or "
                                                         f"rrggbb, rgb; default {BACKGROUND}); only with "
                                                         "output=replace (422 with other outputs)"),
        blur: float | None = Query(None, gt=0, le=MAX_BLUR,
                                   description=f"background blur, share of the diagonal (default {DEFAULT_BLUR}); "
                                               "only with output=blur (422 with other outputs)"),
    ) -> Response:
        known = {param.alias for param in request.scope["route"].dependant.query_params}
        unknown = sorted(set(request.query_params) - known)
        if unknown:   # a misspelt or unsupported option is not silently ignored
            raise Failed(422, f"unknown parameter{'s' * (len(unknown) > 1)} {', '.join(unknown)}; this endpoint takes "
                              f"{', '.join(sorted(known))}" + FORM_FIELDS_NOTE * bool(set(unknown) & set(FIELDS)))
        twice = sorted(k for k in set(request.query_params) if len(request.query_params.getlist(k)) > 1)
        if twice:   # the last one counted, without a word
            raise Failed(422, f"{', '.join(twice)} given more than once: give each parameter once")
        for param, drawn_by in DRAWN_BY.items():   # given (not empty) without its output: refused, as by the CLI
            if request.query_params.get(param) and output != drawn_by:
                raise Failed(422, f"{param} is used only with output={drawn_by}, not output={output}")
        if _media_type(request) == URLENCODED:
            raise Failed(400, NOT_A_PHOTO_BODY)   # curl --data-binary's type: the photo's bytes read as fields
        form = await request.form()   # parsed once already for the fields above
        strange = sorted(set(form) - set(FIELDS))
        if strange:   # a misspelt people field segmented as if none were given
            raise Failed(422, f"unknown form field{'s' * (len(strange) > 1)} {', '.join(strange)}; the fields are "
                              f"{', '.join(FIELDS)}")
        for field in FIELDS:
            if len(form.getlist(field)) > 1:
                raise Failed(422, f"{len(form.getlist(field))} '{field}' fields: send one a request")
        colour = _colour(BACKGROUND if background is None else background)   # "": a URL's # took it
        given = _people(people)
        removed = _dropped(dropped)
        try:   # refused before the request waits in the queue
            if edit and (given is None or not instances):
                raise PersonsegError("edit=true takes the people after an edit (the people field) and instances=true")
            if removed and not edit:
                raise PersonsegError("dropped is for edit=true: the regions removed by an edit")
            if given is not None:
                check_given(subject, require_person, person_check)
            check_subject(subject, instances)
        except PersonsegError as e:
            raise Failed(422, str(e)) from None
        data = await _photo(request, image)
        name = method or settings.method

        def job(segmenter) -> Response:
            try:
                rgb = load_image(data, settings.max_pixels)
                seg = segmenter(name, instances, subject, require_person, person_check)
                result = edited(seg, rgb, given, removed, strict=True) if edit else seg(rgb, people=given)
            except ImageTooLargeError as e:
                raise Failed(413, _upload(e)) from None
            except ImageError as e:
                raise Failed(415 if data else 422, _upload(e)) from None
            except PersonsegError as e:
                raise Failed(422, str(e)) from None
            people = {"X-People": str(len(listed(result))),   # on every answer, as many as its JSON lists, and
                      "X-Regions-Without-Keypoints": str(result.unplaced)}   # the regions nobody placed stands on
            if output == "json":
                return JSONResponse(result_json(result, name), headers=people)
            if output == "stages":
                return JSONResponse(stages_json(result, name), headers=people)
            bg = np.broadcast_to(np.array(colour, np.uint8), (*result.mask.shape, 3))
            return Response(picture(result, output, bg, DEFAULT_BLUR if blur is None else blur), media_type="image/png",
                            headers=people)

        try:
            future = pool.submit(job)
        except Busy:
            raise Failed(503, f"busy: {settings.queue} request{'s are' if settings.queue != 1 else ' is'} waiting; "
                              "try again shortly",
                         {"Retry-After": "1"}) from None
        waiting = asyncio.wrap_future(future)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.timeout
        while not waiting.done():
            left = deadline - loop.time()
            if left <= 0:
                # dropped if still queued: worth trying again; a running job finishes and is discarded, and the same
                # request would run as long again (a 30 MP photo with instances was told to retry for ever)
                if future.cancel():
                    raise Failed(503, f"not started within the time limit of {settings.timeout:g} s: the server is "
                                      "busy; try again shortly", {"Retry-After": "1"})
                raise Failed(503, f"not done within the time limit of {settings.timeout:g} s: this request takes "
                                  "longer here (a smaller photo, a faster method, or a server with a longer --timeout)")
            await asyncio.wait({waiting}, timeout=min(POLL_S, left))
            if not waiting.done() and await request.is_disconnected():
                future.cancel()   # nobody waits for it: its place in the queue goes to the next request
                return Response(status_code=204)
        return waiting.result()

    if settings.api_key is not None:
        app.openapi = lambda: _with_key(app, FastAPI.openapi(app))
    app.mount("/page", StaticFiles(directory=str(PAGE)), name="page")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(PAGE / "index.html"))

    guarded = Guard(app, settings)
    if not settings.origins:
        return guarded
    return Cors(guarded, allow_origins=list(settings.origins), allow_methods=["GET", "POST"],
                          allow_headers=["X-API-Key", "Authorization"],
                          expose_headers=["X-People", "X-Regions-Without-Keypoints", "Retry-After"], max_age=600,
                          allow_private_network=True)   # a public site's page calling this machine


def _media_type(request: Request) -> str:
    """The request's Content-Type without its parameters, lower case ("" where none is given)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _photo(request: Request, image: UploadFile | None) -> bytes:
    """The photo's bytes: the form's field 'image', or the body itself where its Content-Type is an image's (or
    application/octet-stream, or none: browsers send a File of no known type, a .heic on many systems, so)."""
    if image is not None:
        return await image.read()
    kind = _media_type(request)
    try:
        body = await request.body() if not kind or kind.startswith("image/") or kind == "application/octet-stream" \
            else b""
    except ClientDisconnect:   # the client left during the upload: nobody reads the answer (no traceback)
        raise Failed(400, "the client left before the photo arrived") from None
    if body or kind.startswith("image/") or kind == "application/octet-stream":
        return body   # a File of no known type comes without a type; no body at all forgot the photo
    if kind == "multipart/form-data":
        raise Failed(422, "image: the field 'image' is missing (curl -F image=@photo.jpg ...)")
    raise Failed(400, NOT_A_PHOTO_BODY)


def _with_key(app: FastAPI, schema: dict) -> dict:
    """The OpenAPI document of a server that asks for a key: its two ways to send it (Guard checks them), asked
    on /v1/ but /v1/health, so that /docs sends it too."""
    schema.setdefault("components", {})["securitySchemes"] = {
        "key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}, "bearer": {"type": "http", "scheme": "bearer"}}
    for path, operations in schema["paths"].items():
        if path.startswith("/v1/") and path != "/v1/health":
            for operation in operations.values():
                operation["security"] = [{"key": []}, {"bearer": []}]
    app.openapi_schema = schema
    return schema


def _colour(spec: str) -> tuple[int, int, int]:
    """A background colour (``outputs.colour_of``); 422 for anything else."""
    colour = colour_of(spec)
    if colour is None:
        raise Failed(422, f"background {spec!r} is not a colour (a name, #rrggbb, rrggbb, #rgb or rgb; in a URL write "
                          "# as %23)")
    return colour


def _people(field: str | None) -> list[np.ndarray] | None:
    if field is None:
        return None
    try:
        people = json.loads(field)
    except ValueError as e:   # not JSON, or an integer of thousands of digits
        raise Failed(422, f"people: not JSON ({getattr(e, 'msg', e)})") from None
    except RecursionError:   # lists in lists thousands deep
        raise Failed(422, "people: nested too deep; give a JSON list of people, each 17 keypoints [x, y, v]") from None
    if not isinstance(people, list):
        raise Failed(422, "people: give a JSON list of people, each 17 keypoints [x, y, v]")
    if len(people) > MAX_PEOPLE:
        raise Failed(422, f"people: {len(people)} given; at most {MAX_PEOPLE} a request")
    try:
        return given_keypoints(people)
    except PersonsegError as e:
        raise Failed(422, f"people: {e}") from None


def _dropped(field: str | None) -> list[int]:
    if field is None:
        return []
    try:
        dropped = json.loads(field)
    except ValueError as e:   # not JSON, or an integer of thousands of digits
        raise Failed(422, f"dropped: not JSON ({getattr(e, 'msg', e)})") from None
    except RecursionError:
        raise Failed(422, "dropped: nested too deep; give a JSON list of region numbers (0, 1, ...)") from None
    if not isinstance(dropped, list) or not all(type(k) is int and k >= 0 for k in dropped):
        raise Failed(422, "dropped: give a JSON list of region numbers (0, 1, ...)")
    return dropped


def _upload(e: ImageError) -> str:
    return str(e).replace("<bytes>", "the upload", 1)


def page_advice(origin: str, allowed: tuple[str, ...]) -> str:
    """What to do about a request refused from a page of ``origin``, the server letting ``allowed``'s pages call
    it."""
    if origin == "null":
        return ("a page opened from a file (Origin: null): serve it over http, or start the server with "
                "--allow-origin '*'")
    if allowed:
        return f"not among --allow-origin {', '.join(allowed)} (localhost and 127.0.0.1 are different origins)"
    return f"start the server with --allow-origin {origin} to let that site's pages call it"


class Cors(CORSMiddleware):
    """Starlette's CORS middleware, its refused preflights answered in JSON as every error is (they were plain
    text: "Disallowed CORS origin")."""

    def preflight_response(self, request_headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code == 200:
            return answer
        origin = request_headers.get("origin", "")
        refused = answer.body.decode().removeprefix("Disallowed CORS ").split(", ")
        why = (page_advice(origin, tuple(self.allow_origins)) if "origin" in refused else
               f"this server takes {', '.join(self.allow_methods)} with the headers X-API-Key and Authorization; "
               f"asked {request_headers.get('access-control-request-method', '')} with "
               f"{request_headers.get('access-control-request-headers') or 'no headers'}")
        return JSONResponse({"error": f"a preflight from a page of {origin} refused: {why}"}, answer.status_code,
                            headers={k: v for k, v in answer.headers.items()
                                     if k.lower().startswith("access-control-") or k.lower() == "vary"})


class Guard:
    """ASGI wrapper, before the app parses anything: answers only this server's Host names (ServeSettings.hosts),
    refuses POSTs from another site's pages (an Origin that is not this server nor one of
    ``settings.origins``), asks for the API key on /v1/
    (not /v1/health), and counts the body's bytes as the app reads them, answering 413 past ``max_upload``
    (whatever Content-Length claims; a larger claim is refused at once). Adds nosniff, and a content security
    policy to the page."""

    def __init__(self, app: FastAPI, settings: ServeSettings) -> None:
        self.app, self.settings, self.limit = app, settings, settings.max_upload

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refused = self._refusal(scope)
        if refused is not None:
            return await _answer(send, *refused)
        received, over, started = 0, False, False

        async def counted():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                over = True   # the app sees the client leave; the client gets 413
                return {"type": "http.disconnect"}
            return message

        async def marked(message) -> None:
            nonlocal started
            if over:
                return
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + _security_headers(scope["path"])
            await send(message)

        try:
            await self.app(scope, counted, marked)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _answer(send, 413, self._too_large())

    def _too_large(self) -> str:
        mb = f"{round(self.limit / 2 ** 20, 2):g} MB, " if self.limit >= 2 ** 20 else ""
        return f"the upload is over the limit of {mb}{self.limit} bytes (a server's --max-upload-mb)"

    def _refusal(self, scope) -> tuple[int, str, dict[str, str] | None] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        name = (host.rsplit(":", 1)[0] if not host.endswith("]") else host).lower()   # names ignore case
        if self.settings.hosts is not None and name not in self.settings.hosts:
            return 400, f"this server answers to {', '.join(self.settings.hosts)}, not {host!r}", None
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            # a preflight that no CORS middleware answered: no site's pages may call this server
            return 403, f"a preflight from a page of {origin} refused: {page_advice(origin, ())}", None
        if (scope["method"] == "POST" and origin is not None and urlsplit(origin).netloc.lower() != host.lower()
                and origin not in self.settings.origins and "*" not in self.settings.origins):
            # the page's browser hides this answer from its script (no CORS headers for it): said here too
            LOG.warning("personseg serve: refused a POST from a page of %s: %s", origin,
                        page_advice(origin, self.settings.origins))
            return 403, ("requests from another site's pages are refused (the server lets a site's pages call it "
                         "with --allow-origin)"), None
        key = self.settings.api_key
        if key is not None and scope["path"].startswith("/v1/") and scope["path"] != "/v1/health":
            scheme, _, bearer = headers.get("authorization", "").strip().partition(" ")
            given = headers.get("x-api-key") or (bearer.strip() if scheme.lower() == "bearer" else "")
            if not secrets.compare_digest(given.encode("latin-1"), key.encode("latin-1")):
                return (401, "missing or wrong API key: send it as X-API-Key: KEY or Authorization: Bearer KEY",
                        {"WWW-Authenticate": "Bearer"})
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > self.limit:
            return 413, self._too_large(), None
        return None


def _security_headers(path: str) -> list[tuple[bytes, bytes]]:
    out = [(b"x-content-type-options", b"nosniff")]
    if path == "/" or path.startswith("/page/"):
        out.append((b"content-security-policy",
                    b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; frame-ancestors 'none'"))
    return out


async def _answer(send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    await JSONResponse({"error": message}, status_code=status, headers=headers)({"type": "http"}, None, send)
