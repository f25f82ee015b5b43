"""The change log behind the `changes` feed: one event per change, in a strictly increasing sequence.

An event is `public` when the public could see its item before or after the change; only those reach a
reader's feed, so a draft's life never shows there while unpublishing one that was seen does. A scheduled
article becomes visible with no write at all: `record_due_publications` gives it its public event on the
first feed read after its publishedAt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, insert, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.reads import NOW, Read
from cms.models import Article, ArticleStatus, ChangeEvent

Row = dict[str, Any]
EVENTS: Table = ChangeEvent.__table__  # type: ignore[attr-defined]
ARTICLE: Table = Article.__table__  # type: ignore[attr-defined]
SEQUENCE_LOCK = 7_212_001
"""PostgreSQL advisory lock held from an event's insert to its commit. Sequence numbers are drawn in commit
order only if writers take turns: else a feed reader could pass 11 before 10 commits, and never see 10."""


def event(
    typename: str, id: str, *, now: datetime, actor: str, action: str = "UPSERT", public: bool = True
) -> Row:
    return {
        "action": action, "typename": typename, "entity_id": id, "occurred_at": now, "actor": actor,
        "public": public,
    }  # fmt: skip


def scheduled(status: str, published_at: datetime | None, now: datetime) -> bool:
    """PUBLISHED with a publishedAt still ahead: the public sees it then, with no write to tell the feed."""
    return status == ArticleStatus.PUBLISHED.value and published_at is not None and published_at > now


async def append(session: AsyncSession, rows: list[Row]) -> None:
    """Insert events in the caller's transaction, in turn with every other writer (see SEQUENCE_LOCK)."""
    if not rows:
        return
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCE_LOCK})
    await session.execute(insert(EVENTS), rows)


async def record_due_publications(session: AsyncSession, *, now: datetime) -> int:
    """Give every scheduled article whose publishedAt has passed its public UPSERT, once: the flag is
    cleared by the same UPDATE that finds it, so two processes doing this at once record it once."""
    due = (
        update(ARTICLE)
        .where(ARTICLE.c.publish_pending.is_(True), ARTICLE.c.published_at <= now)
        .values(publish_pending=False)
        .returning(ARTICLE.c.id)
    )
    ids = list((await session.execute(due)).scalars())
    await append(session, [event("Article", i, now=now, actor="schedule") for i in ids])
    return len(ids)


FEED = SortKey("Changes:SEQUENCE:ASC", EVENTS.c.sequence, EVENTS.c.sequence, descending=False)
FEED_PAGE_MOST = 1000
_DUE = select(ARTICLE.c.id).where(ARTICLE.c.publish_pending.is_(True), ARTICLE.c.published_at <= NOW).limit(1)


def due(now: datetime) -> Read:
    """Whether a scheduled publication awaits its event: a cheap read before any write is taken."""
    return Read(_DUE, {"now": now})


def feed_statement(
    *, since: str | None, first: int | None, public_only: bool
) -> tuple[Select[Any], PageRequest]:
    """The events after the cursor `since` (one more than asked, to learn whether more exist); the public
    reader's feed has only the events of items it could see before or after the change."""
    page = PageRequest.of(first=first, after=since, default=100, most=FEED_PAGE_MOST)
    visible = EVENTS.c.public.is_(True) if public_only else true()
    columns = [EVENTS.c.sequence, EVENTS.c.typename, EVENTS.c.entity_id, EVENTS.c.occurred_at]
    return keyset_page(columns, sort=FEED, where=[visible], page=page), page


def feed_cursor(sequence: int) -> str:
    return FEED.cursor(sequence, sequence)
