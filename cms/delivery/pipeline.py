"""The /graphql endpoint: one pipeline for every request, whichever engine answers (delivery.md).

read the HTTP request -> who asks -> the document (persisted; parsed, validated, limited; cached) -> the
content version and the caches (304, the response cache) -> execute (the planner, else Strawberry) ->
headers. Each rule is applied here once; the engines only execute.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, OperationType, validate
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send
from strawberry.types import ExecutionResult

from cms import deadlines, graphiql
from cms.clock import Clock
from cms.content import tokens, versions
from cms.content.errors import Timeout, Unauthenticated
from cms.content.roles import PUBLIC
from cms.content.visibility import can_edit
from cms.db import Replicas
from cms.delivery import http, surrogates
from cms.delivery.answers import Answers, Kept
from cms.delivery.caching import NO_STORE, PRIVATE, VARY, Lifetimes, etag, matches
from cms.delivery.http import GRAPHQL_RESPONSE, Asked, Refused
from cms.delivery.persisted import PersistedQueries
from cms.delivery.ratelimit import RateLimiter, SharedCounts
from cms.delivery.shared import Shared
from cms.edge import COMPRESSED_FROM, coding_for, compressed
from cms.graphql.context import Context
from cms.graphql.cost import Costs
from cms.graphql.documents import Prepared, known, prepare, searches
from cms.graphql.plan.planner import Planner
from cms.graphql.schema import schema
from cms.settings import Settings

log = logging.getLogger("cms.graphql")
FAULTS = frozenset({"INTERNAL_SERVER_ERROR", "TIMEOUT"})
"""Error codes that are not the caller's doing: such an answer is never kept by any cache."""


@dataclass(frozen=True)
class Mismatch:
    query: str
    variables: dict[str, Any] | None
    role: str
    expected: bytes
    got: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """What the pipeline sends: a status, a body and the headers the rules gave it."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]

    async def send(self, send: Send, media_type: str, more: list[tuple[bytes, bytes]]) -> None:
        """Sent as ASGI messages (a Starlette Response would cost a cached answer a tenth); a 304 with no
        body or length. A HEAD's body goes too, so that compression gives it GET's headers: the server
        sends none of it."""
        headers = [(b"content-type", media_type.encode()), *self.headers, *more]
        if self.status != 304:
            headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if self.status == 304 else self.body})


class GraphQLEndpoint:
    """GraphQL over HTTP for the API and the playground; `mismatches` keeps what the differential mode
    found."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine,
        clock: Clock,
        examples: Path,
        replicas: Replicas | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.replicas = replicas or Replicas(engine, clock=clock)
        """Where the public's reads go (the primary, `engine`, without replicas)."""
        self.clock = clock
        self.examples = examples
        self.graphiql_enabled = settings.graphiql
        self.planner = Planner(schema) if settings.planner != "off" else None
        self.checking = settings.planner == "check"
        self.lifetimes = Lifetimes(settings.cache_max_age, settings.cache_s_maxage, settings.cache_swr)
        self.answers = Answers(settings.response_cache_mib) if settings.response_cache_mib else None
        self.persisted = PersistedQueries(engine, trusted_only=settings.documents == "trusted")
        self.costs = Costs(schema._schema)
        shared = SharedCounts(settings.rate_limit_counts) if settings.rate_limit_counts else None
        limit, proxies = settings.rate_limit, settings.trusted_proxies
        self.limiter = RateLimiter(limit, proxies, shared) if limit else None
        self.mismatches: list[Mismatch] = []
        self.token = Shared(lambda: self.replicas.once(versions.token))
        """The content version a kept answer is checked against, read once for the requests waiting (on a
        replica, if there are some: a kept answer holds the state its version names, whichever read it)."""
        self.token_in_place = versions.token_in_place(engine)
        """...or, on SQLite, read by each in place: a read there costs less than sharing one."""
        self.searching = asyncio.Semaphore(deadlines.SEARCHES)
        self.plain = 0
        """Requests executing that do not search; `plain_at`: when the last of them ended."""
        self.plain_at = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HEAD is answered as GET is; Starlette's response, given the HEAD scope, sends the headers alone
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        request = Request(scope, receive=receive)
        if method == "GET" and "query" not in request.query_params and http.accepts_html(request):
            if not self.graphiql_enabled:
                await http.refusal(404, "Not Found", "NOT_FOUND")(scope, receive, send)
                return
            await HTMLResponse(graphiql.page(str(request.url.path), self.examples))(scope, receive, send)
            return
        media_type = http.JSON
        limited: list[tuple[bytes, bytes]] = []
        if self.limiter is not None:
            decision = self.limiter.decide(scope, time.time())
            if not decision.allowed:
                retry = {"retry-after": str(decision.retry_after)}
                response = http.refusal(429, "Too many requests: slow down", "RATE_LIMITED", headers=retry)
                response.raw_headers.extend(decision.headers)
                await response(scope, receive, send)
                return
            limited = decision.headers
        try:
            received = await http.receive(request, method, most_bytes=self.settings.max_body_kib * 1024)
            media_type = received.media_type
            kept = None
            if self.answers is not None and b"authorization" not in received.headers:
                kept = await self._kept(received, request)
            answer = kept or await self._answered(http.read(request, received), request, scope)
        except Refused as refused:
            response = refused.response(media_type)
        except Unauthenticated as error:
            headers = {"www-authenticate": 'Bearer error="invalid_token"'}
            response = http.refusal(401, error.message, Unauthenticated.code, media_type, headers)
        except Timeout as stopped:  # a statement outside execution (a token, a document, the version)
            response = http.refusal(503, stopped.message, Timeout.code, media_type)
        except Exception:  # ours to log; the caller gets the code and the request's id, no internals
            request_id = scope.get("state", {}).get("request_id", "-")
            log.exception("unexpected error [request %s]", request_id)
            message = f"Internal server error (request {request_id})"
            response = http.refusal(500, message, "INTERNAL_SERVER_ERROR", media_type)
        else:
            await answer.send(send, media_type, limited)
            return
        response.raw_headers.extend(limited)  # a refused request counted against the limit too
        await response(scope, receive, send)

    async def _answered(self, asked: Asked, request: Request, scope: Scope) -> Answer:
        """The request the whole way, in a context of its own (a kept answer needs none). A request with a
        token reads on the primary, where a token revoked a moment ago is already refused and an editor
        sees what was just written; one without reads on a replica, until it writes (`Context.renew`)."""
        context = Context(
            engine=self.engine,
            viewer=PUBLIC,
            now=self.clock.now(),
            request_id=scope.get("state", {}).get("request_id", "-"),
            planner=self.planner,
            allow_private_targets=self.settings.webhook_allow_private,
            settings=self.settings,
            reads=None if "authorization" in request.headers else self.replicas.reads(),
        )
        try:
            await self.authenticate(request, context)
            return await self.answer(asked, request, context)
        finally:
            await context.close()

    async def authenticate(self, request: Request, context: Context) -> None:
        """Set the viewer from `Authorization: Bearer`, checked on every request (a revoked or expired token
        fails on the very next one). No header: the public reader, and no statement. A token costs one short
        read in the request's snapshot, and now and then a write of its `lastUsedAt`."""
        header = request.headers.get("authorization")
        if header is None:
            return
        caller = await tokens.authenticate(tokens.bearer(header), fetch=context.fetch, now=context.now)
        await tokens.record_use(self.engine, caller=caller, now=context.now)
        context.viewer = caller.viewer

    async def answer(self, asked: Asked, request: Request, context: Context) -> Answer:
        sent = await self.persisted.document(asked, context)
        # a document not seen before is checked off the loop: validating one costs up to milliseconds
        document = known(schema._schema, sent.text)
        if document is None:
            document = await asyncio.to_thread(prepare, schema._schema, sent.text)
        if document.errors:
            return self._request_errors(asked, list(document.errors), context)
        introspecting = self._introspection_refused(document, context)
        if introspecting:
            return self._request_errors(asked, introspecting, context)
        await self.persisted.store(sent, context)
        operation = document.operation(asked.operation_name)
        if operation is None:
            name = asked.operation_name
            message = (
                f"Unknown operation named '{name}'." if name else "Name the operation to run (operationName)."
            )
            error = GraphQLError(message, extensions={"code": "OPERATION_RESOLUTION_FAILURE"})
            return self._request_errors(asked, [error], context)
        kind = operation.operation
        if kind is OperationType.MUTATION and asked.method == "GET":
            raise Refused(405, "Mutations are sent with POST", "METHOD_NOT_ALLOWED", allow="POST")
        limit = self.settings.max_cost if context.viewer is PUBLIC else self.settings.max_cost_token
        cost = self.costs.of(document, asked.operation_name, asked.variables)
        if cost > limit:
            message = f"The query costs {cost:,}, over the limit of {limit:,}: ask for fewer or smaller lists"
            extensions = {"code": "QUERY_TOO_COMPLEX", "cost": {"requested": cost, "limit": limit}}
            return self._request_errors(asked, [GraphQLError(message, extensions=extensions)], context)
        if kind is not OperationType.QUERY or context.viewer is not PUBLIC:
            result = await self.execute(document, asked, context)
            cache_control = NO_STORE if kind is OperationType.MUTATION else PRIVATE
            return self._executed(asked, result, [cache_control, VARY], context)
        return await self._public(document, asked, request, context)

    def _introspects(self, context: Context) -> bool:
        """Whether the caller may introspect the schema and be told what it may have meant."""
        return self.settings.introspection or can_edit(context.viewer)

    def _introspection_refused(self, document: Prepared, context: Context) -> list[GraphQLError]:
        if self._introspects(context) or "__" not in document.text:
            return []
        assert document.document is not None
        errors = validate(schema._schema, document.document, [NoSchemaIntrospectionCustomRule])
        return [
            GraphQLError(e.message, e.nodes, extensions={"code": "INTROSPECTION_DISABLED"}) for e in errors
        ]

    async def _kept(self, received: http.Received, request: Request) -> Answer | None:
        """A public request's kept answer, if the content version is still the one it was made under: the
        one statement a hit costs, on its own, with no snapshot (one read is its own). None: the request
        goes the whole way, and reads the version again in its snapshot."""
        assert self.answers is not None
        kept = self.answers.get(received.key)
        if kept is None:
            return None
        headers = kept.headers
        if kept.version.until is not None:  # its ages shorten as the instant nears, and end there
            now = self.clock.now()
            if now >= kept.version.until:
                return None
            headers = [*self.lifetimes.fresh(kept.etag, kept.version, now), headers[-1]]
        token = self.token_in_place() if self.token_in_place is not None else await self.token()
        if token != kept.version.token:
            return None
        if_none_match = received.headers.get(b"if-none-match", b"").decode("latin-1")
        if received.method == "GET" and matches(if_none_match, kept.etag):
            return Answer(304, b"", headers)
        coding = coding_for(request.scope) if len(kept.body) >= COMPRESSED_FROM else None
        if coding is None:
            return Answer(kept.status, kept.body, headers)
        body = kept.encoded.get(coding)
        if body is None:
            body = compressed(kept.body, coding)
            self.answers.encoded(received.key, kept, coding, body)
        return Answer(kept.status, body, [*headers, (b"content-encoding", coding.encode())])

    async def _public(self, document: Prepared, asked: Asked, request: Request, context: Context) -> Answer:
        """A public query: revalidated against the content version in its snapshot, else executed, kept and
        given the headers that let every cache keep it as long as it holds."""
        key = asked.key
        version = await versions.current(context.fetch, context.now)
        context.tree_token = version.tree
        tag = etag(key, version)
        fresh = self.lifetimes.fresh(tag, version, context.now)
        if asked.method == "GET" and matches(request.headers.get("if-none-match"), tag):
            return Answer(304, b"", fresh)
        context.items = set()
        result = await self.execute(document, asked, context)
        answer = self._executed(asked, result, [], context)
        if any(_fault(error) for error in result.errors or []):
            answer.headers.extend((NO_STORE, VARY))
            return answer
        depends = surrogates.depends(schema._schema, document, asked.operation_name)
        surrogate_keys = depends.of(result.data, context.items)
        answer.headers.extend((*fresh, (b"surrogate-key", surrogate_keys.encode())))
        if self.answers is not None:
            self.answers.keep(
                key, Kept(tag, version, answer.status, answer.body, surrogate_keys, answer.headers)
            )
        return answer

    async def execute(self, document: Prepared, asked: Asked, context: Context) -> ExecutionResult:
        """The request executed. One that searches gives way to the others while they come
        (`deadlines.GIVING_WAY`): its statements leave the loop to them (`Context.leave_loop`), and it waits
        its turn for the read threads (`deadlines.SEARCHES`)."""
        if searches(document, asked.variables):
            if not self.plain and time.perf_counter() - self.plain_at >= deadlines.GIVING_WAY:
                return await self._run(document, asked, context)
            async with self.searching:
                context.leave_loop()
                return await self._run(document, asked, context)
        self.plain += 1
        try:
            return await self._run(document, asked, context)
        finally:
            self.plain -= 1
            self.plain_at = time.perf_counter()

    async def _run(self, document: Prepared, asked: Asked, context: Context) -> ExecutionResult:
        """The planner's answer when it has one; else, or when checking, Strawberry's."""
        if self.planner is not None and not self.checking:
            try:
                planned = await self.planner.run(document, asked.operation_name, asked.variables, context)
            except Timeout as stopped:  # answered as Strawberry answers it, with no second run
                return ExecutionResult(data=None, errors=[GraphQLError(stopped.message, extensions=_TIMEOUT)])
            if planned is not None:
                return planned
        result = await schema.execute(
            document.text,
            variable_values=asked.variables,
            context_value=context,
            operation_name=asked.operation_name,
        )
        if self.checking:
            await self._check(document, asked, context, result)
        return result

    def _executed(
        self, asked: Asked, result: ExecutionResult, headers: list[tuple[bytes, bytes]], context: Context
    ) -> Answer:
        errors = result.errors or []
        if result.data is None and errors and all(e.path is None and not _fault(e) for e in errors):
            return self._request_errors(asked, errors, context)  # the operation could not start
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        return Answer(200, orjson.dumps(body), headers)

    def _request_errors(self, asked: Asked, errors: list[GraphQLError], context: Context) -> Answer:
        """A document or variables that cannot run: 400 with no `data` for a client that accepts
        application/graphql-response+json, 200 for a plain application/json one (the specification). A
        caller who may not introspect is not told what the schema has either ("Did you mean ...?")."""
        status = 400 if asked.media_type == GRAPHQL_RESPONSE else 200
        formatted = [_coded(error.formatted) for error in errors]
        if not self._introspects(context):
            formatted = [{**e, "message": _SUGGESTION.sub("", e["message"])} for e in formatted]
        return Answer(status, orjson.dumps({"errors": formatted}), [NO_STORE])

    async def _check(
        self, document: Prepared, asked: Asked, served: Context, result: ExecutionResult
    ) -> None:
        """Differential mode: the planner answers the same request in a snapshot of its own; any difference
        from Strawberry's answer (or an answer where Strawberry had errors), in its data or in the items it
        names, is a mismatch, logged and kept."""
        assert self.planner is not None
        own = served.request_id
        context = Context(
            engine=self.engine,
            viewer=served.viewer,
            now=served.now,
            request_id=own,
            settings=served.settings,
            reads=served.reads,
        )
        context.items = None if served.items is None else set()
        try:
            planned = await self.planner.run(document, asked.operation_name, asked.variables, context)
        except Timeout:  # nothing to compare
            return
        finally:
            await context.close()
        if planned is None:
            return
        expected = orjson.dumps(
            {"data": result.data, "errors": bool(result.errors), "items": _sorted(served)}
        )
        got = orjson.dumps({"data": planned.data, "errors": False, "items": _sorted(context)})
        if got != expected:
            mismatch = Mismatch(document.text, asked.variables, served.viewer.role.value, expected, got)
            self.mismatches.append(mismatch)
            log.error("planner mismatch [request %s]: %s", own, mismatch)


_TIMEOUT = {"code": Timeout.code}


def _coded(error: Mapping[str, Any]) -> dict[str, Any]:
    """A request error with its code: variables that do not fit their types are the caller's input."""
    extensions = dict(error.get("extensions") or {})
    extensions.setdefault("code", "BAD_USER_INPUT")
    return {**error, "extensions": extensions}


def _fault(error: GraphQLError) -> bool:
    """An error that is not the caller's doing (FAULTS)."""
    return (error.extensions or {}).get("code") in FAULTS


_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def _sorted(context: Context) -> list[str] | None:
    return None if context.items is None else sorted(context.items)
