"""A request reads one consistent, read-only view of the database, and opening one never waits."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, event, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from sqlmodel import col

from cms.content import articles
from cms.content.categories import CategoryTree, read_tree
from cms.content.roles import PUBLIC
from cms.db import (
    LISTED_KEYS,
    READERS,
    Snapshot,
    StatementCounter,
    create_engine,
    read_once,
    reads_on_loop,
    snapshot,
)
from cms.files.importer import import_paths
from cms.graphql.context import Context, Shared
from cms.graphql.nodes import AUTHORS
from cms.models import Article, ArticleAuthor, ArticleTag, Category, CategoryPreviousSlug
from cms.settings import async_database_url
from tests.conftest import NOW, SEEDS, error_codes

TITLES = select(col(Article.title)).order_by(col(Article.id))


@contextlib.asynccontextmanager
async def opened(engine: AsyncEngine) -> AsyncIterator[Snapshot]:
    view = await snapshot(engine)
    try:
        yield view
    finally:
        await view.close()


async def test_a_commit_after_the_first_read_is_not_seen_until_the_next_snapshot(seeded: AsyncEngine) -> None:
    async with opened(seeded) as view:
        before = await view.fetch(TITLES)
        async with seeded.begin() as connection:
            await connection.execute(update(Article).values(title="Changed meanwhile"))
        assert await view.fetch(TITLES) == before
    async with opened(seeded) as view:
        assert {row.title for row in await view.fetch(TITLES)} == {"Changed meanwhile"}


async def test_a_category_tree_is_kept_until_the_category_tables_change(seeded: AsyncEngine) -> None:
    """A request reads the table's token, and the tree itself only after a change, however it was made
    (here by hand-written SQL, which no code of ours sees): the triggers change the token with the table."""

    async def read() -> tuple[CategoryTree, int]:
        with StatementCounter(seeded) as counter:
            async with opened(seeded) as view:
                tree = await read_tree(lambda statement: view.fetch(*statement))
        return tree, counter.count

    kept, _ = await read()
    again, statements = await read()
    assert again is kept
    assert statements == 1
    some = next(iter(kept.by_id))
    child = {"id": "category-new", "slug": "new", "name": "New", "parent_id": some}
    earlier = {"category_id": some, "position": 0, "slug": "older"}
    changes = [
        update(Category).where(col(Category.id) == some).values(name="Renamed"),
        insert(Category).values(**child, created_at=NOW, updated_at=NOW),
        delete(Category).where(col(Category.id) == child["id"]),
        insert(CategoryPreviousSlug).values(**earlier),
    ]
    seen = []
    for change in changes:
        async with seeded.begin() as connection:
            await connection.execute(change)
        tree, statements = await read()
        assert statements == 3  # the token, the tree, its earlier slugs
        children = [row.slug for row in tree.children_of.get(some, [])]
        seen.append(
            (tree.by_id[some].name, "new" in children, "new" in tree.by_slug, "older" in tree.by_slug)
        )
    assert seen == [
        ("Renamed", False, False, False),
        ("Renamed", True, True, False),
        ("Renamed", False, False, False),
        ("Renamed", False, False, True),
    ]


async def test_a_snapshot_cannot_write(seeded: AsyncEngine) -> None:
    async with opened(seeded) as view:
        with pytest.raises(DBAPIError):
            await view.fetch(update(Article).values(title="Written by a reader"))
    async with opened(seeded) as view:
        assert "Written by a reader" not in {row.title for row in await view.fetch(TITLES)}


async def test_more_concurrent_sqlite_snapshots_than_the_pool_keeps_all_open(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """SQLite reads run on a synchronous pool, and a pool that waited would block the event loop, and with it
    the requests that would give a connection back. (PostgreSQL's async pool may wait: nothing is blocked.)"""
    path = tmp_path / "cms.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(async_database_url(f"sqlite:///{path}"))
    await import_paths(engine, [SEEDS], actor="test", now=NOW)
    async with contextlib.AsyncExitStack() as stack:
        views = [await stack.enter_async_context(opened(engine)) for _ in range(READERS + 4)]
        results = await asyncio.gather(*(view.fetch(TITLES) for view in views))
    await engine.dispose()
    assert all(rows == results[0] and rows for rows in results)


@pytest.mark.parametrize("mapped_mib", [0, 64])
async def test_sqlite_read_connections_map_as_much_of_the_file_as_the_setting_says(
    sqlite_template: Path, tmp_path: Path, mapped_mib: int
) -> None:
    """Mapped, a read finds its pages in the OS page cache with no system call a page (Settings)."""
    path = tmp_path / "cms.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(async_database_url(f"sqlite:///{path}"), sqlite_mmap_mib=mapped_mib)
    async with opened(engine) as view:
        assert [row[0] for row in await view.fetch(text("PRAGMA mmap_size"))] == [mapped_mib << 20]
    await engine.dispose()


ERRS_OUT_MIDWAY = """{
  articles(filter: {search: "caspian"}) {
    nodes { revisions { totalCount } title sources { role source { name } } }
    edges { node { id title authors { name } } }
    totalCount
  }
  author(slug: "fidan-abdullayeva") {
    articles(orderBy: {field: CREATED_AT, direction: ASC}) { nodes { slug } }
  }
  categories {
    totalCount
    nodes { parent { parent { children { name } path { name } } } path { parent { name } } }
    edges { node { path { articles(first: 0, includeDescendants: false) { totalCount } parent { name } } } }
  }
}"""


async def test_an_error_that_nulls_the_response_leaves_no_connection_behind(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """revisions is FORBIDDEN to the public: the error nulls `articles`, and with it all of data, while the
    other root fields' resolvers are still reading. The answer is the error, and every connection returns."""
    for _ in range(5):
        response = await client.post("/graphql", json={"query": ERRS_OUT_MIDWAY})
        assert response.status_code == 200
        assert set(error_codes(response.json())) <= {"FORBIDDEN", "BAD_USER_INPUT"}
    assert isinstance(seeded.pool, QueuePool)
    assert seeded.pool.checkedout() == 0


async def test_one_cancelled_waiter_does_not_cancel_a_read_others_share(seeded: AsyncEngine) -> None:
    """graphql-core cancels a failed field's siblings; a resolver elsewhere awaiting the same read (the
    category tree, or a loader's key) must still get it, not a CancelledError that fails the request. Where
    reads run on the loop, the tree is read in place, to its end, in its first caller's first step: there
    is nothing left to cancel."""
    context = Context(engine=seeded, viewer=PUBLIC, now=NOW, request_id="shared")
    article_id = (await context.fetch(select(col(ArticleAuthor.article_id)).limit(1)))[0].article_id
    shared = [
        (context.category_tree, reads_on_loop(seeded)),
        (lambda: AUTHORS.load(context, article_id), False),
    ]
    try:
        for read, in_place in shared:
            cancelled, waiting = asyncio.ensure_future(read()), asyncio.ensure_future(read())
            await asyncio.sleep(0)  # one turn of the loop: both now wait on the one shared read, or have it
            cancelled.cancel()
            assert await waiting
            assert cancelled.cancelled() is not in_place
    finally:
        await context.close()


async def test_a_shared_read_outlives_a_cancelled_waiter() -> None:
    """`Shared` as PostgreSQL's requests use it (a task): the read goes on for those still waiting."""
    gate = asyncio.Event()
    reads = []

    async def read() -> str:
        reads.append(1)
        await gate.wait()
        return "tree"

    shared = Shared(read, in_place=False)
    cancelled, waiting = asyncio.ensure_future(shared.get()), asyncio.ensure_future(shared.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    gate.set()
    assert (await waiting, await shared.get(), len(reads)) == ("tree", "tree", 1)
    assert cancelled.cancelled()


async def test_statements_of_one_shape_each_answer_with_their_own_values(seeded: AsyncEngine) -> None:
    """Statements are compiled once per shape and run with each one's values (an expanding IN, whose text
    depends on its values, included)."""
    async with opened(seeded) as view:
        rows = await view.fetch(select(col(Article.id), col(Article.title)).order_by(col(Article.id)))
        assert len(rows) > 1
        for row in rows:
            same = select(col(Article.id)).where(col(Article.title) == row.title, col(Article.id) >= row.id)
            found = await view.fetch(same)
            assert [r.id for r in found] == [row.id]
        for size in range(1, len(rows) + 1):
            ids = [row.id for row in rows[:size]]
            found = await view.fetch(
                select(col(Article.id)).where(col(Article.id).in_(ids)).order_by(col(Article.id))
            )
            assert [r.id for r in found] == ids


async def test_keys_read_alike_listed_in_the_text_or_as_one_json_parameter(seeded: AsyncEngine) -> None:
    """Up to LISTED_KEYS keys are listed in the statement's text, more go as one JSON array: the same rows."""
    async with opened(seeded) as view:
        ids = [row.id for row in await view.fetch(select(col(Article.id)).order_by(col(Article.id)))]
        every = await view.fetch(*articles.tags_statement(ids))
        expected = sorted((row.article_id, row.tag) for row in every)
        assert expected
        for count in (1, LISTED_KEYS, LISTED_KEYS + 1, 3 * LISTED_KEYS):
            keys = [ids[i % len(ids)] if i % 2 else f"art_missing{i}" for i in range(count)]
            found = await view.fetch(*articles.tags_statement(keys))
            assert sorted((row.article_id, row.tag) for row in found) == [
                pair for pair in expected if pair[0] in set(keys)
            ]


async def test_a_snapshot_is_one_read_only_state_from_its_first_read(seeded: AsyncEngine) -> None:
    """Begun before its first statement, as REPEATABLE READ and READ ONLY: what a commit changes after that
    is not seen, and a write inside it is refused (PostgreSQL); SQLite's read connection is read-only."""
    async with opened(seeded) as view:
        before = [row.title for row in await view.fetch(TITLES)]
        async with seeded.begin() as connection:
            await connection.execute(update(Article).values(title="Changed meanwhile"))
        assert [row.title for row in await view.fetch(TITLES)] == before
        if seeded.dialect.name == "postgresql":
            settings = text(
                "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
            )
            assert tuple((await view.fetch(settings))[0]) == ("repeatable read", "on")
        with pytest.raises(DBAPIError):
            await view.fetch(update(Article).values(title="Written in a read"))


async def test_a_read_of_its_own_runs_on_the_driver_with_no_transaction(seeded: AsyncEngine) -> None:
    """`read_once` (a kept answer's version check): the rows SQLAlchemy would give, none of its statements
    and no BEGIN; a pooled connection lost meanwhile is SQLAlchemy's to report (invalidated, as it would
    be), and the next read works on a new one."""
    executed: list[str] = []
    listener = lambda *args: executed.append(args[2])  # noqa: E731  # before_cursor_execute's statement
    begun: list[object] = []
    began = begun.append
    event.listen(seeded.sync_engine, "before_cursor_execute", listener)
    event.listen(seeded.sync_engine, "begin", began)
    try:
        rows = await read_once(seeded, TITLES)
    finally:
        event.remove(seeded.sync_engine, "before_cursor_execute", listener)
        event.remove(seeded.sync_engine, "begin", began)
    async with seeded.connect() as connection:
        assert [tuple(row) for row in rows] == [tuple(row) for row in await connection.execute(TITLES)]
    if seeded.dialect.name != "postgresql":
        return  # SQLite's reads are on sqlite3 connections of their own (tests above)
    assert (executed, begun) == ([], [])
    async with seeded.connect() as connection:  # the pool's connection, lost under it
        driver: Any = (await connection.get_raw_connection()).driver_connection
        driver.terminate()
    with pytest.raises(DBAPIError) as lost:
        await read_once(seeded, TITLES)
    assert lost.value.connection_invalidated
    assert len(await read_once(seeded, TITLES)) == len(rows)


async def test_a_snapshot_runs_its_reads_on_the_driver_itself(seeded: AsyncEngine) -> None:
    """SQLite's on sqlite3; PostgreSQL's on the asyncpg connection, in the transaction SQLAlchemy's adapter
    began (no statement through SQLAlchemy at all): the same rows (read by attribute, as SQLAlchemy's are),
    keys as one array parameter, and one snapshot throughout."""
    executed: list[str] = []
    listener = lambda *args: executed.append(args[2])  # noqa: E731  # before_cursor_execute's statement
    event.listen(seeded.sync_engine, "before_cursor_execute", listener)
    ids = select(col(Article.id)).order_by(col(Article.id))
    try:
        async with opened(seeded) as view:
            first = await view.fetch(TITLES)
            keys = [row.id for row in await view.fetch(ids)]
            tags = await view.fetch(*articles.tags_statement(keys))
            async with seeded.begin() as connection:
                await connection.execute(update(Article).values(title="Changed meanwhile"))
            again = await view.fetch(TITLES)
    finally:
        event.remove(seeded.sync_engine, "before_cursor_execute", listener)
    assert [row.title for row in again] == [row.title for row in first]
    async with seeded.connect() as connection:
        tagged = select(col(ArticleTag.article_id), col(ArticleTag.tag)).order_by(
            col(ArticleTag.article_id), col(ArticleTag.position)
        )
        assert [tuple(row) for row in tags] == [tuple(row) for row in await connection.execute(tagged)]
    assert [sql for sql in executed if sql.lstrip().upper().startswith("SELECT")] == []
