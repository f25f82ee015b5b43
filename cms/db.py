"""Engine construction and the differences between SQLite and PostgreSQL that live below `content`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Executable, Row, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

READERS = 16
"""Pooled SQLite read connections kept open; more open when more requests read at once: none ever waits."""


def create_engine(async_url: str, **kwargs: Any) -> AsyncEngine:
    """The async engine that writes (and serves PostgreSQL's reads). SQLite gets WAL, enforced foreign keys
    and a busy timeout on every connection, and transactions that take the write lock when they begin: a
    deferred one that reads first fails at once (SQLITE_BUSY) if another writer commits before it writes."""
    engine = create_async_engine(async_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_writer)
        event.listen(
            engine.sync_engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE")
        )
    return engine


class Snapshot(Protocol):
    """One request's reads: one connection and one consistent view of the database, from the first read to
    `close`, so a page never mixes states of two commits."""

    async def fetch(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]: ...

    async def close(self) -> None: ...


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Open a read-only snapshot. SQLite reads run on a plain synchronous connection on the event loop: its
    statements take microseconds, and the async driver's thread hops cost about 0.5 ms each. PostgreSQL reads
    run on the async engine in a REPEATABLE READ, READ ONLY transaction."""
    reader = _reader(engine)
    if reader is not None:
        return _SqliteSnapshot(reader.connect())
    connection = await engine.connect()
    await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return _AsyncSnapshot(connection)


class StatementCounter:
    """Counts the SQL statements run for an engine, its reads included, while active (tests and `bench/`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        reader = _reader(engine)
        self.engines = [engine.sync_engine] if reader is None else [engine.sync_engine, reader]
        self.count = 0

    def _count(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_: Any) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._count)


class _SqliteSnapshot:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    async def fetch(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        return self.connection.execute(statement, values).all()

    async def close(self) -> None:
        self.connection.close()


class _AsyncSnapshot:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def fetch(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        return (await self.connection.execute(statement, values)).all()

    async def close(self) -> None:
        await self.connection.close()


_readers: WeakKeyDictionary[AsyncEngine, Engine | None] = WeakKeyDictionary()


def _reader(engine: AsyncEngine) -> Engine | None:
    """The synchronous read engine of a SQLite file database, made once per async engine and disposed with it;
    None for PostgreSQL and in-memory SQLite (a second engine would see another database)."""
    if engine not in _readers:
        url = engine.url
        on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        _readers[engine] = _sqlite_reader(url.set(drivername="sqlite")) if on_file else None
        if (reader := _readers[engine]) is not None:
            event.listen(engine.sync_engine, "engine_disposed", lambda _engine: reader.dispose())
    return _readers[engine]


def _sqlite_reader(url: Any) -> Engine:
    """A pool that never waits (a wait would block the event loop), connections that may only read, and an
    explicit deferred BEGIN so a request's statements share one snapshot (pysqlite opens none for SELECT)."""
    reader = create_sync_engine(url, poolclass=QueuePool, pool_size=READERS, max_overflow=-1)
    event.listen(reader, "connect", _read_only)
    event.listen(reader, "begin", lambda connection: connection.connection.driver_connection.execute("BEGIN"))
    return reader


def _read_only(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.execute("PRAGMA query_only=ON")
    dbapi_connection.isolation_level = None  # transactions are ours: the "begin" listener opens them


def _sqlite_writer(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    dbapi_connection.isolation_level = None  # transactions are ours: the "begin" listener opens them


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def analyze(engine: AsyncEngine) -> None:
    """Refresh the planner's statistics after a bulk change. Without them SQLite guesses, and may walk the
    (status, published_at) index for a lookup that the translation-group index answers in one step."""
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA analysis_limit=1000")  # sampled: milliseconds
        await connection.exec_driver_sql("ANALYZE")
