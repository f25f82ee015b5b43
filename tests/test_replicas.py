"""Read replicas (issue 17, `CMS_DATABASE_REPLICA_URLS`) against a real streaming replica of the suite's
PostgreSQL (`tests/replica.py`). What only the replica can show tells where a read went: with its replay
paused, a write on the primary is not on the replica yet, so a public answer without it was read there, and
an answer with it on the primary. Once the replica has replayed the write, the public sees it, through the
response cache too: a kept answer is keyed by the version of the state it was read from. A replica that
cannot be reached sends its reads to the primary, with a warning, never an error."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from cms.app import create_app
from cms.clock import FixedClock
from cms.content.roles import Role
from cms.db import REPLICA_RETRY, StatementCounter
from cms.settings import Settings
from tests.conftest import IN_CI, POSTGRES_URL, ROOT, data, token_for
from tests.replica import Replica, ReplicaUnavailable, streaming_replica
from tests.test_article_mutations import PUBLISH, UPDATE, create

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
PAGE = "query Page($slug: String!) { article(slug: $slug) { id title } }"
SLUG = "baku-carpet-weaving-festival"
ARTICLE_URL = "https://news.example/{language}/{slug}"
FEED = "{ changes(since: null, first: 100) { events { action id } } }"
NOWHERE = "postgresql://postgres@127.0.0.1:1/nowhere"
"""A replica that cannot be reached: nothing listens on port 1."""


@pytest.fixture(scope="session")
def replica(postgres_database: str) -> Iterator[Replica]:
    """The suite's PostgreSQL streamed to a second cluster for the session (after the session's database
    is made, so stopped before it is dropped): mandatory in CI, skipped elsewhere if it cannot be made."""
    with contextlib.ExitStack() as stack:
        try:
            made = stack.enter_context(streaming_replica(POSTGRES_URL))
        except ReplicaUnavailable as error:
            if IN_CI:
                pytest.fail(f"a streaming replica is required in CI and cannot be made: {error}")
            pytest.skip(f"no streaming replica: {error}")
        yield made


@contextlib.asynccontextmanager
async def served(
    engine: AsyncEngine, clock: FixedClock, *replicas: str, **settings: Any
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app over `engine`, the primary, reading on `replicas` (plain URLs), in the planner's
    differential mode (both engines read the same replica), with its lifespan: the replicas' engines are
    disposed at the end."""
    primary = engine.url.render_as_string(hide_password=False)
    app = create_app(
        Settings(
            database_url=primary,
            database_replica_urls=replicas,
            planner="check",
            webhooks=False,
            article_url=ARTICLE_URL,
            **settings,
        ),
        engine=engine,
        clock=clock,
        examples=ROOT / "schema" / "examples",
    )
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield app, http
    assert app.state.graphql.mismatches == []


def on(replica: Replica, engine: AsyncEngine) -> str:
    """The replica's URL for `engine`'s database."""
    database = make_url(engine.url).database
    assert database is not None
    return replica.url(database)


async def title(http: httpx.AsyncClient, **headers: str) -> str:
    """The article's title as `http` is answered, by GET (the public's are kept by the response cache)."""
    params = {"query": PAGE, "variables": json.dumps({"slug": SLUG})}
    response = await http.get("/graphql", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: str = response.json()["data"]["article"]["title"]
    return found


async def retitle(http: httpx.AsyncClient, token: str, new: str) -> None:
    """A write through the API, as an editor: on the primary, and its payload read there after it."""
    bearer = {"Authorization": f"Bearer {token}"}
    found = await http.post("/graphql", json={"query": PAGE, "variables": {"slug": SLUG}}, headers=bearer)
    variables = {"id": found.json()["data"]["article"]["id"], "input": {"title": new}}
    written = await http.post("/graphql", json={"query": UPDATE, "variables": variables}, headers=bearer)
    payload = written.json()["data"]["updateArticle"]
    assert payload["userErrors"] == [], payload
    assert payload["article"]["title"] == new


async def feed_titles(http: httpx.AsyncClient) -> set[str]:
    response = await http.get("/feeds/articles.json")
    assert response.status_code == 200, response.text
    return {item["title"] for item in response.json()["items"]}


def test_replicas_are_plain_postgresql_urls_and_refused_on_sqlite() -> None:
    primary = "postgresql://cms@db:5432/news"
    settings = Settings.from_env(
        {
            "CMS_DATABASE_URL": primary,
            "CMS_DATABASE_REPLICA_URLS": "postgresql://cms@r1/news, postgres://r2/news",
        }
    )
    assert settings.database_replica_urls == ("postgresql://cms@r1/news", "postgres://r2/news")
    assert settings.async_replica_urls == ("postgresql+asyncpg://cms@r1/news", "postgresql+asyncpg://r2/news")
    assert Settings.from_env({"CMS_DATABASE_URL": primary}).database_replica_urls == ()
    with pytest.raises(ValueError, match="read replicas are a PostgreSQL feature"):
        Settings.from_env({"CMS_DATABASE_REPLICA_URLS": "postgresql://cms@r1/news"})  # SQLite, the default
    with pytest.raises(ValueError, match="CMS_DATABASE_REPLICA_URLS: not a PostgreSQL URL: 'sqlite"):
        Settings.from_env({"CMS_DATABASE_URL": primary, "CMS_DATABASE_REPLICA_URLS": "sqlite:///copy.db"})
    with pytest.raises(ValueError, match="CMS_DATABASE_REPLICA_URLS is not a URL"):
        Settings.from_env({"CMS_DATABASE_URL": primary, "CMS_DATABASE_REPLICA_URLS": "r1"})


@ON_POSTGRES
async def test_public_reads_go_to_the_replica_and_see_a_write_once_it_has_replayed_it(
    seeded: AsyncEngine, clock: FixedClock, replica: Replica
) -> None:
    editor = await token_for(seeded, Role.EDITOR)
    preview = {"Authorization": f"Bearer {await token_for(seeded, Role.PREVIEW)}"}
    new = "Carpets, on the primary only"
    await replica.caught_up()
    async with served(seeded, clock, on(replica, seeded)) as (app, http):
        before = await title(http, **preview)
        await replica.pause()
        try:
            await retitle(http, editor, new)
            assert await title(http, **preview) == new  # a token's request: the primary
            assert await title(http) == before  # the public's: the replica, which has not replayed it
            replicas = app.state.graphql.replicas
            with StatementCounter(replicas.engines[0]) as on_replica, StatementCounter(seeded) as on_primary:
                assert await title(http) == before  # kept, under the version of the replica's state
            assert (on_replica.count, on_primary.count) == (1, 0), "a kept answer's check, on the replica"
            assert before in await feed_titles(http)
            assert new not in await feed_titles(http)
        finally:
            await replica.resume()
        await replica.caught_up()
        assert await title(http) == new  # the version it was kept under is no longer the replica's
        assert new in await feed_titles(http)


@ON_POSTGRES
async def test_a_public_request_that_writes_reads_on_the_primary_after_it(
    seeded: AsyncEngine, clock: FixedClock, replica: Replica
) -> None:
    """The change feed gives a scheduled article that came due its event first (a write): the page, read
    after it, holds that event, which only the primary has."""
    bearer = {"Authorization": f"Bearer {await token_for(seeded, Role.EDITOR)}"}
    async with served(seeded, clock, on(replica, seeded)) as (app, http):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer) as editor:
            draft = await create(editor, title="A story for later")
            at = (clock.now() + timedelta(hours=1)).isoformat()
            await data(editor, PUBLISH, {"id": draft["id"], "at": at})
        await replica.caught_up()
        await replica.pause()
        try:
            clock.set(clock.now() + timedelta(hours=2))
            feed = await data(http, FEED)
        finally:
            await replica.resume()
    assert draft["id"] in [event["id"] for event in feed["changes"]["events"] if event["action"] == "UPSERT"]


@ON_POSTGRES
async def test_replicas_take_public_reads_in_turn_and_leave_the_primary_alone(
    seeded: AsyncEngine, clock: FixedClock, replica: Replica
) -> None:
    """The replica twice: two engines, each a request's snapshots in turn (the differential mode's second
    snapshot on the same one), and no connection taken from the primary's pool."""
    await replica.caught_up()
    url = on(replica, seeded)
    async with served(seeded, clock, url, url, response_cache_mib=0) as (app, http):
        engines = [seeded, *app.state.graphql.replicas.engines]
        taken = [0, 0, 0]
        for index, engine in enumerate(engines):
            event.listen(engine.sync_engine, "checkout", lambda *_, index=index: _count(taken, index))
        for _ in range(4):
            await title(http)
        assert taken == [0, 4, 4]


@ON_POSTGRES
async def test_an_unreachable_replica_is_passed_over_until_it_is_tried_again(
    seeded: AsyncEngine, clock: FixedClock, replica: Replica, caplog: pytest.LogCaptureFixture
) -> None:
    await replica.caught_up()
    caplog.set_level(logging.WARNING, logger="cms.db")
    async with served(seeded, clock, NOWHERE, on(replica, seeded), response_cache_mib=0) as (_app, http):
        for _ in range(4):
            await title(http)
        assert _unreached(caplog) == 1, "tried once, then passed over"
        clock.set(clock.now() + REPLICA_RETRY)
        for _ in range(2):
            await title(http)
        assert _unreached(caplog) == 2


@ON_POSTGRES
async def test_a_replica_that_cannot_be_reached_sends_public_reads_to_the_primary(
    seeded: AsyncEngine, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    editor = await token_for(seeded, Role.EDITOR)
    caplog.set_level(logging.WARNING, logger="cms.db")
    async with served(seeded, clock, NOWHERE) as (_app, http):
        await retitle(http, editor, "Carpets, read on the primary")
        assert await title(http) == "Carpets, read on the primary"  # a snapshot: its connection fails
        clock.set(clock.now() + REPLICA_RETRY)
        assert await title(http) == "Carpets, read on the primary"  # a kept answer's check fails
    assert _unreached(caplog) == 2
    (message, *_) = [record.getMessage() for record in caplog.records]
    assert "read replica postgresql+asyncpg://postgres@127.0.0.1:1/nowhere cannot be reached" in message
    assert "its reads go to the primary" in message


@ON_POSTGRES
async def test_a_replica_that_stops_sends_public_reads_to_the_primary_until_it_is_back(
    seeded: AsyncEngine, clock: FixedClock, replica: Replica, caplog: pytest.LogCaptureFixture
) -> None:
    """Its pooled connections are lost with it: the first statement of a snapshot finds out, and the
    snapshot begins on the primary instead (nothing has been read yet)."""
    editor = await token_for(seeded, Role.EDITOR)
    caplog.set_level(logging.WARNING, logger="cms.db")
    await replica.caught_up()
    async with served(seeded, clock, on(replica, seeded), response_cache_mib=0) as (_app, http):
        await title(http)  # a connection to the replica, kept in its pool
        replica.stop()
        try:
            await retitle(http, editor, "Carpets, while the replica is down")
            assert await title(http) == "Carpets, while the replica is down"
            assert _unreached(caplog) == 1
        finally:
            replica.start()
        clock.set(clock.now() + REPLICA_RETRY)
        await replica.caught_up()
        await replica.pause()
        try:
            await retitle(http, editor, "Carpets, once it is back")
            assert await title(http) == "Carpets, while the replica is down"  # the replica's again
        finally:
            await replica.resume()
    assert _unreached(caplog) == 1


def _count(taken: list[int], index: int) -> None:
    taken[index] += 1


def _unreached(caplog: pytest.LogCaptureFixture) -> int:
    return sum("cannot be reached" in record.getMessage() for record in caplog.records)
