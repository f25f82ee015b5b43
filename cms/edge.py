"""What every answer passes through on its way out, whichever engine made it: CORS for browsers on other
origins, and compression (brotli or gzip). Both are Starlette's middleware, set as delivery.md says
(`create_app` puts them around the app)."""

from __future__ import annotations

import contextlib
import gzip
from typing import Any

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware, IdentityResponder
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
GZIP_LEVEL = 9


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
    """Answers of COMPRESSED_FROM bytes or more in brotli for clients that accept it (browsers do: a third
    smaller than gzip for JSON), else in Starlette's gzip, with `Vary: Accept-Encoding`. A request that
    accepts neither goes straight through: Starlette's pass-through responder, which holds each answer to
    measure it, cost an article page a tenth of its time."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, minimum_size=COMPRESSED_FROM, compresslevel=GZIP_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = coding_for(scope) if scope["type"] == "http" else None
        if coding == "br":
            await _Brotli(self.app, COMPRESSED_FROM)(scope, receive, _vary_once(send))
        elif coding == "gzip":
            await super().__call__(scope, receive, _vary_once(send))
        else:
            await self.app(scope, receive, send)


def coding_for(scope: Scope) -> str | None:
    """The content coding an answer to this request takes: brotli, else gzip, else none."""
    accepted = _encodings(scope)
    return "br" if "br" in accepted else "gzip" if "gzip" in accepted else None


def compressed(body: bytes, coding: str) -> bytes:
    """`body` in that coding, as the middleware would send it (for an answer kept already encoded)."""
    if coding == "br":
        made: bytes = brotli.compress(body, quality=_Brotli.QUALITY)
        return made
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


class _Brotli(IdentityResponder):
    """Starlette's responder (it decides what to compress and sets the headers) with brotli's compressor."""

    content_encoding = "br"
    QUALITY = 5
    """Brotli's speed for dynamic answers: near gzip's time at its level 9 for a smaller answer."""

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        super().__init__(app, minimum_size)
        self._compressor: Any = None

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if self._compressor is None:
            self._compressor = brotli.Compressor(quality=self.QUALITY)
        compressed: bytes = self._compressor.process(body)
        return compressed + (self._compressor.flush() if more_body else self._compressor.finish())


def _encodings(scope: Scope) -> set[str]:
    """The content codings a request accepts (those it gives q=0 excluded)."""
    found = set()
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            for entry in value.decode("latin-1").lower().split(","):
                coding, _, quality = entry.partition(";q=")
                with contextlib.suppress(ValueError):
                    if float(quality or 1) > 0:
                        found.add(coding.strip())
    return found


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
