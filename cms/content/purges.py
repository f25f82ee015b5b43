"""Purges for a shared cache in front of the API (CMS_PURGE_URL, delivery.md): the surrogate keys that
committed writes made stale, sent after their commit as Varnish's xkey module takes them.

The change log is the outbox: its sequence is drawn in commit order (`changes.SEQUENCE_LOCK`), so a cursor
kept in the database (`purge_cursor`) passes no write. Each tick sends the keys of the events after the
cursor, then moves the cursor on only if no other process moved it meanwhile; a failed send is sent again
on the next tick. Two processes may send the same purge twice: purging is idempotent.

The purge URL is held to `cms.content.targets`' rule, as webhooks are: a cache on this host or its network
needs CMS_WEBHOOK_ALLOW_PRIVATE. A refused target, a redirect (never followed) or any answer but a 2xx is
a failed send, logged, and sent again on the next tick.
"""

from __future__ import annotations

import logging

import httpx
from sqlalchemy import column, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.content import keys, targets
from cms.content.changes import EVENTS
from cms.db import snapshot

log = logging.getLogger("cms.purges")
BATCH = 500
"""Events a purge covers at most."""
MOST_KEYS = 300
"""Keys one purge names at most (Varnish bounds a request header at 8 KiB); a batch naming more purges
`keys.ALL`, which every public answer carries."""
HEADER = "xkey-purge"
CURSOR = table("purge_cursor", column("sequence"))


async def purge_due(
    engine: AsyncEngine, *, client: httpx.AsyncClient, url: str, allow_private: bool = False
) -> int:
    """One tick: purge what the events after the cursor made stale, at `url` if the target rule permits it
    (or `allow_private`). Returns how many events it covered. Idle, it costs one short read and writes
    nothing."""
    reader = await snapshot(engine)
    try:
        cursor = (await reader.fetch(select(CURSOR.c.sequence)))[0].sequence
        if cursor is None:  # the first tick ever: what came before was never purged from here
            first = await reader.fetch(select(func.coalesce(func.max(EVENTS.c.sequence), 0).label("last")))
            await _move(engine, None, first[0].last)
            return 0
        rows = await reader.fetch(
            select(EVENTS.c.sequence, EVENTS.c.typename, EVENTS.c.entity_id)
            .where(EVENTS.c.sequence > cursor)
            .order_by(EVENTS.c.sequence)
            .limit(BATCH)
        )
        if not rows:  # a cursor past the log's end (a restore, a sequence reset) waits for nothing
            last = await reader.fetch(select(func.max(EVENTS.c.sequence).label("last")))
            if last[0].last is not None and last[0].last < cursor:
                await _move(engine, cursor, last[0].last)
            return 0
    finally:
        await reader.close()
    stale = keys.written((row.typename, row.entity_id) for row in rows)
    named = " ".join(stale if len(stale) <= MOST_KEYS else [keys.ALL])
    try:
        await targets.check(url, allow_private=allow_private)
    except targets.Refused as refused:
        log.warning("purge of %d events not sent, refused target: %s", len(rows), refused)
        return 0
    try:
        response = await client.request("PURGE", url, headers={HEADER: named}, follow_redirects=False)
    except httpx.HTTPError as error:
        log.warning("purge of %d events failed, to be sent again: %s", len(rows), error)
        return 0
    if not response.is_success:
        log.warning("purge of %d events answered %d, to be sent again", len(rows), response.status_code)
        return 0
    await _move(engine, cursor, rows[-1].sequence)
    return len(rows)


async def _move(engine: AsyncEngine, old: int | None, new: int) -> None:
    """Move the cursor from `old` to `new`, unless another process has moved it already."""
    where = CURSOR.c.sequence.is_(None) if old is None else CURSOR.c.sequence == old
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(update(CURSOR).where(where).values(sequence=new))
