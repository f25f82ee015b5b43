"""Heavy documents take turns, so that a few callers' broad searches cannot take a process from everyone.

Where reads run on the event loop (SQLite), a request's execution holds the process for as long as it runs;
a document whose last run took `HEAVY` or more (a search over a whole archive, a deep list) waits for its
turn, one at a time per process, and every lighter request is served in between. A document is judged by
its own last run, not by its cost figure, which cannot tell a broad search from a narrow one. On PostgreSQL
the work of a statement is the server's, in its own processes, and a request awaits it: nothing waits here
(its statement timeout and the cost limit bound it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from time import perf_counter
from weakref import WeakKeyDictionary

from cms.graphql.documents import Prepared

HEAVY = 0.002
"""Seconds of execution that make a document heavy: a page of cards takes well under a millisecond."""
AT_ONCE = 1
"""Heavy requests executing at once in a process: the loop's core is everyone's, a heavy read that moves
to a worker thread (`cms.deadlines`) takes the other."""


class Turns:
    """`async with turns(document) as heavy:` around a request's execution; a heavy one's statements go to
    a worker thread from their start (`Context.take_off_loop`): its time on the loop is what others wait."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._took: WeakKeyDictionary[Prepared, float] = WeakKeyDictionary()
        self._heavy = asyncio.Semaphore(AT_ONCE)

    def heavy(self, document: Prepared) -> bool:
        return self._took.get(document, 0.0) >= HEAVY

    @contextlib.asynccontextmanager
    async def __call__(self, document: Prepared) -> AsyncIterator[bool]:
        if not self.enabled:
            yield False
            return
        heavy = self.heavy(document)
        async with self._heavy if heavy else contextlib.nullcontext():
            started = perf_counter()  # after its turn came: waiting is not what it costs
            try:
                yield heavy
            finally:
                self._took[document] = perf_counter() - started
