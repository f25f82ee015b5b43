"""The /graphql endpoint: Strawberry's ASGI view with our context, HTTP status codes and playground."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from cms import graphiql
from cms.clock import Clock
from cms.content import tokens
from cms.content.errors import Unauthenticated
from cms.content.roles import PUBLIC
from cms.graphql.context import Context
from cms.graphql.plan.planner import Planner
from cms.graphql.schema import schema

log = logging.getLogger("cms.graphql")


@dataclass(frozen=True)
class Mismatch:
    query: str
    variables: dict[str, Any] | None
    role: str
    expected: bytes
    got: bytes


class GraphQLEndpoint(GraphQL[Context, None]):
    """GraphQL over HTTP: a request that cannot be executed at all (bad JSON, syntax, validation) is a 400."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        examples: Path,
        graphiql_enabled: bool,
        planner: str = "on",
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql_enabled else None)
        self.engine = engine
        self.clock = clock
        self.examples = examples
        self.planner = Planner(schema) if planner != "off" else None
        self.checking = planner == "check"
        self.mismatches: list[Mismatch] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # HEAD is answered as GET is, and Starlette's response then sends its headers alone
        asked = {**scope, "method": "GET"} if scope["method"] == "HEAD" else scope
        request = Request(asked, receive=receive)
        context = Context(
            engine=self.engine,
            viewer=PUBLIC,
            now=self.clock.now(),
            request_id=scope.get("state", {}).get("request_id", "-"),
            planner=self.planner,
        )
        try:
            await self.authenticate(request, context)
            response = await self._planned_response(request, context) or await self.run(
                request, context=context
            )
        except Unauthenticated as error:
            response = _unauthenticated(error.message)
        except HTTPException as error:
            response = _error(error.reason, error.status_code)
        finally:
            await context.close()
        await response(scope, receive, send)

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

    async def _planned_response(self, request: Request, context: Context) -> Response | None:
        """A POSTed query the planner answers, answered straight from the HTTP request: Strawberry's view
        (request parsing, response making) costs about 0.24 ms a request and adds nothing to a plain
        `{"data": ...}`. Anything else, a malformed body included, goes on to Strawberry, which reads
        the same body (Starlette keeps it) and answers as it always does."""
        if self.planner is None or self.checking or request.method != "POST":
            return None
        if request.headers.get("content-type", "").partition(";")[0].strip() != "application/json":
            return None
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        query, name, variables = body.get("query"), body.get("operationName"), body.get("variables")
        if not (
            isinstance(query, str) and isinstance(name, str | None) and isinstance(variables, dict | None)
        ):
            return None
        context.planner_declined = True  # whatever happens next: the planner is asked once a request
        result = await self.planner.run(query, name, variables, context)
        if result is None:
            return None
        return Response(orjson.dumps({"data": result.data}), media_type="application/json")

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The planner's answer when it has one; else, or when checking, Strawberry's."""
        if not self.checking and (planned := await self._planned(request_data, context)) is not None:
            return planned
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            sub_response.status_code = 400
        if self.checking:
            await self._check(request_data, context, result)
        return result

    async def _planned(self, request: GraphQLRequestData, context: Context) -> ExecutionResult | None:
        if self.planner is None or not request.query or context.planner_declined:
            return None
        return await self.planner.run(request.query, request.operation_name, request.variables, context)

    async def _check(self, request: GraphQLRequestData, served: Context, result: ExecutionResult) -> None:
        """Differential mode: the planner answers the same request in a snapshot of its own; any difference
        from Strawberry's answer (or an answer where Strawberry had errors) is a mismatch, logged and kept."""
        own = served.request_id
        context = Context(engine=self.engine, viewer=served.viewer, now=served.now, request_id=own)
        try:
            planned = await self._planned(request, context)
        finally:
            await context.close()
        if planned is None:
            return
        expected = orjson.dumps({"data": result.data, "errors": bool(result.errors)})
        got = orjson.dumps({"data": planned.data, "errors": False})
        if got != expected:
            mismatch = Mismatch(
                request.query or "", request.variables, served.viewer.role.value, expected, got
            )
            self.mismatches.append(mismatch)
            log.error("planner mismatch [request %s]: %s", own, mismatch)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is json's, so a bad body is still a 400

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql.page(str(request.url.path), self.examples))


def _error(message: str, status: int) -> Response:
    code = "BAD_REQUEST" if status == 400 else "METHOD_NOT_ALLOWED" if status == 405 else "HTTP_ERROR"
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers={"content-type": "application/json"})


def _unauthenticated(message: str) -> Response:
    """A 401 in the shape of a GraphQL error, with the challenge RFC 6750 asks for."""
    body = {"errors": [{"message": message, "extensions": {"code": Unauthenticated.code}}]}
    headers = {"content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"'}
    return JSONResponse(body, status_code=401, headers=headers)
