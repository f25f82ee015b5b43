"""The change feed: what changed since a cursor, through the caller's eyes. Its objects are the content's
feed page and events, their items `Tagged` with their types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes
from cms.content.visibility import can_preview
from cms.graphql.context import Context
from cms.graphql.enums import ChangeAction
from cms.graphql.fields import Columns, Found, computed, nodes_seen
from cms.graphql.nodes import Node


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
    node: Node | None = computed(
        lambda event, context: event.item, description="The item as it is now for UPSERT, null for DELETE."
    )
    content_hash: str | None = computed(
        lambda event, context: event.content_hash(viewer=context.viewer, tree=context.tree),
        description="sha256 of the item's canonical JSON (as this reader may see it) for UPSERT.",
    )


@strawberry.type
class ChangeFeed:
    events: list[ChangeEvent]
    cursor: str = strawberry.field(description="Pass it as `since` to get what changed after this page.")
    has_more: bool


async def _feed(arguments: dict[str, Any], context: Context, columns: Columns) -> changes.FeedPage:
    """The caller's page of the feed, with each event's item as the caller may see it now. Scheduled
    publications now due are recorded first (a cheap read tells whether any are), and the page is read
    from a snapshot that holds them; the items are read in one statement per type (categories from the
    tree, which a category's content hash reads too)."""
    if await context.fetch(*changes.due(context.now)):
        async with AsyncSession(context.engine) as session, session.begin():
            await changes.record_due_publications(session, now=context.now)
        await context.renew()
    statement, page = changes.feed_statement(
        since=arguments.get("since"),
        first=arguments.get("first"),
        public_only=not can_preview(context.viewer),
    )
    feed = changes.FeedPage.of(await context.fetch(statement), page, arguments.get("since"))
    return feed.seen(await nodes_seen(context, feed.wanted()))


CHANGES = Found(_feed)
