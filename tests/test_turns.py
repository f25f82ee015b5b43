"""Heavy documents take turns where reads run on the loop (SQLite); lighter requests never wait for them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms import db
from cms.app import create_app
from cms.delivery import turns
from cms.delivery.turns import Turns
from cms.graphql.documents import Prepared, prepare
from cms.graphql.schema import schema
from cms.settings import Settings
from tests.conftest import FixedClock, checked_app, data

SEARCH = prepare(schema._schema, '{ articles(filter: {search: "carpet"}) { totalCount } }')
QUERY = "{ articles(first: 3) { totalCount nodes { slug authors { name } } } }"
PAGE = prepare(schema._schema, '{ article(slug: "a") { title } }')


async def run(line: Turns, document: Prepared, seconds: float, log: list[str], name: str) -> None:
    async with line(document):
        log.append(f"{name} in")
        await asyncio.sleep(seconds)
        log.append(f"{name} out")


async def test_a_heavy_document_s_requests_take_turns_and_light_ones_pass_them() -> None:
    line = Turns(enabled=True)
    await run(line, SEARCH, turns.HEAVY * 2, [], "first")  # now known to be heavy
    assert line.heavy(SEARCH)
    assert not line.heavy(PAGE)
    log: list[str] = []
    await asyncio.gather(
        run(line, SEARCH, turns.HEAVY * 2, log, "a"),
        run(line, SEARCH, turns.HEAVY * 2, log, "b"),
        run(line, PAGE, 0, log, "page"),
    )
    assert log.index("a out") < log.index("b in"), log  # one at a time
    assert log.index("page out") < log.index("a out"), log  # the page did not wait for either


async def test_a_heavy_document_whose_last_run_was_light_is_light_again() -> None:
    line = Turns(enabled=True)
    await run(line, SEARCH, turns.HEAVY * 2, [], "slow")
    await run(line, SEARCH, 0, [], "quick")
    assert not line.heavy(SEARCH)


async def test_where_the_database_does_the_work_nothing_waits() -> None:
    line = Turns(enabled=False)
    await run(line, SEARCH, turns.HEAVY * 2, [], "slow")
    log: list[str] = []
    await asyncio.gather(*(run(line, SEARCH, turns.HEAVY, log, name) for name in "ab"))
    assert log[:2] == ["a in", "b in"]


async def test_the_app_takes_turns_on_sqlite_only(engine: AsyncEngine) -> None:
    app = create_app(Settings(webhooks=False), engine=engine)
    assert app.state.graphql.turns.enabled == (engine.dialect.name == "sqlite")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("heavy", [True, False])
async def test_a_heavy_request_s_statements_run_in_a_worker_thread(
    seeded: AsyncEngine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, heavy: bool
) -> None:
    """Its time on the loop is what lighter requests wait for; a light one's stay on the loop."""
    monkeypatch.setattr(turns, "HEAVY", 1e-9 if heavy else 60.0)
    threads: set[str] = set()
    original = db.in_thread

    async def recorded(raw: Any, run: Callable[[], Any], started: float) -> Any:
        def noted() -> Any:
            threads.add(threading.current_thread().name)
            return run()

        return await original(raw, noted, started)

    monkeypatch.setattr(db, "in_thread", recorded)
    async with checked_app(seeded, clock, planner="on", response_cache_mib=0) as client:
        await data(client, QUERY)  # its first run: how heavy it is becomes known
        assert threads == set()
        assert (await data(client, QUERY))["articles"]["totalCount"] > 0
    assert bool(threads) == heavy
    assert all(name.startswith("cms-read") for name in threads)
