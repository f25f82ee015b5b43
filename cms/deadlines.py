"""How long a statement may run: no statement past the statement timeout (`Timeout` in place of the driver's
error), and no SQLite read on the event loop for longer than `ON_LOOP` (it goes on in a worker thread). On
the loop a progress handler looks at the clock; a statement in another thread (a read moved off the loop,
SQLite's writer's in aiosqlite's thread) is interrupted from the loop at its deadline. PostgreSQL's server
keeps its own `statement_timeout` (`cms.db.create_engine`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError

from cms.content.errors import Timeout

ON_LOOP = 0.020
"""Seconds a SQLite read runs on the event loop at most. Past them it is stopped and run again from the
start in a worker thread, in the same transaction (the same snapshot), so a long statement (a broad search,
an export) never stalls the process's other requests; a read of a page takes well under a millisecond."""
STEPS_ON_LOOP = 1000
"""SQLite virtual-machine steps between two looks at the clock on the loop (about 15 us of work)."""
STOPPED_AGAIN = 0.005
"""A statement in another thread (SQLite's writer's, or a read moved off the loop) has no progress handler,
which would take the GIL every time it looked, from the loop: the loop interrupts it at its deadline
(`Stop`), and again this often (seconds) until it has stopped, in case it had not begun."""
READ_THREADS = 2
"""Worker threads for reads moved off the loop; more reads at once wait their turn (their deadline runs
meanwhile). They yield the CPU to the loop (`READ_NICENESS`), so that however many long reads callers
send, the requests the loop serves keep their core."""
SEARCHES = READ_THREADS
"""Requests that search executing at once in a process while they give way to other requests
(`GIVING_WAY`), their statements in the read threads; the others wait their turn. A search costs what its
words make it, however short each of its statements: callers sending searches nonstop would otherwise take
the loop's turns from every other request."""
GIVING_WAY = 1.0
"""Seconds after another request executed during which searches still give way to the others (`SEARCHES`);
on a process that serves only searches they run on the loop, where each costs the least."""
READ_NICENESS = 10
"""How much a worker thread's reads yield the CPU to the loop (Linux: the thread's nice value, about a
tenth of the loop's share when both want a core)."""
FOREVER = float("inf")
T = TypeVar("T")
_STOP = "cms.stop"


def timeout_message(milliseconds: int | None) -> str:
    return f"A database statement ran longer than the statement timeout ({milliseconds} ms) and was stopped"


def stop_writes(engine: Engine, timeout: float) -> None:
    """The SQLite writer's statements, each stopped at its deadline by the loop (`Stop`): they start on
    the loop, in SQLAlchemy's greenlet, and run in aiosqlite's thread."""

    def started(connection: Connection, *_: Any) -> None:
        raw = cast(Any, connection.connection.driver_connection)._conn  # aiosqlite's sqlite3 connection
        connection.connection.info[_STOP] = Stop(raw, timeout)

    def ended(connection: Connection, *_: Any) -> None:
        if (stop := connection.connection.info.pop(_STOP, None)) is not None:
            stop.cancel()

    event.listen(engine, "before_cursor_execute", started)
    event.listen(engine, "after_cursor_execute", ended)


class Stop:
    """Interrupts a SQLite statement running in another thread once `after` seconds have passed, from the
    loop, and again every `STOPPED_AGAIN` until cancelled (an interrupt that comes before the statement has
    begun finds nothing to stop)."""

    def __init__(self, connection: sqlite3.Connection, after: float) -> None:
        self.connection = connection
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_later(after, self._fire)

    def _fire(self) -> None:
        try:
            self.connection.interrupt()
        except sqlite3.ProgrammingError:  # closed meanwhile: nothing left to stop
            return
        self._timer = self._loop.call_later(STOPPED_AGAIN, self._fire)

    def cancel(self) -> None:
        self._timer.cancel()


def timed_out(context: ExceptionContext, message: str) -> Exception | None:
    """A statement a deadline stopped (SQLite: "interrupted"; PostgreSQL: query_canceled, 57014) becomes
    `Timeout` in place of the driver's error, for the edge to answer with its code."""
    with contextlib.suppress(Exception):  # a connection that is gone has no statement left to stop
        if context.connection is not None and (stop := context.connection.connection.info.pop(_STOP, None)):
            stop.cancel()
    return Timeout(message) if stopped(context.original_exception) else None


def stopped(error: BaseException) -> bool:
    """Whether a statement failed because a deadline stopped it."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    if isinstance(error, sqlite3.OperationalError):
        return str(error) == "interrupted"
    canceled = error.__cause__ if error.__cause__ is not None else error
    return getattr(canceled, "sqlstate", None) == "57014"


class ReadConnection(sqlite3.Connection):
    """A SQLite read connection whose statement on the loop stops at `deadline` (`perf_counter()` seconds):
    its progress handler looks at the clock every `STEPS_ON_LOOP` steps, and a statement past it fails
    ("interrupted"). A read transaction outlives its interrupted statement: the snapshot stays the same."""

    deadline = FOREVER
    timeout: float | None = None
    """The engine's statement timeout, in seconds."""
    on_loop = ON_LOOP
    """How long a statement may run on the loop: `ON_LOOP`, or less if the timeout is shorter."""
    texts: set[int]
    """The hashes of the distinct texts it has run (`cms.db.TEXTS_KEPT`), and their length in all (`kept`)."""
    kept = 0

    def past(self) -> bool:
        return perf_counter() > self.deadline

    def ran(self, sql: str) -> None:
        """Count a text its statement cache may now hold."""
        self.texts.add(hash(sql))
        self.kept += len(sql)

    def configure(self, timeout: float | None) -> None:
        self.texts = set()
        self.timeout = timeout
        self.on_loop = ON_LOOP if timeout is None else min(ON_LOOP, timeout)
        self.set_progress_handler(self.past, STEPS_ON_LOOP)


async def guarded(raw: ReadConnection, run: Callable[[], T]) -> T:
    """`run()`, one statement on `raw`, on the loop for `raw.on_loop` at most; past it, again from the start
    in a worker thread (`ON_LOOP`), until the statement timeout from its first start: past that, `Timeout`."""
    started = perf_counter()
    raw.deadline = started + raw.on_loop
    try:
        return run()
    except (sqlite3.OperationalError, DBAPIError) as error:
        if not stopped(error):
            raise
    finally:
        raw.deadline = FOREVER
    return await in_thread(raw, run, started)


async def in_thread(raw: ReadConnection, run: Callable[[], T], started: float) -> T:
    """The statement in a worker thread, the loop free meanwhile, stopped by the loop at its deadline
    (`Stop`). A caller cancelled meanwhile stops it, and has the connection back only once it has stopped:
    whoever uses the connection next finds it idle."""
    timeout = raw.timeout
    if timeout is not None and perf_counter() - started >= timeout:
        raise Timeout(timeout_message(round(timeout * 1000)))

    def work() -> T:
        raw.set_progress_handler(None, 0)  # looking would take the GIL from the loop (`STOPPED_AGAIN`)
        try:
            return run()
        finally:
            raw.set_progress_handler(raw.past, STEPS_ON_LOOP)

    stop = None if timeout is None else Stop(raw, started + timeout - perf_counter())
    done = asyncio.get_running_loop().run_in_executor(read_threads(), work)
    try:
        await asyncio.wait((done,))
    except asyncio.CancelledError:
        if stop is not None:
            stop.cancel()
        stop = Stop(raw, 0)  # (again until it stops: it may not have begun)
        while not done.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait((done,))
        with contextlib.suppress(Exception):
            done.result()
        raise
    finally:
        if stop is not None:
            stop.cancel()
    try:
        return done.result()
    except (sqlite3.OperationalError, DBAPIError) as error:
        if stopped(error):
            raise Timeout(timeout_message(round(timeout * 1000) if timeout else None)) from error
        raise


_threads: list[ThreadPoolExecutor] = []


def _yielding() -> None:
    """A worker thread's start: it takes the CPU only when the loop does not want it."""
    with contextlib.suppress(AttributeError, OSError):  # where threads have no priority of their own
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READ_NICENESS)


def read_threads() -> ThreadPoolExecutor:
    if not _threads:
        pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="cms-read", initializer=_yielding)
        _threads.append(pool)
    return _threads[0]
