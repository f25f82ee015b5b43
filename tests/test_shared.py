"""A read shared by the requests already waiting when it began, never by one that arrived after it began."""

from __future__ import annotations

import asyncio

import pytest

from cms.content.errors import Timeout
from cms.delivery.shared import Shared


class Reads:
    """A read that counts itself, returns its number, and (`slow`) waits for `go` before answering."""

    def __init__(self, slow: bool = False) -> None:
        self.count, self.slow = 0, slow
        self.began, self.go = asyncio.Event(), asyncio.Event()
        self.failure: BaseException | None = None

    async def __call__(self) -> int:
        self.count += 1
        number = self.count
        self.began.set()
        if self.slow:
            await self.go.wait()
        if self.failure is not None:
            raise self.failure
        return number


async def test_requests_waiting_in_one_turn_share_one_read() -> None:
    reads = Reads()
    shared = Shared(reads)
    assert await asyncio.gather(*(shared() for _ in range(20))) == [1] * 20
    assert reads.count == 1


async def test_a_request_after_the_loop_turned_reads_again() -> None:
    reads = Reads()
    shared = Shared(reads)
    assert await shared() == 1
    await asyncio.sleep(0)  # the turn in which the read began is over
    assert await shared() == 2


async def test_a_task_s_next_request_reads_again_even_in_the_same_turn() -> None:
    """An in-process caller (a test's client, an embedding app) asks its next request after the read it
    had began: it may not take it, though the loop has not turned."""
    reads = Reads()
    shared = Shared(reads)
    assert (await shared(), await shared()) == (1, 2)


async def test_a_request_arriving_while_a_slow_read_runs_does_not_take_it() -> None:
    """A read that began before a request arrived may miss a write that request was sent after: the
    request that arrives during it reads for itself."""
    reads = Reads(slow=True)
    shared = Shared(reads)
    first = asyncio.create_task(shared())
    await reads.began.wait()
    await asyncio.sleep(0)
    later = asyncio.create_task(shared())
    await asyncio.sleep(0)
    reads.go.set()
    assert (await first, await later) == (1, 2)


async def test_a_failed_read_fails_for_its_sharers_and_is_not_kept() -> None:
    reads = Reads()
    reads.failure = Timeout()
    shared = Shared(reads)
    results = await asyncio.gather(*(shared() for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, Timeout) for r in results)
    assert reads.count == 1
    reads.failure = None
    await asyncio.sleep(0)
    assert await shared() == 2


async def test_sharers_of_a_read_whose_caller_went_away_read_for_themselves() -> None:
    reads = Reads(slow=True)
    shared = Shared(reads)
    reader = asyncio.create_task(shared())
    sharer = asyncio.create_task(shared())  # queued before the read began: it may share it
    await reads.began.wait()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    reads.go.set()
    assert await sharer == 2
