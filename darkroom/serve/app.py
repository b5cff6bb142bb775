"""The HTTP server's app: one Studio behind the native API (/api/v1) and A1111's (/sdapi/v1).

Every request passes, in this order: the Host allow-list (DNS rebinding onto 127.0.0.1), the
Origin check for state-changing requests (a page on another site cannot drive the studio),
authentication (none only on a loopback server without users), then the route. Errors a user
can cause are `DarkroomError`s and come back as JSON with their 4xx status and the message
the CLI would print; responses carry a self-only CSP, no-sniff and frame-ancestors 'none'.
"""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from darkroom.errors import DarkroomError
from darkroom.serve.users import LOCAL, User, Users

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WEB_DIR = Path(__file__).resolve().parents[1] / "web"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class ErrorBody(BaseModel):
    error: str  # the kind: a DarkroomError class name (PolicyBlocked, ImageError, ...) or an HTTP reason
    detail: str  # the message, as the CLI prints it


_STATUSES = {s.value for s in HTTPStatus}
ERRORS = {code: {"model": ErrorBody, "description": text} for code, text in (
    (400, "a bad request (parameter, host)"), (401, "no valid token"), (403, "not allowed (policy, owner, origin)"),
    (404, "no such thing of yours"), (409, "a conflict (the job was cancelled, data changed)"),
    (410, "gone"), (413, "the request is too large"), (422, "invalid input"), (429, "too many queued jobs"))}


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_hosts: tuple[str, ...] = ()  # names this server answers to, besides the bind address and loopback
    cors_origins: tuple[str, ...] = ()  # origins (scheme://host:port) allowed to call from a browser
    max_upload_bytes: int = 32 * 2**20
    max_queued_per_user: int = 16
    options: dict = field(default_factory=dict)  # A1111 options per user (sd_model_checkpoint, ...)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def _host_name(value: str) -> str:
    """The name part of a Host header: 'example.org:7860' -> 'example.org', '[::1]:7860' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def create_app(studio, config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    app = FastAPI(title="darkroom", version=studio_version(), openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None)
    app.state.studio = studio
    app.state.config = config
    app.state.users = Users(studio.settings)
    hosts = {*LOOPBACK, config.host.lower(), *(h.lower() for h in config.allowed_hosts)}
    origins = {o.rstrip("/").lower() for o in config.cors_origins}

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = _host_name(request.headers.get("host", ""))
        if host not in hosts:
            return _error(400, "HostNotAllowed", f"this server does not answer to host {host!r}; "
                          "start it with --allowed-host NAME to allow that name", request)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > 2 * config.max_upload_bytes:  # base64 inputs in a job's JSON
            return _error(413, "ContentTooLarge", f"the request is {declared} bytes; this server takes at most "
                          f"{2 * config.max_upload_bytes}", request)
        origin = request.headers.get("origin")
        if request.method in UNSAFE_METHODS and origin is not None and not _same_origin(origin, hosts, origins):
            return _error(403, "OriginNotAllowed", f"requests from {origin} are not allowed; "
                          "start the server with --cors-origin to allow a web app there", request)
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if origin is not None and origin.rstrip("/").lower() in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    @app.exception_handler(DarkroomError)
    async def darkroom_error(request: Request, err: DarkroomError):
        return _error(err.status, type(err).__name__, str(err), request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        kind = HTTPStatus(err.status_code).phrase.replace(" ", "") if err.status_code in _STATUSES else "HTTPError"
        return _error(err.status_code, kind, str(err.detail), request, getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError):
        return _error(422, "InvalidRequest", _describe(err), request)

    from darkroom.serve import a1111, learn, native

    app.include_router(native.router)
    app.include_router(a1111.router)
    app.include_router(learn.router)
    if WEB_DIR.is_dir():  # the web studio: static files, no build step
        from fastapi.staticfiles import StaticFiles

        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


def _same_origin(origin: str, hosts: set[str], allowed: set[str]) -> bool:
    if origin.rstrip("/").lower() in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and (parts.hostname or "").lower() in hosts


def _error(status: int, kind: str, message: str, request: Request | None = None, headers=None) -> JSONResponse:
    """An error body; `detail` in the language the request asks for (?lang=de, Accept-Language; default English).
    A1111's API (/sdapi) answers in English, as its clients expect."""
    from darkroom.serve.messages import translate

    lang = "en"
    if request is not None and not request.url.path.startswith("/sdapi/"):
        lang = request_language(request)
    titles = _policy_titles(request) if kind == "PolicyBlocked" and lang != "en" else None
    return JSONResponse(status_code=status, content={"error": kind, "detail": translate(kind, message, status, lang,
                                                                                         titles)},
                        headers=headers)


def request_language(request: Request) -> str:
    """The language a request asks for: ?lang=, else Accept-Language; English by default."""
    from darkroom.serve.messages import language

    return language(request.query_params.get("lang"), request.headers.get("accept-language"))


def _policy_titles(request: Request) -> dict[str, str]:
    """The policy categories' titles, English -> German (the policy is loaded: it just refused)."""
    return {c.title["en"]: c.title["de"] for c in request.app.state.studio.policy.categories()
            if c.title.get("en") and c.title.get("de")}


def _describe(err: RequestValidationError) -> str:
    parts = []
    for problem in err.errors():
        where = ".".join(str(x) for x in problem.get("loc", ()) if x != "body")
        parts.append(f"{where or 'request'}: {problem.get('msg', 'invalid')}".replace("Value error, ", ""))
    return "; ".join(parts)


def studio_version() -> str:
    from darkroom.version import __version__

    return __version__


# ---------------------------------------------------------------------------- who is asking
def auth_required(request: Request) -> bool:
    return request.app.state.users.any() or not is_loopback(request.app.state.config.host)


def caller(request: Request) -> User:
    """The authenticated user (FastAPI dependency): Bearer token, or HTTP Basic with the token as password."""
    if not auth_required(request):
        return LOCAL
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and value:
        user = request.app.state.users.authenticate(value.strip())
    elif scheme.lower() == "basic" and value:
        try:
            name, _, token = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            name = token = ""
        if token:
            user = request.app.state.users.authenticate(token, name)
    if user is None:
        raise HTTPException(401, "a valid token is needed: Authorization: Bearer TOKEN (or HTTP Basic with the "
                            "user name and the token as password); `darkroom users add NAME` issues one",
                            headers={"WWW-Authenticate": 'Bearer realm="darkroom", Basic realm="darkroom"'})
    return user


def admin(request: Request) -> User:
    user = caller(request)
    if not user.admin:
        raise HTTPException(403, "this needs an admin user")
    return user
