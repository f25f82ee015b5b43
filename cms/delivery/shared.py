"""One read shared by the requests that were already waiting when it began.

A kept answer is checked against the content version before it is sent (`pipeline._kept`). Under load, many
requests are ready in the same turn of the event loop; a read that begins after a request arrived sees every
write committed before that request was sent, so it can answer for all of them: the read is shared with
every request that asks before the loop gets round to a callback queued as the read began. A request that
arrives later queues its first step after that callback, finds the read forgotten, and reads again; so does
a task that has had the read already (an in-process caller's next request, asked after the read began). So
no request is ever answered from a read older than its own arrival, whichever process wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Shared(Generic[T]):
    """`read()`, shared as the module says. A read that fails fails for its sharers too (a `Timeout` is
    everyone's); one whose caller was cancelled is read again by each sharer, for itself."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._current: asyncio.Future[T] | None = None
        self._had: set[asyncio.Task[object] | None] = set()

    async def __call__(self) -> T:
        current, task = self._current, asyncio.current_task()
        if current is None or task in self._had:
            return await self._begin()
        self._had.add(task)
        if current.done() and not current.cancelled():
            return current.result()  # (raises the read's error)
        try:
            return await asyncio.shield(current)
        except asyncio.CancelledError:
            if task is not None and task.cancelling():
                raise  # cancelled itself
            return await self._begin()  # the read it waited for was its caller's, who went away

    async def _begin(self) -> T:
        loop = asyncio.get_running_loop()
        current = self._current = loop.create_future()
        self._had = {asyncio.current_task()}
        loop.call_soon(self._forget, current)  # queued as the read begins, ahead of any later arrival
        try:
            value = await self._read()
        except asyncio.CancelledError:
            self._forget(current)
            current.cancel()
            raise
        except Exception as error:
            current.set_exception(error)
            current.exception()  # retrieved: the caller raises it, sharers may be none
            raise
        current.set_result(value)
        return value

    def _forget(self, read: asyncio.Future[T]) -> None:
        if self._current is read:
            self._current, self._had = None, set()
