"""The change feed: what changed since a cursor, through the caller's eyes.

An event is an UPSERT with the item as it is now when the caller can see it now, else a DELETE: so a static
site that replays the feed from the start holds exactly what it may show, whatever happened in between.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes
from cms.content.visibility import can_preview
from cms.graphql.context import Context, Info
from cms.graphql.enums import ChangeAction
from cms.graphql.loaders import Loaders
from cms.graphql.nodes import Article, Author, Category, Node, Source, with_relations


@strawberry.type
class ChangeEvent:
    sequence: int = strawberry.field(description="Strictly increasing.")
    action: ChangeAction = strawberry.field(
        description="DELETE also when the item stops being visible to this reader (unpublished, archived, "
        "deleted)."
    )
    typename: str
    id: strawberry.ID
    occurred_at: datetime
    node: Node | None = strawberry.field(description="The item as it is now for UPSERT, null for DELETE.")
    content_hash: str | None = strawberry.field(
        description="sha256 of the item's canonical JSON (as this reader may see it) for UPSERT."
    )


@strawberry.type
class ChangeFeed:
    events: list[ChangeEvent]
    cursor: str = strawberry.field(description="Pass it as `since` to get what changed after this page.")
    has_more: bool


async def read_feed(context: Context, *, since: str | None, first: int | None) -> changes.FeedPage:
    """The caller's page of the feed, its items not yet read. Scheduled publications now due are recorded
    first (a cheap read tells whether any are), and the page is read from a snapshot that holds them."""
    if await context.fetch(*changes.due(context.now)):
        async with AsyncSession(context.engine) as session, session.begin():
            await changes.record_due_publications(session, now=context.now)
        await context.renew()
    statement, page = changes.feed_statement(
        since=since, first=first, public_only=not can_preview(context.viewer)
    )
    return changes.FeedPage.of(await context.fetch(statement), page, since)


async def change_feed(info: Info, *, since: str | None, first: int | None) -> ChangeFeed:
    feed = await read_feed(info.context, since=since, first=first)
    wanted = feed.wanted()
    loaders = info.context.loaders
    feed = feed.seen(await _items(loaders, wanted))
    tree = await loaders.category_tree() if "Category" in wanted else None
    nodes = await _nodes(info, feed.events)
    viewer = info.context.viewer
    events = [
        ChangeEvent(
            sequence=event.sequence,
            action=ChangeAction(event.action),
            typename=event.typename,
            id=strawberry.ID(event.id),
            occurred_at=event.occurred_at,
            node=nodes.get(event.sequence),
            content_hash=event.content_hash(viewer=viewer, tree=tree),
        )
        for event in feed.events
    ]
    return ChangeFeed(events=events, cursor=feed.cursor, has_more=feed.has_more)


async def _items(loaders: Loaders, wanted: dict[str, list[str]]) -> dict[tuple[str, str], Any]:
    """Each item the caller can see now, keyed (typename, id), read in one batch per type."""
    found: dict[tuple[str, str], Any] = {}
    for typename, loader in (
        ("Article", loaders.article_by_id),
        ("Author", loaders.author_by_id),
        ("Source", loaders.source_by_id),
    ):
        rows = await loader.load_many(wanted.get(typename, []))
        found.update(((typename, row.id), row) for row in rows if row)
    if ids := wanted.get("Category"):
        tree = await loaders.category_tree()
        found.update((("Category", id_), tree.by_id[id_]) for id_ in ids if id_ in tree.by_id)
    return found


NODES: dict[str, Callable[[Any], Node]] = {
    "Article": Article.from_row,
    "Author": Author.from_row,
    "Category": Category.from_row,
    "Source": Source.from_row,
}


async def _nodes(info: Info, events: list[changes.FeedEvent]) -> dict[int, Node]:
    """The node of each UPSERT, by sequence; articles with the relations the query asks for, in one batch."""
    nodes = {e.sequence: NODES[e.typename](e.item) for e in events if e.item is not None}
    await with_relations(info, [node for node in nodes.values() if isinstance(node, Article)])
    return nodes
