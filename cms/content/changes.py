"""The change log behind the `changes` feed: one event per change, in a strictly increasing sequence.

An event is `public` when the public could see its item before or after the change; only those reach a
reader's feed, so a draft's life never shows there while unpublishing one that was seen does. A scheduled
article becomes visible with no write at all: `record_due_publications` gives it its public event on the
first feed read or webhook worker tick after its publishedAt.

Every event also queues its webhook deliveries in the same transaction (`webhooks.enqueue`): CONTENT_CHANGED,
and the article events a row carries (`webhooks.article_events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, insert, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import webhooks
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.reads import NOW, Read
from cms.models import Article, ArticleStatus, ChangeEvent

Row = dict[str, Any]
EVENTS: Table = ChangeEvent.__table__  # type: ignore[attr-defined]
ARTICLE: Table = Article.__table__  # type: ignore[attr-defined]
SEQUENCE_LOCK = 7_212_001
"""PostgreSQL advisory lock held from an event's insert to its commit. Sequence numbers are drawn in commit
order only if writers take turns: else a feed reader could pass 11 before 10 commits, and never see 10."""
WEBHOOK_EVENTS = "webhook_events"
"""The key of a row's own webhook events: queued with it, never stored in the log."""


def event(
    typename: str,
    id: str,
    *,
    now: datetime,
    actor: str,
    action: str = "UPSERT",
    public: bool = True,
    webhook_events: Sequence[webhooks.Event] = (),
) -> Row:
    return {
        "action": action, "typename": typename, "entity_id": id, "occurred_at": now, "actor": actor,
        "public": public, WEBHOOK_EVENTS: tuple(webhook_events),
    }  # fmt: skip


def scheduled(status: str, published_at: datetime | None, now: datetime) -> bool:
    """PUBLISHED with a publishedAt still ahead: the public sees it then, with no write to tell the feed."""
    return status == ArticleStatus.PUBLISHED.value and published_at is not None and published_at > now


async def append(session: AsyncSession, rows: list[Row]) -> None:
    """Insert events in the caller's transaction, in turn with every other writer (see SEQUENCE_LOCK), and
    queue their webhook deliveries in it: a write that rolls back sends nothing."""
    if not rows:
        return
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCE_LOCK})
    logged = [{k: v for k, v in row.items() if k != WEBHOOK_EVENTS} for row in rows]
    await session.execute(insert(EVENTS), logged)
    await webhooks.enqueue(session, rows)


async def record_due_publications(session: AsyncSession, *, now: datetime) -> int:
    """Give every scheduled article whose publishedAt has passed its public UPSERT and its webhook events,
    once: the flag is cleared by the same UPDATE that finds it, so two processes doing this at once record it
    once."""
    due = (
        update(ARTICLE)
        .where(ARTICLE.c.publish_pending.is_(True), ARTICLE.c.published_at <= now)
        .values(publish_pending=False)
        .returning(ARTICLE.c.id, ARTICLE.c.status, ARTICLE.c.published_at, ARTICLE.c.publish_pending)
    )
    published = [dict(row) for row in (await session.execute(due)).mappings()]
    await append(session, [
        event("Article", row["id"], now=now, actor="schedule",
              webhook_events=webhooks.article_events({**row, "publish_pending": True}, row, now=now))
        for row in published
    ])  # fmt: skip
    return len(published)


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
