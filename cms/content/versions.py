"""What the public sees is a function of the content and of the clock. The content version names the first
(a token that triggers change with every content write, in its transaction: migration 0011; on PostgreSQL
once a transaction, 0017); the next scheduled instant says how long the second holds. Together they say
whether an answer kept is still the answer: the response cache, ETags and cache lifetimes are built on
them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, select, table, true
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.content.reads import NOW, Read
from cms.content.visibility import next_public_change
from cms.db import read_in_place, read_once
from cms.lru import LRU

_CONTENT, _TREE = table("content_version", column("token")), table("category_version", column("token"))
TOKEN = Read(select(_CONTENT.c.token), {})
TOKENS = Read(
    select(_CONTENT.c.token, _TREE.c.token.label("tree")).select_from(_CONTENT.join(_TREE, true())), {}
)
"""The content's token and the category tree's (`categories.read_tree`), in one read: a request that
needs both pays one statement."""
_NEXT = next_public_change(NOW)
TOKENS_KEPT = 64


@dataclass(frozen=True, slots=True)
class Version:
    """The content's `token` and `until`, the next instant at which the public's view of that content
    changes (None: none is scheduled)."""

    token: str
    until: datetime | None
    tree: str | None = None
    """The category tree's token in the same snapshot, when it was read with the content's."""

    def seconds_left(self, now: datetime) -> int | None:
        """Whole seconds until `until` (None if nothing is scheduled)."""
        return None if self.until is None else max(0, int((self.until - now).total_seconds()))


_untils: LRU[str, tuple[datetime | None, datetime]] = LRU(TOKENS_KEPT)
"""Per token, its next scheduled instant and the clock reading it was read at: with no write in between
(the same token), it stays the next until it passes."""


async def token(engine: AsyncEngine) -> str:
    """The token now, read on its own: one short statement, in no snapshot of its own."""
    rows = await read_once(engine, TOKEN.statement)
    found: str = rows[0].token
    return found


def token_in_place(engine: AsyncEngine) -> Callable[[], str] | None:
    """`token` as a plain call (SQLite: `db.read_in_place`), None where it must be awaited."""
    read = read_in_place(engine, TOKEN.statement)
    return None if read is None else lambda: read()[0].token


async def current(fetch: Callable[[Read], Awaitable[Sequence[Any]]], now: datetime) -> Version:
    """The version in the caller's snapshot, with the category tree's token: one short read, and a second
    once per token and instant."""
    token, tree = (await fetch(TOKENS))[0]
    kept = _untils.get(token)
    if kept is not None and kept[1] <= now and (kept[0] is None or now < kept[0]):
        return Version(token, kept[0], tree)
    until = (await fetch(Read(_NEXT, {"now": now})))[0][0]
    _untils[token] = (until, now)
    return Version(token, until, tree)
