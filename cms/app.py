"""create_app(settings): /graphql (API and GraphiQL), /healthz, the playground's assets; engine lifespan."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cms import collector, graphiql
from cms.clock import Clock
from cms.content import webhooks
from cms.db import Replicas, create_engine
from cms.delivery.http import refusal
from cms.delivery.pipeline import GraphQLEndpoint
from cms.edge import Compressed, Cors
from cms.feeds import routes as feed_routes
from cms.settings import Settings

log = logging.getLogger("cms")
GRAPHQL_PATH = "/graphql"
ALLOW = {"allow": "GET, HEAD, POST"}


class RequestId:
    """Give every request an id (or keep the caller's X-Request-ID), echoed back and used in logs: 16 random
    hex digits for the process (drawn again in a forked child) and a counter, where drawing 16 random bytes
    per request cost a kept answer a twentieth of its time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._new_process()
        _request_ids.add(self)

    def _new_process(self) -> None:
        self.process, self.counter = secrets.token_hex(8), itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = given or f"{self.process}{next(self.counter):016x}"
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


_request_ids: weakref.WeakSet[RequestId] = weakref.WeakSet()
"""Every app's, drawn again by one fork hook (a hook per app would hold every app a process ever made)."""


def _forked() -> None:
    for request_ids in _request_ids:
        request_ids._new_process()


os.register_at_fork(after_in_child=_forked)


class GraphQLFirst:
    """/graphql straight to its endpoint, which answers every outcome itself, so that a kept answer passes
    through none of Starlette's exception middleware and router. Any other path goes on to them."""

    def __init__(self, app: ASGIApp, *, endpoint: ASGIApp) -> None:
        self.app, self.endpoint = app, endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
        elif scope["method"] in ("GET", "HEAD", "POST"):
            await self.endpoint(scope, receive, send)
        else:
            await refusal(405, "GraphQL is sent with GET or POST", "METHOD_NOT_ALLOWED", headers=ALLOW)(
                scope, receive, send
            )


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
    examples: Path = Path("schema/examples"),
) -> Starlette:
    """The ASGI app; tests pass their own engine and clock. Its lifespan runs the webhook delivery worker
    (unless `settings.webhooks` is off) and disposes of the engine and the read replicas' engines."""
    engine = engine or create_engine(
        settings.async_database_url,
        sqlite_mmap_mib=settings.sqlite_mmap_mib,
        statement_timeout_ms=settings.statement_timeout_ms,
    )
    clock = clock or Clock()
    replicas = Replicas(
        engine, settings.async_replica_urls, clock=clock, statement_timeout_ms=settings.statement_timeout_ms
    )
    endpoint = GraphQLEndpoint(settings, engine=engine, clock=clock, examples=examples, replicas=replicas)

    async def healthz(request: Request) -> JSONResponse:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # reachability is the answer, whatever went wrong
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = webhooks.worker(
            engine,
            clock=clock,
            interval=settings.webhook_interval,
            attempts=settings.webhook_attempts,
            purge_url=settings.purge_url,
            allow_private=settings.webhook_allow_private,
            retention_days=settings.webhook_retention_days,
        )
        async with worker if settings.webhooks else contextlib.nullcontext():
            collector.settle()
            yield
        await replicas.dispose()
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            *feed_routes(settings, replicas, clock),
            Mount(graphiql.ASSET_URL, StaticFiles(directory=graphiql.ASSETS), name="graphiql"),
        ],
        lifespan=lifespan,
    )
    app.state.graphql = endpoint
    app.add_middleware(GraphQLFirst, endpoint=endpoint)
    app.add_middleware(Compressed)
    app.add_middleware(Cors, origins=settings.cors_origins)
    app.add_middleware(RequestId)
    return app


def from_env() -> Starlette:
    """The app of a `cms serve` process, from the CMS_* environment: uvicorn calls it by its import string
    (`SERVED`) in each of `Settings.workers` processes, so each has its own engine, pools and caches."""
    return create_app(Settings.from_env())


SERVED = f"{__name__}:{from_env.__name__}"
"""`from_env` as uvicorn imports it."""
