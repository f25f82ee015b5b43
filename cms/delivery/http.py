"""GraphQL over HTTP, as its specification says: what a request asks (GET parameters or a JSON body), which
media type the answer takes, and the shape of an answer that refuses a request."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_ACCEPTED = {GRAPHQL_RESPONSE: GRAPHQL_RESPONSE, JSON: JSON, "application/*": JSON, "*/*": JSON}
"""A wildcard is taken for application/json: fetch sends `*/*` when its caller names no type."""
NO_STORE = (b"cache-control", b"no-store")
_STRING, _OBJECT = (str, type(None)), (dict, type(None))
"""What a parameter may be (tuples: a union made per call would cost a cached answer 3%)."""


class Refused(Exception):
    """A request that cannot be run at all, answered with `status` and one error carrying `code`."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST", **headers: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers

    def response(self, media_type: str = JSON) -> Response:
        return refusal(self.status, self.message, self.code, media_type, self.headers)


def refusal(
    status: int, message: str, code: str, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    response = Response(body, status_code=status, media_type=media_type, headers=headers)
    response.raw_headers.append(NO_STORE)
    return response


@dataclass(frozen=True, slots=True)
class Asked:
    """One GraphQL request: its parameters, how it came (GET or POST), the media type of its answer."""

    query: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None
    method: str
    media_type: str
    key: bytes
    """What names its answer (`Received.key`)."""


@lru_cache(maxsize=64)
def media_type(accept: bytes | None) -> str | None:
    """The answer's media type: the accepted one of highest quality, the first of equals; `application/json`
    when nothing is said, as the specification asks for clients that predate it; None when neither is
    acceptable (406)."""
    if not accept:
        return JSON
    chosen, best = None, 0.0
    for entry in accept.decode("latin-1").split(","):
        name, *parameters = entry.split(";")
        found = _ACCEPTED.get(name.strip().lower())
        if found is None:
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > best:
            chosen, best = found, quality
    return chosen


@dataclass(frozen=True, slots=True)
class Received:
    """A request as it came, its GraphQL parameters not yet read: `key` (the method, the answer's media type
    and the query string or body, byte for byte) names a kept answer, so a hit parses nothing."""

    method: str
    media_type: str
    raw: bytes
    key: bytes
    headers: dict[bytes, bytes]
    """The request's headers as ASGI gives them (names in lower case): a dict of them costs less to make
    and ask than Starlette's `Headers`, on a path a kept answer takes."""


async def receive(request: Request, method: str, *, most_bytes: int) -> Received:
    """Refused when no answer type is acceptable (406), a POST is not JSON (415) or its body is over
    `most_bytes` (413)."""
    headers = dict(request.scope["headers"])
    answer_type = media_type(headers.get(b"accept"))
    if answer_type is None:
        raise Refused(406, f"Accept names no type this endpoint answers in ({GRAPHQL_RESPONSE}, {JSON})")
    if method == "GET":
        raw: bytes = request.scope["query_string"]
    else:
        if _content_type(headers.get(b"content-type", b"")) != JSON:
            raise Refused(415, f"A POST body must be {JSON}", "UNSUPPORTED_MEDIA_TYPE")
        raw = await body(request, headers.get(b"content-length", b""), most_bytes)
    key = b"%s %s %s" % (method.encode(), answer_type.encode(), raw)
    return Received(method, answer_type, raw, key, headers)


@lru_cache(maxsize=64)
def _content_type(header: bytes) -> str:
    return header.decode("latin-1").partition(";")[0].strip().lower()


def read(request: Request, received: Received) -> Asked:
    """The request's GraphQL parameters (Refused when they cannot be read as the specification says, or when
    a string in them holds NUL, which no text column can store)."""
    if received.method == "GET":
        parameters: dict[str, Any] = dict(request.query_params)
        for encoded in ("variables", "extensions"):
            if isinstance(parameters.get(encoded), str):
                parameters[encoded] = _json(parameters[encoded], f"the {encoded} parameter")
        _refuse_nul(parameters)
    else:
        parameters = _json(received.raw, "the request body")
        if not isinstance(parameters, dict):
            raise Refused(400, "The request body must be a JSON object")
        if b"\\u0000" in received.raw:  # JSON holds NUL only escaped
            _refuse_nul(parameters)
    query: Any = parameters.get("query")
    name: Any = parameters.get("operationName")
    variables: Any = parameters.get("variables")
    extensions: Any = parameters.get("extensions")
    if not isinstance(query, _STRING):
        raise Refused(400, "query must be a string")
    if not isinstance(name, _STRING):
        raise Refused(400, "operationName must be a string")
    if not isinstance(variables, _OBJECT):
        raise Refused(400, "variables must be an object")
    if not isinstance(extensions, _OBJECT):
        raise Refused(400, "extensions must be an object")
    if variables:
        _refuse_many(variables)
    return Asked(query, name, variables, extensions, received.method, received.media_type, received.key)


async def body(request: Request, declared: bytes, most_bytes: int) -> bytes:
    """The request's body, read straight from the ASGI channel (Starlette's reader, an async generator,
    costs a cached answer a tenth of its time), and never more of it than `most_bytes` (nor than its
    `declared` Content-Length says)."""
    if declared.isdigit() and int(declared) > most_bytes:
        raise _too_large(most_bytes)
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "The client went away before its request was read")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > most_bytes:
            raise _too_large(most_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(most_bytes: int) -> Refused:
    return Refused(413, f"The request body is over {most_bytes // 1024:,} KiB", "PAYLOAD_TOO_LARGE")


MAX_VALUES = 500
"""Values (strings, numbers, lists, objects...) a request's variables hold in all: an editor's largest write
holds a few hundred at most. Turning thousands into input objects took graphql-core and Strawberry
milliseconds each time, only for a filter's own limit (`content.filters`) to refuse it."""


def _refuse_many(variables: dict[str, Any]) -> None:
    """BAD_USER_INPUT for variables of more than MAX_VALUES values, counted until there are too many."""
    count, stack = 0, list(variables.values())
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_VALUES:
            message = f"The variables hold more than {MAX_VALUES:,} values: ask for less at once"
            raise Refused(400, message, "BAD_USER_INPUT")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _refuse_nul(value: Any) -> None:
    """BAD_USER_INPUT for a NUL anywhere in the parameters' strings (PostgreSQL's text cannot hold one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise Refused(400, "A string in the request holds a NUL character", "BAD_USER_INPUT")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _json(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        message = (
            "Unable to parse request body as JSON" if what == "the request body" else f"{what} is not JSON"
        )
        raise Refused(400, message) from None


def accepts_html(request: Request) -> bool:
    """A browser asking for a page (the playground), not an API client."""
    return "text/html" in request.headers.get("accept", "")
