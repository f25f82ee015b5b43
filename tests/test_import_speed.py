"""An import's cost in statements: a batch writes each table in one statement whatever its rows, so the
database's statement-level triggers (counters, content version) fire once per batch, not once per row
(asyncpg's executemany is a statement per row)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from cms import collector
from cms.content.editing import write_articles
from cms.content.records import ArticleRecord
from cms.content.search import reindex
from cms.files import importer
from cms.files.errors import ContentFileError
from tests.conftest import NOW, SEEDS


def _records(count: int, prefix: str) -> list[ArticleRecord]:
    return [
        ArticleRecord(
            title=f"{prefix} article {n}",
            body=f"Body of {prefix} {n}.",
            status="PUBLISHED",
            published_at=NOW,
            tags=["Caspian Sea", f"tag {n % 3}"],
        )
        for n in range(count)
    ]


async def _statements(engine: AsyncEngine, records: list[ArticleRecord]) -> list[tuple[str, bool]]:
    """Each statement of one write of `records`, and whether it ran as executemany."""
    executed: list[tuple[str, bool]] = []

    def listener(*args: Any) -> None:  # before_cursor_execute: (..., statement, parameters, context, many)
        executed.append((args[2], args[5]))

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await write_articles(session, records, actor="test", now=NOW)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    return executed


async def test_a_batch_costs_the_same_statements_whatever_its_articles(engine: AsyncEngine) -> None:
    few = await _statements(engine, _records(3, "few"))
    many = await _statements(engine, _records(300, "many"))
    assert len(many) == len(few)
    assert not [statement for statement, executemany in many if executemany and "article" in statement]


async def test_an_import_runs_with_the_collector_paused_and_leaves_it_as_it_was(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection would walk every record and plan of the import again and again (cms.collector)."""
    seen: list[bool] = []
    write = importer.write_articles

    async def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return await write(*args, **kwargs)

    monkeypatch.setattr(importer, "write_articles", watched)
    assert gc.isenabled()
    await importer.import_paths(engine, [SEEDS], actor="test", now=NOW)
    assert seen == [False]
    assert gc.isenabled()
    with pytest.raises(ContentFileError):
        await importer.import_paths(engine, [Path("missing.ndjson")], actor="test", now=NOW)
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled(), "a collector the caller paused stays paused"
    finally:
        gc.enable()


async def test_an_import_tunes_its_own_transaction_and_no_other(engine: AsyncEngine) -> None:
    """SQLite: statement journals in memory and a bigger page cache, set before the import's transaction
    begins and put back after; PostgreSQL: lz4 for its long texts, in its transaction alone."""
    sqlite = engine.dialect.name == "sqlite"
    settings = ["PRAGMA temp_store", "PRAGMA cache_size"] if sqlite else ["SHOW default_toast_compression"]

    async def read(session: AsyncSession | AsyncConnection) -> list[Any]:
        return [(await session.execute(text(setting))).scalar() for setting in settings]

    async with engine.connect() as connection:
        before = await read(connection)
        lz4 = not sqlite and await connection.scalar(
            text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        )
    seen: list[list[Any]] = []
    write = importer.write_articles

    async def watched(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        seen.append(await read(session))
        return await write(session, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importer, "write_articles", watched)
        await importer.import_paths(engine, [SEEDS], actor="test", now=NOW)
    if sqlite:
        assert seen == [[2, importer.SQLITE_BULK["cache_size"]]]
    else:
        assert seen == [["lz4" if lz4 else before[0]]]
    async with engine.connect() as connection:
        assert await read(connection) == before
        if lz4:
            methods = text(
                "SELECT array_agg(DISTINCT m) FROM (SELECT pg_column_compression(snapshot) FROM revision"
                " UNION ALL SELECT pg_column_compression(body) FROM article) AS c (m) WHERE m IS NOT NULL"
            )
            assert await connection.scalar(methods) == ["lz4"]


async def test_a_big_import_on_postgresql_makes_its_search_vectors_beside_its_transaction(
    engine: AsyncEngine,
) -> None:
    """PostgreSQL: a big import's vectors come from a connection of their own (`search.vectors_aside`), not
    from its transaction's statements, and are the ones those statements make. SQLite's FTS5 rows are made
    by the writer's statements, as are a small import's vectors."""
    async with importer._vectors(engine, importer.PARALLEL_FROM - 1) as few:
        assert few is None
    async with importer._vectors(engine, importer.PARALLEL_FROM) as make_vectors:
        if engine.dialect.name == "sqlite":
            assert make_vectors is None
            return
        assert make_vectors is not None
        records = [
            *_records(3, "İstanbul-Ёлка trend.az"),
            ArticleRecord(title="No tags", subtitle="Sub/title", excerpt="ex.cerpt", body="Bakı: **ıİ** ё"),
        ]
        writer: list[Any] = []
        tsvectors: list[str] = []

        def listener(*args: Any) -> None:  # before_cursor_execute: (connection, cursor, statement, ...)
            if args[0] in writer and "to_tsvector" in args[2]:
                tsvectors.append(args[2])

        async with AsyncSession(engine) as session, session.begin():
            writer.append((await session.connection()).sync_connection)
            event.listen(engine.sync_engine, "before_cursor_execute", listener)
            try:
                written = await write_articles(
                    session, records, actor="test", now=NOW, make_vectors=make_vectors
                )
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", listener)
            rows = text(
                "SELECT article_id, search_vector::text, rank_vector::text, public_at FROM article_search"
                " ORDER BY article_id"
            )
            given = (await session.execute(rows)).all()
            await reindex(session, [w.id for w in written])  # the writer's own statements
            own = (await session.execute(rows)).all()
    assert not tsvectors
    assert len(given) == len(records)
    assert given == own
