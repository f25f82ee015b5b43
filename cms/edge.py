"""What every answer passes through on its way out, whichever engine made it: CORS for browsers on other
origins, and compression. Both are Starlette's middleware, set as delivery.md says (`create_app` puts
them around the app)."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = (
    "content-type",
    "authorization",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
)
"""What a browser's request may carry: Apollo Client's own headers among them."""
EXPOSED_HEADERS = ("etag", "x-request-id", "ratelimit", "ratelimit-policy", "retry-after")
PREFLIGHT_MAX_AGE = 86400
COMPRESSED_FROM = 1024
"""Answers of this many bytes or more are compressed for a client that accepts it."""


class Cors(CORSMiddleware):
    """Starlette's CORS, answering an allowed preflight with 204 and no body (a refused one stays
    Starlette's informative 400, with no Allow-Origin)."""

    def __init__(self, app: ASGIApp, *, origins: tuple[str, ...]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=("GET", "HEAD", "POST"),
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A request with no Origin (servers, builds, the CDN) goes straight through."""
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code != 200:
            return answer
        headers = {k: v for k, v in answer.headers.items() if k not in ("content-length", "content-type")}
        return Response(status_code=204, headers=headers)


class Compressed(GZipMiddleware):
    """Starlette's gzip, for answers of COMPRESSED_FROM bytes or more, with `Vary: Accept-Encoding`. A
    request that does not accept gzip goes straight through: Starlette's pass-through responder, which
    holds each answer to measure it, cost an article page a tenth of its time."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, minimum_size=COMPRESSED_FROM)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(
            name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"]
        ):
            await super().__call__(scope, receive, _vary_once(send))
        else:
            await self.app(scope, receive, send)


def _vary_once(send: Send) -> Send:
    """Starlette's gzip adds Accept-Encoding to a Vary that the pipeline's answers already name it in."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=list(message["headers"]))
            named = [v.strip() for value in headers.getlist("vary") for v in value.split(",")]
            if named:
                headers["vary"] = ", ".join(dict.fromkeys(named, None))
            message = {**message, "headers": headers.raw}
        await send(message)

    return sending
