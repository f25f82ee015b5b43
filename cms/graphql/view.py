"""The /graphql endpoint: Strawberry's ASGI view with our context, HTTP status codes and playground."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionResult

from cms import graphiql
from cms.clock import Clock
from cms.content import tokens
from cms.content.errors import Unauthenticated
from cms.content.roles import PUBLIC
from cms.graphql.context import Context
from cms.graphql.schema import schema


class GraphQLEndpoint(GraphQL[Context, None]):
    """GraphQL over HTTP: a request that cannot be executed at all (bad JSON, syntax, validation) is a 400."""

    def __init__(self, *, engine: AsyncEngine, clock: Clock, examples: Path, graphiql_enabled: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql_enabled else None)
        self.engine = engine
        self.clock = clock
        self.examples = examples

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        context = Context(
            engine=self.engine,
            viewer=PUBLIC,
            now=self.clock.now(),
            request_id=scope.get("state", {}).get("request_id", "-"),
        )
        try:
            await self.authenticate(request, context)
            response = await self.run(request, context=context)
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

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute_single(*args, **kwargs)
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            kwargs["sub_response"].status_code = 400
        return result

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
