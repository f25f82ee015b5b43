"""No statement runs past CMS_STATEMENT_TIMEOUT_MS (it is stopped and answered with TIMEOUT), a long SQLite
read never stalls the other requests of its process (it goes on in a worker thread, in its snapshot), and
the prepared statement caches stay bounded whatever shapes the traffic brings."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Executable, and_, bindparam, func, insert, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from starlette.applications import Starlette

from cms import db, deadlines
from cms.app import create_app
from cms.clock import FixedClock
from cms.content import articles, versions
from cms.content.errors import Timeout
from cms.content.reads import Read
from cms.content.roles import Role, Viewer
from cms.db import (
    BIG_SQL,
    PREPARED_CACHED,
    PREPARED_SQL,
    TEXTS_KEPT,
    Snapshot,
    create_engine,
    snapshot,
)
from cms.deadlines import ON_LOOP
from cms.graphql.context import Context
from cms.graphql.documents import prepare, searches
from cms.graphql.plan.planner import Planner
from cms.graphql.schema import schema
from cms.models import Article, PersistedDocument, table_of
from cms.settings import Settings
from tests.conftest import NOW, ROOT, error_codes

TIMEOUT_MS = 300
FOREVER = 10**12
"""Rows a counting statement would count: it never ends on its own."""
SECONDS = 2**22
"""Rows a counting statement counts in about a second on SQLite (on a slow machine, a few)."""
DOCUMENTS = table_of(PersistedDocument)


def counting(n: int, prepared: bool = True) -> Executable:
    """A statement that counts to n. Built with SQLAlchemy's expressions, it runs on the sqlite3 connection
    (compiled once, `cms.db._prepared`); as text, through SQLAlchemy."""
    if not prepared:
        counted = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n)"
        return text(f"{counted} SELECT count(*) FROM c").bindparams(n=n)
    c = select(literal(1).label("x")).cte("c", recursive=True)
    c = c.union_all(select((c.c.x + 1).label("x")).where(c.c.x < bindparam("n", n)))
    return select(func.count().label("n")).select_from(c)


def sleeping(engine: AsyncEngine, prepared: bool = True) -> Executable:
    """A statement that runs for ever (or as long as the timeout lets it)."""
    if engine.dialect.name == "postgresql":
        return text("SELECT 1 AS n FROM pg_sleep(:s)").bindparams(s=1000)
    return counting(FOREVER, prepared)


@pytest.fixture
async def timed(database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine whose statements stop after TIMEOUT_MS (the `engine` fixture has emptied the database)."""
    timed = create_engine(database_url, statement_timeout_ms=TIMEOUT_MS)
    yield timed
    await timed.dispose()


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For what only SQLite has: reads that run on the loop (PostgreSQL's are awaited), its prepared caches."""


@pytest.fixture
async def sqlite_engine(database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine with no statement timeout (tests that take it are SQLITE_ONLY)."""
    untimed = create_engine(database_url)
    yield untimed
    await untimed.dispose()


async def stopped(view: Snapshot, statement: Executable) -> float:
    """How long the statement ran before it was stopped with Timeout."""
    started = time.perf_counter()
    with pytest.raises(Timeout) as raised:
        await view.fetch(statement)
    assert raised.value.code == "TIMEOUT"
    assert f"({TIMEOUT_MS} ms)" in raised.value.message
    return time.perf_counter() - started


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "through-sqlalchemy"])
async def test_a_read_past_the_timeout_is_stopped_and_answered_timeout(
    timed: AsyncEngine, prepared: bool
) -> None:
    """The statement stops at the timeout, not at its end; its snapshot refuses the request's later
    statements at once (PostgreSQL has ended its transaction), and the next snapshot reads as usual."""
    view = await snapshot(timed)
    try:
        took = await stopped(view, sleeping(timed, prepared))
        assert TIMEOUT_MS / 1000 * 0.9 < took < TIMEOUT_MS / 1000 + 2
        started = time.perf_counter()
        with pytest.raises(Timeout):
            await view.fetch(select(literal(1).label("one")))
        assert time.perf_counter() - started < 0.1
    finally:
        await view.close()
    view = await snapshot(timed)
    try:
        assert [tuple(row) for row in await view.fetch(select(literal(1).label("one")))] == [(1,)]
    finally:
        await view.close()


async def test_a_timeout_shorter_than_the_loop_s_share_stops_the_statement_on_the_loop(
    database_url: str, engine: AsyncEngine
) -> None:
    timed = create_engine(database_url, statement_timeout_ms=5)
    view = await snapshot(timed)
    try:
        started = time.perf_counter()
        with pytest.raises(Timeout):
            await view.fetch(sleeping(timed))
        assert time.perf_counter() - started < 1
    finally:
        await view.close()
        await timed.dispose()


async def test_a_write_past_the_timeout_is_stopped_and_its_transaction_rolled_back(
    timed: AsyncEngine,
) -> None:
    """On SQLite the writer's statements run in aiosqlite's thread, stopped from the loop at the deadline."""
    started = time.perf_counter()
    async with timed.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(
            insert(DOCUMENTS).values(hash="0" * 64, document="{ x }", trusted=False, created_at=NOW)
        )
        with pytest.raises(Timeout):
            await connection.execute(sleeping(timed))
        await transaction.rollback()
    assert time.perf_counter() - started < TIMEOUT_MS / 1000 + 2
    async with timed.begin() as connection:  # the writer works on, and wrote nothing
        assert (await connection.execute(select(func.count()).select_from(DOCUMENTS))).scalar() == 0
        await connection.execute(select(literal(1)))


async def test_read_once_is_held_to_the_timeout_too(timed: AsyncEngine) -> None:
    """Through SQLAlchemy (text) and on the driver (a statement it prepares): stopped once, and not run
    again another way."""
    with pytest.raises(Timeout):
        await db.read_once(timed, sleeping(timed))
    prepared = select(func.pg_sleep(1000)) if timed.dialect.name == "postgresql" else counting(FOREVER)
    with db.StatementCounter(timed) as counter, pytest.raises(Timeout):
        await db.read_once(timed, prepared)
    assert counter.count == 1


async def test_a_read_in_place_is_held_to_the_timeout_too(timed: AsyncEngine) -> None:
    """SQLite's reads of a kept answer's token, on the loop: stopped at the statement timeout, not later."""
    read = db.read_in_place(timed, sleeping(timed))
    if read is None:  # PostgreSQL's are awaited: read_once, above
        assert timed.dialect.name == "postgresql"
        return
    started = time.perf_counter()
    with pytest.raises(Timeout):
        read()
    assert time.perf_counter() - started < TIMEOUT_MS / 1000 + 2


# ---------------------------------------------------------------- a long read never stalls the loop (SQLite)


@SQLITE_ONLY
async def test_a_long_sqlite_read_leaves_the_loop_to_the_other_requests(sqlite_engine: AsyncEngine) -> None:
    """The slow statement runs on the loop for ON_LOOP at most, then in a worker thread: another request's
    statement, started after it, ends long before it does (it would wait for its end if it ran on the
    loop)."""
    slow_view, fast_view = await snapshot(sqlite_engine), await snapshot(sqlite_engine)
    try:
        started = time.perf_counter()
        slow = asyncio.ensure_future(slow_view.fetch(counting(2 * SECONDS)))
        await asyncio.sleep(0)  # the slow statement's first step: it runs, and is moved off the loop
        assert not slow.done()
        fast = await fast_view.fetch(select(col(Article.id)).limit(1))
        fast_done = time.perf_counter() - started
        assert fast == []
        assert not slow.done()
        assert [row.n for row in await slow] == [2 * SECONDS]
        slow_done = time.perf_counter() - started
    finally:
        await slow_view.close()
        await fast_view.close()
    assert fast_done < min(ON_LOOP + 0.5, slow_done / 4), (fast_done, slow_done)


@SQLITE_ONLY
@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="threads have no priority of their own here")
async def test_a_read_moved_off_the_loop_yields_the_cpu_to_the_loop(sqlite_engine: AsyncEngine) -> None:
    """Its worker thread has a lower priority than the loop's (Linux: its own nice value), so long reads,
    however many callers send, take only the CPU the loop leaves."""
    view = cast(db._SqliteSnapshot, await snapshot(sqlite_engine))

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    try:
        seen = await deadlines.in_thread(view.raw, priority, time.perf_counter())
    finally:
        await view.close()
    assert seen == priority() + deadlines.READ_NICENESS


@SQLITE_ONLY
async def test_a_read_moved_off_the_loop_keeps_its_snapshot_and_its_turn(sqlite_engine: AsyncEngine) -> None:
    """In the worker thread the statement reads the snapshot's state, not a later commit's, and a statement
    of the same snapshot asked for meanwhile waits for it to end."""
    documents = select(func.count().label("n")).select_from(DOCUMENTS)
    view = await snapshot(sqlite_engine)
    try:
        assert [row.n for row in await view.fetch(documents)] == [0]
        async with sqlite_engine.begin() as connection:
            await connection.execute(
                insert(DOCUMENTS).values(hash="1" * 64, document="{ y }", trusted=False, created_at=NOW)
            )
        c = select(literal(1).label("x")).cte("c", recursive=True)
        c = c.union_all(select((c.c.x + 1).label("x")).where(c.c.x < bindparam("n", SECONDS)))
        seen = documents.scalar_subquery().label("documents")
        slow_read = select(seen, func.count().label("n")).select_from(c)
        ended: list[str] = []

        async def read(name: str, statement: Executable) -> Any:
            rows = await view.fetch(statement)
            ended.append(name)
            return rows

        slow = asyncio.ensure_future(read("slow", slow_read))
        await asyncio.sleep(0)  # moved off the loop
        assert not slow.done()
        after = await read("after", documents)
        assert ended == ["slow", "after"]
        assert [(row.documents, row.n) for row in await slow] == [(0, SECONDS)]
        assert [row.n for row in after] == [0]
    finally:
        await view.close()


@SQLITE_ONLY
async def test_a_cancelled_read_in_a_thread_stops_and_gives_its_connection_back(
    sqlite_engine: AsyncEngine,
) -> None:
    view = await snapshot(sqlite_engine)
    started = time.perf_counter()
    slow = asyncio.ensure_future(view.fetch(counting(FOREVER)))
    await asyncio.sleep(0)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert time.perf_counter() - started < 2
    await view.close()
    view = await snapshot(sqlite_engine)  # the same connection, last in first out: idle and usable
    try:
        assert [row.n for row in await view.fetch(counting(10))] == [10]
    finally:
        await view.close()


# ---------------------------------------------------------------- Strawberry and the planner


@pytest.fixture
def slow_count(timed: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """`articles { totalCount }` counts with a statement that never ends (a test-only read path)."""
    slow = sleeping(timed)
    monkeypatch.setattr(articles, "count_statement", lambda **_: slow)


COUNT = "{ articles(first: 1) { nodes { id } totalCount } }"


@pytest.mark.usefixtures("slow_count")
@pytest.mark.parametrize("planner", ["off", "on", "check"])
async def test_the_api_answers_a_stopped_statement_with_timeout(timed: AsyncEngine, planner: str) -> None:
    """Strawberry's resolver gets Timeout (an error at its field, coded by graphql.errors); the planner
    lets it through for the pipeline to answer, without running it again on Strawberry."""
    settings = Settings(planner=planner, webhooks=False, statement_timeout_ms=TIMEOUT_MS)
    app = create_app(settings, engine=timed, clock=FixedClock(NOW), examples=ROOT / "schema" / "examples")
    started = time.perf_counter()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.post("/graphql", json={"query": COUNT})
    body = response.json()
    assert (response.status_code, error_codes(body), body["data"]) == (200, ["TIMEOUT"], None)
    assert body["errors"][0].get("path", ["articles", "totalCount"]) == ["articles", "totalCount"]
    runs = 2 if planner == "check" else 1  # checking runs the planner as well, in a snapshot of its own
    assert time.perf_counter() - started < runs * TIMEOUT_MS / 1000 + 2
    assert app.state.graphql.mismatches == []


async def test_a_stopped_statement_outside_execution_is_answered_timeout_too(
    timed: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The content version a public answer is checked against is read before any field runs: stopped, it is
    a 503 with TIMEOUT, as a JSON answer, never a 500."""
    monkeypatch.setattr(versions, "TOKENS", Read(sleeping(timed), {}))
    settings = Settings(webhooks=False, statement_timeout_ms=TIMEOUT_MS)
    app = create_app(settings, engine=timed, clock=FixedClock(NOW), examples=ROOT / "schema" / "examples")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/graphql", params={"query": COUNT})
    assert (response.status_code, error_codes(response.json())) == (503, ["TIMEOUT"])


@pytest.mark.usefixtures("slow_count")
async def test_the_planner_lets_a_timeout_through_instead_of_running_it_again_on_strawberry(
    timed: AsyncEngine,
) -> None:
    planner = Planner(schema)
    context = Context(engine=timed, viewer=Viewer(Role.READER, None), now=NOW, request_id="timed")
    started = time.perf_counter()
    try:
        with pytest.raises(Timeout):
            await planner.run(prepare(schema._schema, COUNT), None, {}, context)
    finally:
        await context.close()
    assert time.perf_counter() - started < TIMEOUT_MS / 1000 + 2
    assert not planner.fallbacks


SEARCH = "query ($q: String) { articles(first: 5, filter: {search: $q}) { nodes { id } totalCount } }"
FILTERED = "query ($f: ArticleFilter) { articles(first: 5, filter: $f) { nodes { id } } }"
PLAIN = "{ articles(first: 1) { nodes { id } } }"


@pytest.mark.parametrize(
    ("query", "variables", "searching"),
    [
        (SEARCH, {"q": "storm"}, True),
        ('{ tags(search: "ba") { nodes { slug } } }', None, True),
        (FILTERED, {"f": {"or": [{"tag": "x"}, {"not": {"search": "storm"}}]}}, True),
        (FILTERED, {"f": {"tag": "x"}}, False),
        (PLAIN, None, False),
    ],
)
def test_a_request_searches_by_its_document_or_its_variables(
    query: str, variables: dict[str, Any] | None, searching: bool
) -> None:
    assert searches(prepare(schema._schema, query), variables) is searching


@SQLITE_ONLY
async def test_a_request_that_left_the_loop_runs_its_statements_in_a_read_thread(
    sqlite_engine: AsyncEngine,
) -> None:
    """Each of them, kept by the snapshot or not (SQLAlchemy's), however short, in its snapshot."""
    context = Context(engine=sqlite_engine, viewer=Viewer(Role.READER, None), now=NOW, request_id="searching")
    thread = func.thread_name().label("thread")
    try:
        await context.fetch(select(literal(1)))
        assert isinstance(context._snapshot, db._SqliteSnapshot)
        context._snapshot.raw.create_function("thread_name", 0, lambda: threading.current_thread().name)
        before = await context.fetch(select(thread))
        context.leave_loop()
        after = await context.fetch(select(thread))
        unkept = await context.fetch(text("SELECT thread_name() AS thread"))
    finally:
        await context.close()
    assert before[0].thread == threading.current_thread().name
    assert after[0].thread.startswith("cms-read")
    assert unkept[0].thread.startswith("cms-read")


def _searching_app(engine: AsyncEngine, planner: str = "on") -> Starlette:
    settings = Settings(planner=planner, webhooks=False, response_cache_mib=0)
    return create_app(settings, engine=engine, clock=FixedClock(NOW), examples=ROOT / "schema" / "examples")


def _search(http: httpx.AsyncClient, i: int) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(http.post("/graphql", json={"query": SEARCH, "variables": {"q": f"w{i}"}}))


@pytest.mark.parametrize("planner", ["off", "on"])
async def test_searches_give_way_and_take_turns_while_other_requests_come(
    sqlite_engine: AsyncEngine, planner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search on a process that serves nothing else runs on the loop; after another request, searches
    leave the loop, and no more than `deadlines.SEARCHES` of them execute at once, whichever engine answers
    them, while a plain request goes straight through."""
    monkeypatch.setattr(deadlines, "GIVING_WAY", 3600.0)
    app = _searching_app(sqlite_engine, planner)
    endpoint = app.state.graphql
    execute, run = endpoint.execute, endpoint._run
    asking = deadlines.SEARCHES + 2
    arrived, inside, most, left = 0, 0, 0, []
    all_arrived, released = asyncio.Event(), asyncio.Event()

    async def arriving(document: Any, asked: Any, context: Any) -> Any:
        nonlocal arrived
        arrived += searches(document, asked.variables)
        if arrived == asking:
            all_arrived.set()
        return await execute(document, asked, context)

    async def held(document: Any, asked: Any, context: Any) -> Any:
        nonlocal inside, most
        if not searches(document, asked.variables):
            return await run(document, asked, context)
        left.append(context._off_loop)
        if not context._off_loop:
            return await run(document, asked, context)
        inside += 1
        most = max(most, inside)
        try:
            await released.wait()
            return await run(document, asked, context)
        finally:
            inside -= 1

    endpoint._run = held
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        alone = await _search(http, 0)
        assert (await http.post("/graphql", json={"query": PLAIN})).status_code == 200
        endpoint.execute = arriving
        searching = [_search(http, i) for i in range(asking)]
        await asyncio.wait_for(all_arrived.wait(), 30)
        plain = await http.post("/graphql", json={"query": PLAIN})
        assert (plain.status_code, plain.json().get("errors")) == (200, None)
        assert (inside, most) == (deadlines.SEARCHES, deadlines.SEARCHES)
        released.set()
        answers = [alone, *await asyncio.gather(*searching)]
    assert left == [False] + [True] * asking
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert all("errors" not in a.json() for a in answers)


async def test_a_search_gives_way_while_another_request_executes(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However long ago the last other request ended; and not once none is left."""
    monkeypatch.setattr(deadlines, "GIVING_WAY", 0.0)
    app = _searching_app(sqlite_engine)
    endpoint = app.state.graphql
    run, started, released, left = endpoint._run, asyncio.Event(), asyncio.Event(), []

    async def held(document: Any, asked: Any, context: Any) -> Any:
        if searches(document, asked.variables):
            left.append(context._off_loop)
        else:
            started.set()
            await released.wait()
        return await run(document, asked, context)

    endpoint._run = held
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        plain = asyncio.create_task(http.post("/graphql", json={"query": PLAIN}))
        await asyncio.wait_for(started.wait(), 30)
        beside = await _search(http, 1)
        released.set()
        assert (await plain).status_code == 200
        after = await _search(http, 2)
    assert (beside.status_code, after.status_code, left) == (200, 200, [True, False])


# ---------------------------------------------------------------- bounded caches


def shape(i: int, width: int = 1) -> Executable:
    """A statement of its own shape for each `i` (its columns' names are part of the shape)."""
    return select(*(col(Article.id).label(f"c{i}_{j}") for j in range(width))).limit(1)


@SQLITE_ONLY
async def test_prepared_statements_stay_bounded_by_count_and_by_text(sqlite_engine: AsyncEngine) -> None:
    """By count (`PREPARED_CACHED`) and by text (`PREPARED_SQL`); and a statement run once is let go: only
    the first of each shape kept is held (by its compiled form), while its shape is kept."""
    made: list[weakref.ref[Executable]] = []
    view = await snapshot(sqlite_engine)
    try:
        for i in range(PREPARED_CACHED + 200):
            statement = shape(i)
            made.append(weakref.ref(statement))
            await view.fetch(statement)
        assert len(db._by_cache_key) <= PREPARED_CACHED
        for i in range(300):
            await view.fetch(shape(i, 60))  # about 4 KiB of text each
        assert db._by_cache_key.weight <= PREPARED_SQL
        assert len(db._by_cache_key) < PREPARED_CACHED
        one_shape: Any = select(col(Article.id).label("one_shape")).where(
            col(Article.word_count) > bindparam("n")
        )
        for n in range(500):
            statement = one_shape.params(n=n)
            made.append(weakref.ref(statement))
            await view.fetch(statement)
    finally:
        await view.close()
    del statement
    gc.collect()
    assert sum(ref() is not None for ref in made) <= len(db._by_cache_key)
    assert sum(ref() is not None for ref in made[-500:]) <= 1


@SQLITE_ONLY
async def test_a_huge_statement_is_kept_by_no_cache(sqlite_engine: AsyncEngine) -> None:
    titles = [f"title {i}" for i in range(700)]  # a 700-way filter: 30 KiB of text
    title, slug = col(Article.title), col(Article.slug)
    huge = select(col(Article.id)).where(or_(*(and_(title == t, slug != t) for t in titles)))
    huge_in = select(col(Article.id)).where(or_(*(and_(title.in_([t, t + "!"]), slug != t) for t in titles)))
    view = await snapshot(sqlite_engine)
    try:
        assert await view.fetch(huge) == []
        assert await view.fetch(huge_in) == []  # an expanding IN: SQLAlchemy runs it
    finally:
        await view.close()
    assert huge not in db._by_statement
    assert all(len(entry[0].sql) <= BIG_SQL for entry in db._by_cache_key._items.values() if entry)
    readers = db._reader(sqlite_engine)
    assert readers is not None
    for kept in (db.compiled_cache(readers.engine), db.compiled_cache(sqlite_engine)):
        assert kept.weight <= PREPARED_SQL
        assert all(len(compiled.string) <= BIG_SQL for compiled in kept._items.values())


@SQLITE_ONLY
async def test_a_read_connection_that_prepared_too_much_text_is_renewed(sqlite_engine: AsyncEngine) -> None:
    """sqlite3 keeps every text it prepared: a connection that has run more than TEXTS_KEPT of them is
    closed when its snapshot ends, and a fresh one serves the next."""
    readers = db._reader(sqlite_engine)
    assert readers is not None
    view = cast(db._SqliteSnapshot, await snapshot(sqlite_engine))
    first = view.pooled
    try:
        for i in range(4):
            await view.fetch(shape(i))
    finally:
        await view.close()
    assert readers.idle[-1] is first  # given back: the next snapshot takes it
    view = cast(db._SqliteSnapshot, await snapshot(sqlite_engine))
    assert view.pooled is first
    try:
        i = 10_000
        while view.raw.kept <= TEXTS_KEPT:
            await view.fetch(shape(i, 40))
            i += 1
    finally:
        await view.close()
    assert first not in readers.idle
    view = cast(db._SqliteSnapshot, await snapshot(sqlite_engine))
    try:
        assert view.pooled is not first
        assert await view.fetch(shape(1)) == []
    finally:
        await view.close()
