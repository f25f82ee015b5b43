"""The change log behind the `changes` feed: one event per change, in a strictly increasing sequence.

An event is `public` when the public could see its item before or after the change; only those reach a
reader's feed, so a draft's life never shows there while unpublishing one that was seen does. A scheduled
article becomes visible with no write at all: `record_due_publications` gives it its public event on the
first feed read or webhook worker tick after its publishedAt.

Every event also queues its webhook deliveries in the same transaction (`outbox.enqueue`): CONTENT_CHANGED,
and the article events a row carries (`outbox.article_events`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, insert, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import outbox
from cms.content.categories import CategoryTree
from cms.content.documents import author_document, category_document, content_hash, source_document
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.reads import NOW, Read
from cms.content.roles import Viewer
from cms.content.visibility import author_email_visible
from cms.models import Article, ArticleStatus, ChangeEvent, table_of

Row = dict[str, Any]
EVENTS: Table = table_of(ChangeEvent)
ARTICLE: Table = table_of(Article)
SEQUENCE_LOCK = 7_212_001
"""PostgreSQL advisory lock held from an event's insert to its commit. Sequence numbers are drawn in commit
order only if writers take turns: else a feed reader could pass 11 before 10 commits, and never see 10."""


def event(
    typename: str,
    id: str,
    *,
    now: datetime,
    actor: str,
    action: str = "UPSERT",
    public: bool = True,
    webhook_events: Sequence[outbox.Event] = (),
) -> Row:
    return {
        "action": action,
        "typename": typename,
        "entity_id": id,
        "occurred_at": now,
        "actor": actor,
        "public": public,
        outbox.WEBHOOK_EVENTS: tuple(webhook_events),
    }


def scheduled(status: str, published_at: datetime | None, now: datetime) -> bool:
    """PUBLISHED with a publishedAt still ahead: the public sees it then, with no write to tell the feed."""
    return status == ArticleStatus.PUBLISHED.value and published_at is not None and published_at > now


async def append(session: AsyncSession, rows: list[Row]) -> None:
    """Insert events in the caller's transaction, in turn with every other writer (see SEQUENCE_LOCK), and
    queue their webhook deliveries in it: a write that rolls back sends nothing."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCE_LOCK})
    logged = [{k: v for k, v in row.items() if k != outbox.WEBHOOK_EVENTS} for row in rows]
    await session.execute(insert(EVENTS), logged)
    await outbox.enqueue(session, rows)


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
    await append(
        session,
        [
            event(
                "Article",
                row["id"],
                now=now,
                actor="schedule",
                webhook_events=outbox.article_events({**row, "publish_pending": True}, row, now=now),
            )
            for row in published
        ],
    )
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


@dataclass(frozen=True)
class FeedEvent:
    """One event of a caller's feed, with its item as the caller may see it now (None: it may not, or the
    item is gone)."""

    sequence: int
    typename: str
    id: str
    occurred_at: datetime
    item: Any = None

    @property
    def action(self) -> str:
        """UPSERT with the item as it is now while the caller can see it, else DELETE (see the module)."""
        return "DELETE" if self.item is None else "UPSERT"

    def content_hash(self, *, viewer: Viewer, tree: CategoryTree | None) -> str | None:
        """The item's fingerprint as `viewer` may see it, for UPSERT: an article's stored hash, else the hash
        of its canonical document less what the viewer may not read (an author's email). A category's
        document names its parent by slug, found in `tree`."""
        row = self.item
        if row is None:
            return None
        match self.typename:
            case "Article":
                return row.content_hash
            case "Author":
                hidden = {} if author_email_visible(viewer) else {"email": None}
                return content_hash(author_document(row._mapping) | hidden)
            case "Source":
                return content_hash(source_document(row._mapping))
        assert tree is not None, "a category's hash names its parent: read the tree"
        parent = tree.by_id.get(row.parent_id)
        earlier = tree.previous_of.get(row.id, [])
        document = category_document(
            row._mapping, parent=parent.slug if parent else None, previous_slugs=earlier
        )
        return content_hash(document)


@dataclass(frozen=True)
class FeedPage:
    """One page of a caller's feed: its events, the cursor to pass as `since` next, whether more follow."""

    events: list[FeedEvent]
    cursor: str
    has_more: bool

    @classmethod
    def of(cls, rows: Sequence[Any], page: PageRequest, since: str | None) -> FeedPage:
        """The page of `feed_statement`'s rows (less the one read to learn whether more exist); an empty page
        keeps the caller's cursor, so polling an idle feed never moves backwards."""
        kept = rows[: page.size]
        events = [FeedEvent(r.sequence, r.typename, r.entity_id, r.occurred_at) for r in kept]
        cursor = feed_cursor(kept[-1].sequence) if kept else since or feed_cursor(0)
        return cls(events, cursor, len(rows) > page.size)

    def wanted(self) -> dict[str, list[str]]:
        """The ids of the page's items by type, each once: they are read in one batch per type."""
        ids: dict[str, dict[str, None]] = {}
        for event in self.events:
            ids.setdefault(event.typename, {})[event.id] = None
        return {typename: list(found) for typename, found in ids.items()}

    def seen(self, items: Mapping[tuple[str, str], Any]) -> FeedPage:
        """This page with each event's item as the caller may see it now, keyed (typename, id); an event
        whose item is not among them is a DELETE."""
        events = [replace(event, item=items.get((event.typename, event.id))) for event in self.events]
        return replace(self, events=events)
