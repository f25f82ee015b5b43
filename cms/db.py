"""Engine construction and the differences between SQLite and PostgreSQL that live below `content`."""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import ClauseElement, Connection, Engine, Executable, Row, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from cms.lru import LRU
from cms.settings import SQLITE_MMAP_MIB

MIB = 1 << 20
READERS = 16
"""Pooled SQLite read connections kept open; more open when more requests read at once: none ever waits."""
PREPARED_CACHED = 1000
"""Statements kept compiled by their SQLAlchemy cache key (a filter's shape, an order, a page direction)."""
KEYS = "keys"
"""The parameter that carries a list of keys (`content.reads.in_keys`)."""
SQLITE_KEYS = "IN (SELECT value FROM json_each(?))"
"""How SQLite reads it: one statement text whatever the number of keys."""
LISTED_KEYS = 32
"""Up to this many keys are listed in the statement's text instead (a text per count, cached)."""


def create_engine(async_url: str, *, sqlite_mmap_mib: int = SQLITE_MMAP_MIB, **kwargs: Any) -> AsyncEngine:
    """The async engine that writes (and serves PostgreSQL's reads). SQLite gets WAL, enforced foreign keys
    and a busy timeout on every connection, and transactions that take the write lock when they begin: a
    deferred one that reads first fails at once (SQLITE_BUSY) if another writer commits before it writes.
    Its read connections map `sqlite_mmap_mib` of the file (`Settings.sqlite_mmap_mib`)."""
    engine = create_async_engine(async_url, **kwargs)
    if engine.dialect.name == "sqlite":
        _mapped[engine] = sqlite_mmap_mib
        event.listen(engine.sync_engine, "connect", _sqlite_writer)
        event.listen(
            engine.sync_engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE")
        )
    return engine


class Snapshot(Protocol):
    """One request's reads: one connection and one consistent view of the database, from the first read to
    `close`, so a page never mixes states of two commits. `on_loop`: its statements run to their end without
    giving the event loop a turn, so no other statement can start in the middle of one."""

    on_loop: bool

    async def fetch(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]: ...

    async def close(self) -> None: ...


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Open a read-only snapshot. SQLite reads run on a plain synchronous connection on the event loop: its
    statements take microseconds, and the async driver's thread hops cost about 0.5 ms each. PostgreSQL reads
    run on the async engine in a REPEATABLE READ, READ ONLY transaction."""
    readers = _reader(engine)
    if readers is not None:
        return _SqliteSnapshot(readers)
    connection = await engine.connect()
    await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return _AsyncSnapshot(connection)


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled once: its text, how to make its parameters, and its rows' type."""

    sql: str
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    row: type
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    compiled: Any
    _listed: dict[int, str] = field(default_factory=dict)

    def statement(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """Its text and parameters for these values. A few keys (`KEYS` parameters) are listed in the text,
        `IN (?, ?)`: json_each costs about 10 us a statement, a third of a one-article read."""
        listed, params = 0, []
        for name, default, process in self.binds:
            value = values.get(name, default)
            if name == KEYS and value is not None and 0 < len(value) <= LISTED_KEYS:
                listed = len(value)
                params.extend(value)
            else:
                params.append(process(value) if process else value)
        return (self._listed_sql(listed) if listed else self.sql), params

    def _listed_sql(self, count: int) -> str:
        if count not in self._listed:
            self._listed[count] = self.sql.replace(SQLITE_KEYS, f"IN ({', '.join('?' * count)})")
        return self._listed[count]

    def rows(self, raw: list[tuple[Any, ...]]) -> list[Any]:
        row, new = self.row, tuple.__new__  # a third cheaper than `_make`, whose length check SQL makes moot
        if not self.processors:
            return [new(row, values) for values in raw]
        converted: list[Any] = []
        for values in raw:
            made = list(values)
            for index, process in self.processors:
                made[index] = process(made[index])
            converted.append(new(row, made))
        return converted


_by_statement: WeakKeyDictionary[Any, tuple[_Prepared, Mapping[str, Any]] | None] = WeakKeyDictionary()
_by_cache_key: LRU[Any, _Prepared | None] = LRU(PREPARED_CACHED)
_raw_counters: list[Callable[[], None]] = []


def _prepared(
    statement: Executable, values: Mapping[str, Any] | None, dialect: Any
) -> tuple[_Prepared, Mapping[str, Any]] | None:
    """The statement compiled for SQLite once, and its parameters' values (`values` over its own); None when
    it must run through SQLAlchemy. Statements of one shape (SQLAlchemy's cache key: a filter's shape, an
    order, a page direction) share one compiled text, and each keeps its own values; a statement built once
    and run many times (`content.reads`) is found again by identity, without even a cache key to make."""
    found = _by_statement.get(statement, _MISSING)
    if found is _MISSING:
        found = _by_statement[statement] = _prepare(statement, dialect)
    if found is None:
        return None
    prepared, own = found
    return prepared, ({**own, **values} if values else own)


def _prepare(statement: Executable, dialect: Any) -> tuple[_Prepared, Mapping[str, Any]] | None:
    key = statement._generate_cache_key()  # type: ignore[attr-defined]
    if key is None:  # compiled for itself: its parameters' defaults are its values
        prepared = _compiled(statement, dialect, None)
        return (prepared, {}) if prepared else None
    prepared = _by_cache_key.get(key.key, _MISSING)
    if prepared is _MISSING:
        prepared = _by_cache_key[key.key] = _compiled(statement, dialect, key)
    if prepared is None:
        return None
    own = prepared.compiled.construct_params(extracted_parameters=key.bindparams, _check=False)
    return prepared, own  # values a call gives come on top: parameters without a value have none yet


_MISSING: Any = object()


def _compiled(statement: Executable, dialect: Any, key: Any) -> _Prepared | None:
    """None when the columns cannot name a row's fields, it names no columns (text), or its text depends
    on its values (an expanding IN)."""
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect, cache_key=key)
    names = [entry[0] for entry in compiled._result_columns]
    nameable = all(n.isidentifier() and not n.startswith("_") for n in names)
    fixed_text = not compiled.post_compile_params and not compiled.literal_execute_params
    if not (names and len(set(names)) == len(names) and nameable and fixed_text):
        return None
    binds = tuple(
        (
            name,
            compiled.binds[name].effective_value,
            compiled.binds[name].type._cached_bind_processor(dialect),
        )
        for name in compiled.positiontup
    )
    processors = tuple(
        (index, process)
        for index, entry in enumerate(compiled._result_columns)
        if (process := entry[3]._cached_result_processor(dialect, None)) is not None
    )
    return _Prepared(compiled.string, binds, _row_type(tuple(names)), processors, compiled)


def _row_type(names: tuple[str, ...]) -> type:
    """A named tuple that reads as SQLAlchemy's rows are read: by attribute, by index, and `_mapping`."""
    base = namedtuple("Row", names)  # type: ignore[misc]  # noqa: PYI024

    class PreparedRow(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(self._fields, self, strict=True))

    return PreparedRow


class StatementCounter:
    """Counts the SQL statements run for an engine, its reads included, while active (tests and `bench/`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        readers = _reader(engine)
        self.engines = [engine.sync_engine] if readers is None else [engine.sync_engine, readers.engine]
        self.count = 0

    def _count(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._count)
        _raw_counters.append(self._count)
        return self

    def __exit__(self, *_: Any) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._count)
        _raw_counters.remove(self._count)


async def read_once(engine: AsyncEngine, statement: Executable) -> Sequence[Any]:
    """One read statement with no parameters, on its own: a statement outside a transaction sees one
    state of the database, so it needs no snapshot (on SQLite a read connection, no BEGIN)."""
    readers = _reader(engine)
    if readers is None:
        async with engine.connect() as connection:
            return (await connection.execute(statement)).all()
    pooled = readers.take()
    try:
        found = _prepared(statement, None, readers.engine.dialect)
        assert found is not None, "a plain SELECT prepares"
        for count in _raw_counters:
            count()
        prepared, given = found
        raw = pooled.driver_connection
        assert raw is not None
        return prepared.rows(raw.execute(*prepared.statement(given)).fetchall())
    finally:
        readers.give(pooled)


class _SqliteSnapshot:
    """Its transaction begins at once (SQLite takes the snapshot at the first read). Statements are compiled
    once (`_prepared`) and run on the sqlite3 connection itself, rows made as named tuples: about 5 us a
    statement where SQLAlchemy's execution costs about 40, and a page of 20 articles 0.4 ms instead of 1.3."""

    on_loop = True

    def __init__(self, readers: _Readers) -> None:
        self.readers = readers
        self.pooled = readers.take()
        raw = self.pooled.driver_connection
        assert raw is not None, "a pooled sqlite3 connection"
        self.raw: sqlite3.Connection = raw
        self.raw.execute("BEGIN")
        self._sqlalchemy: Connection | None = None

    async def fetch(self, statement: Executable, values: Mapping[str, Any] | None = None) -> Sequence[Any]:
        found = _prepared(statement, values, self.readers.engine.dialect)
        if found is None:
            return self._connection().execute(statement, values).all()
        for count in _raw_counters:
            count()
        prepared, given = found
        return prepared.rows(self.raw.execute(*prepared.statement(given)).fetchall())

    def _connection(self) -> Connection:
        """SQLAlchemy's, on this connection and in this snapshot, for what only it runs (an expanding IN, a
        write that must fail): its "begin" finds the snapshot's transaction already open."""
        if self._sqlalchemy is None:
            self._sqlalchemy = Connection(self.readers.engine, self.pooled)
        return self._sqlalchemy

    async def close(self) -> None:
        self.raw.rollback()  # the snapshot ends, and with it any transaction SQLAlchemy began on it
        self.readers.give(self.pooled)


class _AsyncSnapshot:
    on_loop = False

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def fetch(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        return (await self.connection.execute(statement, values)).all()

    async def close(self) -> None:
        await self.connection.close()


class _Readers:
    """A SQLite file's read connections. They stay checked out of the read engine's pool between snapshots,
    the last given back taken first (its page cache is warm): a checkout, SQLAlchemy's Connection and its
    transaction cost a seventh of a planned article page."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.idle: list[PoolProxiedConnection] = []

    def take(self) -> PoolProxiedConnection:
        return self.idle.pop() if self.idle else self.engine.raw_connection()

    def give(self, connection: PoolProxiedConnection) -> None:
        if len(self.idle) < READERS:
            self.idle.append(connection)
        else:
            connection.close()

    def dispose(self) -> None:
        while self.idle:
            self.idle.pop().close()
        self.engine.dispose()


def reads_on_loop(engine: AsyncEngine) -> bool:
    """Whether this engine's snapshots run their statements on the loop (`Snapshot.on_loop`): a read of
    several statements then runs to its end with no other coroutine in between."""
    return _reader(engine) is not None


_readers: WeakKeyDictionary[AsyncEngine, _Readers | None] = WeakKeyDictionary()
_mapped: WeakKeyDictionary[AsyncEngine, int] = WeakKeyDictionary()


def _reader(engine: AsyncEngine) -> _Readers | None:
    """The synchronous read connections of a SQLite file database, made once per async engine and disposed
    with it; None for PostgreSQL and in-memory SQLite (a second engine would see another database)."""
    try:
        return _readers[engine]
    except KeyError:
        url = engine.url
        on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        mapped = _mapped.get(engine, SQLITE_MMAP_MIB)
        _readers[engine] = _Readers(_sqlite_reader(url.set(drivername="sqlite"), mapped)) if on_file else None
        if (readers := _readers[engine]) is not None:
            event.listen(engine.sync_engine, "engine_disposed", lambda _engine: readers.dispose())
        return readers


def _sqlite_reader(url: Any, mapped_mib: int) -> Engine:
    """A pool that never waits (a wait would block the event loop), connections that may only read, and an
    explicit deferred BEGIN so a request's statements share one snapshot (pysqlite opens none for SELECT).
    Last in, first out: the connection most recently used, whose page cache is warm, serves the next read."""
    reader = create_sync_engine(
        url,
        poolclass=QueuePool,
        pool_size=READERS,
        max_overflow=-1,
        pool_use_lifo=True,
        json_deserializer=orjson.loads,  # reads only: what it returns is what json.loads does, faster
        connect_args={"cached_statements": PREPARED_CACHED},  # sqlite3's own: one per text, 128 by default
    )
    event.listen(reader, "connect", lambda connection, record: _read_only(connection, mapped_mib))
    event.listen(reader, "begin", _begin_read)
    return reader


def _begin_read(connection: Connection) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None, "a pooled sqlite3 connection"
    if not raw.in_transaction:  # a snapshot opens its transaction itself (`_SqliteSnapshot`)
        raw.execute("BEGIN")


def _read_only(dbapi_connection: Any, mapped_mib: int) -> None:
    _sqlite_pragmas(dbapi_connection)
    dbapi_connection.execute("PRAGMA query_only=ON")
    dbapi_connection.execute(f"PRAGMA mmap_size={int(mapped_mib) * MIB}")
    dbapi_connection.isolation_level = None  # transactions are ours: the "begin" listener opens them


def _sqlite_writer(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection)
    dbapi_connection.isolation_level = None  # transactions are ours: the "begin" listener opens them


def _sqlite_pragmas(dbapi_connection: Any) -> None:
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
