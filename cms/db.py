"""Engine construction and the differences between SQLite and PostgreSQL that live below `content`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import namedtuple
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from time import perf_counter
from typing import Any, Protocol, TypeVar, cast
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import ClauseElement, Connection, Engine, Executable, Row, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from cms.clock import Clock
from cms.commits import Commits
from cms.content.errors import Timeout
from cms.deadlines import (
    FOREVER,
    ReadConnection,
    guarded,
    in_thread,
    stop_writes,
    stopped,
    timed_out,
    timeout_message,
)
from cms.lru import LRU
from cms.settings import SQLITE_MMAP_MIB

MIB = 1 << 20
READERS = 16
"""Pooled SQLite read connections kept open; more open when more requests read at once: none ever waits."""
PREPARED_CACHED = 1000
"""Statements kept compiled by their SQLAlchemy cache key (a filter's shape, an order, a page direction), and
by each SQLite read connection (sqlite3's own cache, one per text)."""
PREPARED_SQL = MIB
"""...and at most this much of their SQL text in all: a compiled statement and the statement it was made
from hold about 115 bytes per byte of text (1 MiB: about 115 MiB at most, reached only by a thousand shapes
of a kilobyte each, or sixty of 16 KiB). SQLAlchemy's own compiled cache, for what it runs itself (writes,
a snapshot's first statement on PostgreSQL, an expanding IN, text) is bounded the same way
(`_compiled_cache`)."""
BIG_SQL = 16 * 1024
"""A statement whose text is longer (a filter of hundreds of conditions) is compiled for each run and kept
by no cache of ours or SQLAlchemy's: one of 30 KiB holds 3.6 MiB."""
TEXTS_KEPT = 512 * 1024
"""A SQLite read connection that has run this much distinct SQL text is closed when its snapshot ends, and
another opened when one is needed: sqlite3 keeps every text it prepares (up to `PREPARED_CACHED` of them), a
prepared statement holds about 14 bytes per byte of its text (4 KiB at least), and it cannot be told to
forget one. A site's own statements come to far less: a connection is renewed only under many shapes."""
LISTED_SQL = 4096
"""A statement's texts with listed keys (`LISTED_KEYS`, 32 of them, kept) are made only for a shorter text."""
QUERY_CACHED = 500
"""SQLAlchemy's default `query_cache_size`: how many short statements its compiled cache keeps at most."""
KEYS = "keys"
"""The parameter that carries a list of keys (`content.reads.in_keys`)."""
SQLITE_KEYS = "IN (SELECT value FROM json_each(?))"
"""How SQLite reads it: one statement text whatever the number of keys."""
LISTED_KEYS = 32
"""Up to this many keys are listed in the statement's text instead (a text per count, cached)."""
REPLICA_RETRY = timedelta(seconds=5)
"""How long a read replica that could not be reached is passed over (its reads go to the next replica up,
else the primary) before it is tried again: one warning a period, and no connection attempt per request."""
REPLICA_CONNECT_TIMEOUT = 2.0
"""Seconds a new connection to a replica may take (asyncpg's own default is a minute): a host that does not
answer costs one request this wait once per `REPLICA_RETRY`."""

log = logging.getLogger("cms.db")
T = TypeVar("T")


def create_engine(
    async_url: str,
    *,
    sqlite_mmap_mib: int = SQLITE_MMAP_MIB,
    statement_timeout_ms: int | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """The async engine that writes (and serves PostgreSQL's reads). SQLite gets WAL, enforced foreign keys
    and a busy timeout on every connection, and transactions that take the write lock when they begin: a
    deferred one that reads first fails at once (SQLITE_BUSY) if another writer commits before it writes.
    Its read connections map `sqlite_mmap_mib` of the file (`Settings.sqlite_mmap_mib`).

    With `statement_timeout_ms` (`Settings.statement_timeout_ms`; the app's engine has one, migrations and
    the CLI's imports none) no statement, read or write, runs longer: it is stopped and raises `Timeout`.
    SQLite: a progress handler on every connection; PostgreSQL: the server's `statement_timeout`."""
    timeout = None if statement_timeout_ms is None else statement_timeout_ms / 1000
    if timeout is not None and make_url(async_url).get_backend_name() == "postgresql":
        connect_args = dict(kwargs.pop("connect_args", {}))
        server_settings = {
            **connect_args.get("server_settings", {}),
            "statement_timeout": str(statement_timeout_ms),
        }
        kwargs["connect_args"] = {**connect_args, "server_settings": server_settings}
    options = {"compiled_cache": _compiled_cache(), **kwargs.pop("execution_options", {})}
    engine = create_async_engine(async_url, execution_options=options, **kwargs)
    _options[engine] = (sqlite_mmap_mib, timeout)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_writer)
        event.listen(
            engine.sync_engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE")
        )
        if timeout is not None:
            stop_writes(engine.sync_engine, timeout)
    if timeout is not None:
        message = timeout_message(statement_timeout_ms)
        event.listen(engine.sync_engine, "handle_error", lambda context: timed_out(context, message))
    return engine


class Snapshot(Protocol):
    """One request's reads: one connection and one consistent view of the database, from the first read to
    `close`, so a page never mixes states of two commits. `on_loop`: its statements run on the event loop,
    to their end without giving it a turn, unless one takes longer than `deadlines.ON_LOOP` (it goes on in
    a worker thread); either way its statements take turns by themselves (none starts in another's middle)."""

    on_loop: bool

    async def fetch(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]: ...

    def leave_loop(self) -> None:
        """Its statements from now on start in a worker thread (`deadlines.READ_THREADS`), which yields the
        CPU to the loop: for a request whose statements the caller's words make costly (a search), however
        short each, so that callers sending them nonstop leave the loop to the other requests."""

    async def close(self) -> None: ...


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Open a read-only snapshot. SQLite reads run on a plain synchronous connection on the event loop: its
    statements take microseconds, and the async driver's thread hops cost about 0.5 ms each. PostgreSQL reads
    run in a REPEATABLE READ, READ ONLY transaction of the async engine (in memory, SQLite's too)."""
    readers = _reader(engine)
    if readers is not None:
        return _SqliteSnapshot(readers)
    return _AsyncSnapshot(await _repeatable_read(engine), _timed_out_message(engine))


async def _repeatable_read(engine: AsyncEngine) -> AsyncConnection:
    connection = await engine.connect()
    await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return connection


def _timed_out_message(engine: AsyncEngine) -> str:
    timeout = _options.get(engine, (SQLITE_MMAP_MIB, None))[1]
    return timeout_message(None if timeout is None else round(timeout * 1000))


Opens = Callable[[], Awaitable[Snapshot]]
"""How a request's snapshot is opened (`Replicas.reads`)."""


class Replicas:
    """Where the public's reads go (`CMS_DATABASE_REPLICA_URLS`): streaming replicas of the primary, a
    request's snapshot on each in turn, and on the primary while none can be reached. A snapshot is one
    database's state throughout, the content version's read included (`versions.current` reads it in the
    snapshot), so an answer is kept under the version of the state it was read from, however far behind the
    primary that replica is; checked against any replica's version, or the primary's, a kept answer is
    served only while that database holds the very state it was made from (a version names one state).
    Writes, and the reads that must see them, are the primary's: a request with a token, a request's reads
    after it wrote (`Context.renew`), the webhook worker. Without replicas every read is the primary's."""

    def __init__(
        self,
        primary: AsyncEngine,
        urls: Sequence[str] = (),
        *,
        clock: Clock,
        statement_timeout_ms: int | None = None,
    ) -> None:
        self.primary = primary
        self.engines = [
            create_engine(
                url,
                statement_timeout_ms=statement_timeout_ms,
                connect_args={"timeout": REPLICA_CONNECT_TIMEOUT},
            )
            for url in urls
        ]
        self.clock = clock
        self._turn = 0
        self._down: dict[AsyncEngine, datetime] = {}
        """A replica that could not be reached, and when it is tried again."""

    def reads(self) -> Opens | None:
        """How a public request's snapshot opens: on the next replica up; None (on the primary) when there
        is none."""
        replica = self._next()
        return None if replica is None else partial(self._snapshot, replica)

    async def snapshot(self) -> Snapshot:
        """A public read's snapshot (`reads`)."""
        opens = self.reads()
        return await (snapshot(self.primary) if opens is None else opens())

    async def once(self, read: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        """`read` (a read of its own, in no snapshot: a kept answer's check) on the next replica up, else, or
        if that one cannot be reached, on the primary."""
        replica = self._next()
        if replica is not None:
            try:
                return await read(replica)
            except (OSError, DBAPIError) as error:
                if not _unreachable(error):
                    raise
                self._failed(replica, error)
        return await read(self.primary)

    async def dispose(self) -> None:
        for replica in self.engines:
            await replica.dispose()

    def _next(self) -> AsyncEngine | None:
        if not self.engines:
            return None
        count = len(self.engines)
        for step in range(count):
            index = (self._turn + step) % count
            if self._up(replica := self.engines[index]):
                self._turn = index + 1
                return replica
        return None

    def _up(self, replica: AsyncEngine) -> bool:
        retry = self._down.get(replica)
        return retry is None or retry <= self.clock.now()

    async def _snapshot(self, replica: AsyncEngine) -> Snapshot:
        """A snapshot on `replica`; on the primary if it has failed since it was picked, if its connection
        cannot be made, or if the first statement finds it lost (nothing has been read yet:
        `_AsyncSnapshot.instead`)."""
        if not self._up(replica):
            return await snapshot(self.primary)
        try:
            connection = await _repeatable_read(replica)
        except (OSError, DBAPIError) as error:
            if not _unreachable(error):
                raise
            return _AsyncSnapshot(await self._primary(replica, error), _timed_out_message(self.primary))
        return _AsyncSnapshot(connection, _timed_out_message(replica), partial(self._primary, replica))

    async def _primary(self, replica: AsyncEngine, error: Exception) -> AsyncConnection:
        self._failed(replica, error)
        return await _repeatable_read(self.primary)

    def _failed(self, replica: AsyncEngine, error: Exception) -> None:
        self._down[replica] = self.clock.now() + REPLICA_RETRY
        others = "the other replicas, else the primary" if len(self.engines) > 1 else "the primary"
        log.warning(
            "read replica %s cannot be reached (%s): its reads go to %s, and it is tried again in %d s",
            replica.url.render_as_string(hide_password=True),
            str(getattr(error, "orig", None) or error) or type(error).__name__,
            others,
            REPLICA_RETRY.total_seconds(),
        )


def _unreachable(error: Exception) -> bool:
    """A database that cannot be read from at all: no connection could be made (a DBAPIError with no
    statement was raised connecting), or the connection was lost (SQLAlchemy's disconnect detection)."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or error.statement is None
    return isinstance(error, OSError)


@dataclass(eq=False)
class _Prepared:
    """A statement compiled once: its text, how to make its parameters, and its rows' type. It holds no
    statement (its compiled form does): kept by a statement, it lets the statement go. `slow`: its last run
    on SQLite took longer than `deadlines.ON_LOOP`, so the next starts in a worker thread at once (a search
    of a common word spends no 20 ms on the loop first), and one well within it there (its own time in the
    thread, not its wait for one) comes back to the loop."""

    sql: str
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    row: type
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    _listed: dict[int, str] = field(default_factory=dict)
    slow: bool = False

    def __post_init__(self) -> None:
        self.listable = SQLITE_KEYS in self.sql

    def statement(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """Its text and parameters for these values. A few keys (`KEYS` parameters) are listed in the text,
        `IN (?, ?)`: json_each costs about 10 us a statement, a third of a one-article read."""
        listed, params = 0, []
        for name, default, process in self.binds:
            value = values.get(name, default)
            if (
                name == KEYS
                and self.listable
                and value is not None
                and 0 < len(value) <= LISTED_KEYS
                and len(self.sql) < LISTED_SQL
            ):
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


def _compiled_cache() -> LRU[Any, Any]:
    """SQLAlchemy's compiled statements for an engine (its `compiled_cache`, 500 by count by default): by
    their text's length, `PREPARED_SQL` in all, and none longer than `BIG_SQL`."""

    def weight(compiled: Any) -> int:
        length = len(compiled.string)
        return PREPARED_SQL + 1 if length > BIG_SQL else max(length, PREPARED_SQL // QUERY_CACHED)

    return LRU(PREPARED_SQL, weight)


def compiled_cache(engine: AsyncEngine | Engine) -> LRU[Any, Any]:
    """The compiled statements SQLAlchemy keeps for an engine (`_compiled_cache`; tests count them)."""
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    found: LRU[Any, Any] = sync.get_execution_options()["compiled_cache"]
    return found


def _weight(entry: tuple[_Prepared, Any] | None) -> int:
    """What an entry of `_by_cache_key` counts for: its text, and never less than 1/`PREPARED_CACHED` of the
    whole, so that no more than `PREPARED_CACHED` entries are kept however short their texts."""
    return max(len(entry[0].sql) if entry is not None else 0, PREPARED_SQL // PREPARED_CACHED)


_by_statement: WeakKeyDictionary[Any, dict[str, tuple[_Prepared, Mapping[str, Any]] | None]] = (
    WeakKeyDictionary()
)
"""By the statement object (`content.reads`' statements, built once), then by dialect: kept while the
statement lives."""
_by_cache_key: LRU[Any, tuple[_Prepared, Any] | None] = LRU(PREPARED_SQL, _weight)
"""By dialect and SQLAlchemy's cache key: the statement prepared and its compiled form (which makes a
statement's values from a statement of the same shape)."""
_raw_counters: list[tuple[tuple[Engine, ...], Callable[[], None]]] = []
"""The active `StatementCounter`s: the engines each counts for, and its count."""


def _counted(engine: Engine) -> None:
    """A statement run on a driver's connection of `engine`, where no SQLAlchemy event sees it."""
    for engines, count in _raw_counters:
        if engine in engines:
            count()


def _prepared(
    statement: Executable, values: Mapping[str, Any] | None, dialect: Any
) -> tuple[_Prepared, Mapping[str, Any]] | None:
    """The statement compiled for the dialect once, and its parameters' values (`values` over its own); None
    when it must run through SQLAlchemy. Statements of one shape (SQLAlchemy's cache key: a filter's shape,
    an order, a page direction) share one compiled text, and each keeps its own values; a statement built
    once and run many times (`content.reads`) is found again by identity, without even a cache key to make."""
    by_dialect = _by_statement.get(statement)
    found = _MISSING if by_dialect is None else by_dialect.get(dialect.name, _MISSING)
    if found is _MISSING:
        found = _prepare(statement, dialect)
        if found is None or len(found[0].sql) <= BIG_SQL:
            _by_statement.setdefault(statement, {})[dialect.name] = found
    if found is None:
        return None
    prepared, own = found
    return prepared, ({**own, **values} if values else own)


def _prepare(statement: Executable, dialect: Any) -> tuple[_Prepared, Mapping[str, Any]] | None:
    key = statement._generate_cache_key()  # type: ignore[attr-defined]
    if key is None:  # compiled for itself: its parameters' defaults are its values
        made = _compiled(statement, dialect, None)
        return (made[0], {}) if made else None
    found = _by_cache_key.get((dialect.name, key.key), _MISSING)
    if found is _MISSING:
        found = _compiled(statement, dialect, key)
        if found is None or len(found[0].sql) <= BIG_SQL:  # (the LRU keeps none heavier than its size)
            _by_cache_key[dialect.name, key.key] = found
    if found is None:
        return None
    prepared, compiled = found
    own = compiled.construct_params(extracted_parameters=key.bindparams, _check=False)
    return prepared, own  # values a call gives come on top: parameters without a value have none yet


_MISSING: Any = object()


def _compiled(statement: Executable, dialect: Any, key: Any) -> tuple[_Prepared, Any] | None:
    """None when the columns cannot name a row's fields, it names no columns (text), its text depends on
    its values (an expanding IN), or a column's conversion depends on the type the database will say it
    has (asyncpg's numbers: a search's rank)."""
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
    try:
        processors = tuple(
            (index, process)
            for index, entry in enumerate(compiled._result_columns)
            if (process := entry[3]._cached_result_processor(dialect, None)) is not None
        )
    except TypeError:
        return None
    return _Prepared(compiled.string, binds, _row_type(tuple(names)), processors), compiled


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
        _raw_counters.append((tuple(self.engines), self._count))
        return self

    def __exit__(self, *_: Any) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._count)
        _raw_counters.remove((tuple(self.engines), self._count))


async def read_once(engine: AsyncEngine, statement: Executable) -> Sequence[Any]:
    """One read statement with no parameters, on its own: a statement outside a transaction sees one
    state of the database, so it needs no snapshot (on SQLite a read connection, no BEGIN; on PostgreSQL
    the asyncpg connection, with no BEGIN and no ROLLBACK either: one round trip where SQLAlchemy's
    transaction takes three). Stopped by the statement timeout, it is a `Timeout`; should asyncpg fail
    otherwise, SQLAlchemy runs it, and raises its error as it does (a lost connection invalidates the
    pool)."""
    readers = _reader(engine)
    if readers is None:
        async with engine.connect() as connection:
            dialect = connection.dialect
            found = _prepared(statement, None, dialect) if dialect.driver == "asyncpg" else None
            if found is not None:
                prepared, given = found
                sql, params = prepared.statement(given)
                raw: Any = (await connection.get_raw_connection()).driver_connection
                _counted(engine.sync_engine)
                try:
                    return prepared.rows(await raw.fetch(sql, *params))
                except Exception as error:
                    if stopped(error):
                        raise Timeout(_timed_out_message(engine)) from None
            return (await connection.execute(statement)).all()
    prepared, sql, params = _plain(readers, statement)
    pooled = readers.take()
    try:
        _counted(readers.engine)
        raw = cast(ReadConnection, pooled.driver_connection)
        if hash(sql) not in raw.texts:
            raw.ran(sql)
        return prepared.rows(await guarded(raw, lambda: raw.execute(sql, params).fetchall()))
    finally:
        readers.give(pooled)


def read_in_place(engine: AsyncEngine, statement: Executable) -> Callable[[], Sequence[Any]] | None:
    """For a SQLite file, `read_once` of a statement that reads a row or a few, as a plain call on the loop,
    compiled once, on a read connection kept for such reads: what every hit of the response cache pays, so
    no pool, no await and no worker thread (past the statement timeout it is stopped: `Timeout`). Its rows
    are read again only once the file has had a commit since they were (`cms.commits`). None for other
    databases."""
    readers = _reader(engine)
    if readers is None:
        return None
    prepared, sql, params = _plain(readers, statement)
    last: tuple[bytes, Sequence[Any]] | None = None

    def read() -> Sequence[Any]:
        nonlocal last
        raw = readers.own()
        mark = readers.commits.mark()
        if last is not None and last[0] == mark:
            return last[1]
        rows = statement_rows(raw)
        last = None if mark is None else (mark, rows)
        return rows

    def statement_rows(raw: ReadConnection) -> Sequence[Any]:
        _counted(readers.engine)
        if raw.timeout is not None:
            raw.deadline = perf_counter() + raw.timeout
        try:
            return prepared.rows(raw.execute(sql, params).fetchall())
        except sqlite3.OperationalError as error:
            if stopped(error):
                raise Timeout(timeout_message(round(cast(float, raw.timeout) * 1000))) from None
            raise
        finally:
            raw.deadline = FOREVER

    return read


def _plain(readers: _Readers, statement: Executable) -> tuple[_Prepared, str, list[Any]]:
    """A statement with no parameters of its caller's, prepared for SQLite: its text and parameters."""
    found = _prepared(statement, None, readers.engine.dialect)
    assert found is not None, "a plain SELECT prepares"
    prepared, given = found
    return (prepared, *prepared.statement(given))


class SnapshotClosed(Exception):
    """A statement that waited for its turn in a snapshot that was closed meanwhile."""


class _SqliteSnapshot:
    """Its transaction begins at once (SQLite takes the snapshot at the first read). Statements are compiled
    once (`_prepared`) and run on the sqlite3 connection itself, rows made as named tuples: about 5 us a
    statement where SQLAlchemy's execution costs about 40, and a page of 20 articles 0.4 ms instead of 1.3.
    They run on the loop; one that takes longer (`deadlines.ON_LOOP`) goes on in a worker thread (and all do,
    once it has left the loop), and the snapshot's other statements wait their turn for it (`_turns`, taken
    only then)."""

    on_loop = True

    def __init__(self, readers: _Readers) -> None:
        self.readers = readers
        self.pooled = readers.take()
        raw = self.pooled.driver_connection
        assert isinstance(raw, ReadConnection), "a pooled sqlite3 connection"
        self.raw = raw
        self.raw.execute("BEGIN")
        self._sqlalchemy: Connection | None = None
        self._turns = asyncio.Lock()
        self._timed_out: Timeout | None = None
        self._closed = False

    def leave_loop(self) -> None:
        self.on_loop = False

    async def fetch(self, statement: Executable, values: Mapping[str, Any] | None = None) -> Sequence[Any]:
        if self._turns.locked():  # one of its statements runs in a worker thread
            async with self._turns:
                return await self._fetch(statement, values, True)
        return await self._fetch(statement, values, False)

    async def _fetch(
        self, statement: Executable, values: Mapping[str, Any] | None, turn: bool
    ) -> Sequence[Any]:
        if self._closed:
            raise SnapshotClosed("the snapshot was closed while the statement waited for its turn")
        if self._timed_out is not None:  # the request has had its time
            raise self._timed_out
        raw = self.raw
        found = _prepared(statement, values, self.readers.engine.dialect)
        if found is None:

            def executed() -> Sequence[Any]:
                return self._connection().execute(statement, values).all()

            return await self._slow(executed, None if self.on_loop else perf_counter(), turn)
        _counted(self.readers.engine)
        prepared, given = found
        sql, params = prepared.statement(given)
        if hash(sql) not in raw.texts:
            raw.ran(sql)
        started = perf_counter()  # `guarded`, in place: no closure, no await for a statement on time
        if not prepared.slow and self.on_loop:
            raw.deadline = started + raw.on_loop
            try:
                return prepared.rows(raw.execute(sql, params).fetchall())
            except sqlite3.OperationalError as error:
                if not stopped(error):
                    raise
            finally:
                raw.deadline = FOREVER
            prepared.slow = True
        took: list[float] = []

        def run() -> Sequence[Any]:
            began = perf_counter()
            rows = prepared.rows(raw.execute(sql, params).fetchall())
            took.append(perf_counter() - began)
            return rows

        rows = await self._slow(run, started, turn)
        prepared.slow = not took or took[0] > raw.on_loop / 2
        return rows

    async def _slow(
        self, run: Callable[[], Sequence[Any]], started: float | None, turn: bool
    ) -> Sequence[Any]:
        """A statement stopped on the loop, or begun off it (`started`), or not tried there yet (None),
        holding the snapshot's turn while it goes on in a worker thread."""
        if not turn:
            async with self._turns:  # free: nothing came in between since `fetch` looked
                return await self._slow(run, started, True)
        try:
            return await (guarded(self.raw, run) if started is None else in_thread(self.raw, run, started))
        except Timeout as timeout:
            self._timed_out = timeout
            raise

    def _connection(self) -> Connection:
        """SQLAlchemy's, on this connection and in this snapshot, for what only it runs (an expanding IN, a
        write that must fail): its "begin" finds the snapshot's transaction already open."""
        if self._sqlalchemy is None:
            self._sqlalchemy = Connection(self.readers.engine, self.pooled)
        return self._sqlalchemy

    async def close(self) -> None:
        if self._turns.locked():  # a statement in a worker thread: the connection is given back after it
            async with self._turns:
                pass
        if self._closed:
            return
        self._closed = True
        self.raw.rollback()  # the snapshot ends, and with it any transaction SQLAlchemy began on it
        self.readers.give(self.pooled)


class _AsyncSnapshot:
    """A snapshot of the async engine. On PostgreSQL its transaction is begun on the asyncpg connection by
    SQLAlchemy's own adapter (`_begin`), with no statement, and the statements that prepare (`_prepared`)
    run on the asyncpg connection itself: SQLAlchemy's execution of a statement (its cache key, a greenlet,
    its result) costs more than the loopback round trip the statement takes; asyncpg prepares each text once
    per connection and keeps it. The rest run through SQLAlchemy, in the same transaction."""

    on_loop = False

    def leave_loop(self) -> None:
        """Its statements run in the database's server."""

    def __init__(
        self,
        connection: AsyncConnection,
        timed_out_message: str,
        instead: Callable[[Exception], Awaitable[AsyncConnection]] | None = None,
    ) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.message = timed_out_message
        self.instead = instead
        """Until the transaction has begun: the connection to begin the snapshot on instead, should this one
        turn out to be lost (a replica's: `Replicas`)."""
        self.raw: Any = None
        """The asyncpg connection, in the snapshot's transaction (None: not begun yet, or not asyncpg)."""
        self._timed_out: Timeout | None = None
        self._begins = self.dialect.driver == "asyncpg"
        """Its transaction is still to be begun on the asyncpg connection (`_begin`)."""

    async def fetch(self, statement: Executable, values: Mapping[str, Any] | None = None) -> Sequence[Any]:
        if self._timed_out is not None:  # PostgreSQL has ended the transaction: the request has had its time
            raise self._timed_out
        try:
            if self._begins:
                await self._begin()
            found = None if self.raw is None else _prepared(statement, values, self.dialect)
            if found is None:
                rows = await self._executed(statement, values)
                if self.raw is None and self.dialect.driver == "asyncpg":
                    self.raw = (await self.connection.get_raw_connection()).driver_connection
                return rows
            _counted(self.connection.sync_engine)
            prepared, given = found
            sql, params = prepared.statement(given)
            try:
                return prepared.rows(await self.raw.fetch(sql, *params))
            except Exception as error:
                if stopped(error):
                    raise Timeout(self.message) from None
                raise
        except Timeout as timeout:
            self._timed_out = timeout
            raise

    async def _executed(self, statement: Executable, values: Mapping[str, Any] | None) -> Sequence[Any]:
        """Through SQLAlchemy; the first statement on the connection `instead` gives if this one is lost."""
        instead, self.instead = self.instead, None
        try:
            return (await self.connection.execute(statement, values)).all()
        except (OSError, DBAPIError) as error:
            if instead is None or not _unreachable(error):
                raise
            await self.connection.close()
            self.connection = await instead(error)
            self.dialect = self.connection.dialect
        return (await self.connection.execute(statement, values)).all()

    async def _begin(self) -> None:
        """BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (as the execution options set it) sent by
        SQLAlchemy's adapter as it sends it before a statement, so that SQLAlchemy's statements and its
        rollback at the end know the transaction. Should it fail, the first statement goes through
        SQLAlchemy, which meets the same error and handles it as it does (a lost connection invalidates the
        pool, and the snapshot may begin on the connection `instead` gives)."""
        self._begins = False
        with contextlib.suppress(Exception):
            self.raw = await _begun(self.connection)
            self.instead = None

    async def close(self) -> None:
        await self.connection.close()


async def _begun(connection: AsyncConnection) -> Any:
    """The asyncpg connection of `connection`, its transaction begun by SQLAlchemy's adapter
    (`_start_transaction`: what the adapter runs before a statement when none has begun)."""
    fairy = await connection.get_raw_connection()
    adapter: Any = fairy.dbapi_connection
    await adapter._start_transaction()
    return fairy.driver_connection


class _Readers:
    """A SQLite file's read connections. They stay checked out of the read engine's pool between snapshots,
    the last given back taken first (its page cache is warm): a checkout, SQLAlchemy's Connection and its
    transaction cost a seventh of a planned article page."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.idle: list[PoolProxiedConnection] = []
        self._own: PoolProxiedConnection | None = None
        self._own_raw: ReadConnection | None = None
        """Its sqlite3 connection, asked for on every hit of the response cache."""
        self.commits = Commits(cast(str, engine.url.database))
        """The file's commits, looked at while `own` holds the file open."""

    def take(self) -> PoolProxiedConnection:
        return self.idle.pop() if self.idle else self.engine.raw_connection()

    def own(self) -> ReadConnection:
        """The connection `read_in_place` reads on, never in a snapshot (each of its reads is its own). A
        read at once opens the file's WAL index, which it then holds while `commits` looks at it."""
        if self._own_raw is None:
            self._own = self.engine.raw_connection()
            self._own_raw = cast(ReadConnection, self._own.driver_connection)
            self._own_raw.execute("PRAGMA schema_version").fetchall()
        return self._own_raw

    def give(self, connection: PoolProxiedConnection) -> None:
        if len(self.idle) < READERS and cast(ReadConnection, connection.driver_connection).kept < TEXTS_KEPT:
            self.idle.append(connection)
        else:
            connection.close()

    def dispose(self) -> None:
        while self.idle:
            self.idle.pop().close()
        if self._own is not None:
            self.commits.close()
            self._own.close()
            self._own = self._own_raw = None
        self.engine.dispose()


def reads_on_loop(engine: AsyncEngine) -> bool:
    """Whether this engine's snapshots run their statements on the loop (`Snapshot.on_loop`): a read of
    several statements then runs to its end with no other coroutine in between, unless one of them takes
    longer than `deadlines.ON_LOOP` (it goes on in a worker thread, and the loop serves others meanwhile)."""
    return _reader(engine) is not None


_readers: WeakKeyDictionary[AsyncEngine, _Readers | None] = WeakKeyDictionary()
_options: WeakKeyDictionary[AsyncEngine, tuple[int, float | None]] = WeakKeyDictionary()
"""An engine's `create_engine` options: its read connections' mapped MiB and its statement timeout (s)."""


def _reader(engine: AsyncEngine) -> _Readers | None:
    """The synchronous read connections of a SQLite file database, made once per async engine and disposed
    with it; None for PostgreSQL and in-memory SQLite (a second engine would see another database)."""
    try:
        return _readers[engine]
    except KeyError:
        url = engine.url
        on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        mapped, timeout = _options.get(engine, (SQLITE_MMAP_MIB, None))
        reader = _sqlite_reader(url.set(drivername="sqlite"), mapped, timeout) if on_file else None
        _readers[engine] = None if reader is None else _Readers(reader)
        if (readers := _readers[engine]) is not None:
            event.listen(engine.sync_engine, "engine_disposed", lambda _engine: readers.dispose())
        return readers


def _sqlite_reader(url: Any, mapped_mib: int, timeout: float | None) -> Engine:
    """A pool that never waits (a wait would block the event loop), connections that may only read, and an
    explicit deferred BEGIN so a request's statements share one snapshot (pysqlite opens none for SELECT).
    Last in, first out: the connection most recently used, whose page cache is warm, serves the next read.
    Connections may move to a worker thread for a long statement (`ReadConnection`, `deadlines.ON_LOOP`)."""
    reader = create_sync_engine(
        url,
        poolclass=QueuePool,
        pool_size=READERS,
        max_overflow=-1,
        pool_use_lifo=True,
        json_deserializer=orjson.loads,  # reads only: what it returns is what json.loads does, faster
        execution_options={"compiled_cache": _compiled_cache()},
        connect_args={
            "cached_statements": PREPARED_CACHED,  # sqlite3's own: one per text, 128 by default
            "factory": ReadConnection,
            "check_same_thread": False,  # used by one thread at a time: the loop's, or a worker's
        },
    )
    event.listen(reader, "connect", lambda connection, record: _read_only(connection, mapped_mib, timeout))
    event.listen(reader, "begin", _begin_read)
    event.listen(reader, "before_cursor_execute", _counted_text)
    return reader


def _counted_text(connection: Connection, cursor: Any, sql: str, *_: Any) -> None:
    """What SQLAlchemy runs on a read connection (an expanding IN: a text per number of values) counts
    towards `TEXTS_KEPT` too."""
    raw = cursor.connection
    if isinstance(raw, ReadConnection) and hash(sql) not in raw.texts:
        raw.ran(sql)


def _begin_read(connection: Connection) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None, "a pooled sqlite3 connection"
    if not raw.in_transaction:  # a snapshot opens its transaction itself (`_SqliteSnapshot`)
        raw.execute("BEGIN")


def _read_only(dbapi_connection: ReadConnection, mapped_mib: int, timeout: float | None) -> None:
    _sqlite_pragmas(dbapi_connection)
    dbapi_connection.configure(timeout)
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
