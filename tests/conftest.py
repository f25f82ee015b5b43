"""Every test starts from a clean database, on SQLite and on PostgreSQL, through the real HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy import Executable, Row, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel

from cms.app import create_app
from cms.clock import FixedClock
from cms.content import tokens
from cms.content.roles import Role
from cms.db import create_engine
from cms.files.importer import import_paths
from cms.migrate import alembic_config, upgrade
from cms.settings import Settings, async_database_url

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("CMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy, so the migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(async_database_url(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the session: mandatory in CI, skipped elsewhere if absent."""
    name = f"cms_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and cannot be used at {POSTGRES_URL}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    url = async_database_url(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "cms.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return async_database_url(f"sqlite:///{path}")
    return request.getfixturevalue("postgres_database")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    if engine.dialect.name == "postgresql":
        tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await connection.execute(text("UPDATE purge_cursor SET sequence = NULL"))  # as migrated
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    await import_paths(engine, [SEEDS], actor="test", now=NOW)
    return engine


@pytest.fixture
async def client(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """The public reader's client, in the planner's differential mode (see `checked_app`)."""
    async with checked_app(engine, clock) as http:
        yield http


@contextlib.asynccontextmanager
async def checked_app(
    engine: AsyncEngine,
    clock: FixedClock,
    headers: dict[str, str] | None = None,
    planner: str = "check",
    **settings_given: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real app (`settings_given`: more of its Settings). In "check" mode every query the
    suite sends is answered by Strawberry's resolvers and by the planner, and the test fails if the two
    answers differ at all."""
    settings = Settings(planner=planner, webhooks=False, **settings_given)
    app = create_app(settings, engine=engine, clock=clock, examples=ROOT / "schema" / "examples")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
        yield http
    assert app.state.graphql.mismatches == []


async def token_for(engine: AsyncEngine, role: Role, name: str | None = None, now: datetime = NOW) -> str:
    """A fresh token of `role` (named after it unless `name` is given), issued the way every token is."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        issued = await tokens.create_token(
            session, name=name or role.value.lower(), role=role, expires_at=None, now=now
        )
    return issued.token


@contextlib.asynccontextmanager
async def client_as(
    engine: AsyncEngine, clock: FixedClock, token: str, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app `client` talks to (same engine and clock, and `settings` if given), sending
    `token` as a Bearer token."""
    async with checked_app(engine, clock, {"Authorization": f"Bearer {token}"}, **settings) as http:
        yield http


@pytest.fixture
async def preview(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a PREVIEW token named "preview"."""
    async with client_as(engine, clock, await token_for(engine, Role.PREVIEW)) as http:
        yield http


@pytest.fixture
async def editor(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an EDITOR token named "editor"."""
    async with client_as(engine, clock, await token_for(engine, Role.EDITOR)) as http:
        yield http


@pytest.fixture
async def admin(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an ADMIN token named "admin"."""
    async with client_as(engine, clock, await token_for(engine, Role.ADMIN)) as http:
        yield http


async def gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a GraphQL request and return the JSON body (status is checked by the tests that care)."""
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    body: dict[str, Any] = response.json()
    return body


async def data(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The data of a request that must succeed without errors."""
    body = await gql(http, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def migrated_down_and_up(
    engine: AsyncEngine, revision: str, rows: Executable
) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """`rows` read before and after migrating `engine`'s database down to `revision` and up to head again (up
    whatever happens down): what a migration must fill again as the writes filled it."""
    async with engine.connect() as connection:
        before = list((await connection.execute(rows)).all())
    url = engine.url.render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(command.downgrade, alembic_config(url), revision)
    finally:
        await asyncio.to_thread(upgrade, url)
    async with engine.connect() as connection:
        return before, list((await connection.execute(rows)).all())
