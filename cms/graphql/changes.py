"""The change feed: what changed since a cursor, through the caller's eyes.

An event is an UPSERT with the item as it is now when the caller can see it now, else a DELETE: so a static
site that replays the feed from the start holds exactly what it may show, whatever happened in between.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes
from cms.content.documents import author_document, category_document, content_hash, source_document
from cms.content.visibility import author_email_visible, can_preview
from cms.graphql.context import Info
from cms.graphql.enums import ChangeAction
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


async def change_feed(info: Info, *, since: str | None, first: int | None) -> ChangeFeed:
    context = info.context
    if await context.fetch(*changes.due(context.now)):
        async with AsyncSession(context.engine) as session, session.begin():
            await changes.record_due_publications(session, now=context.now)
        await context.renew()
    statement, page = changes.feed_statement(
        since=since, first=first, public_only=not can_preview(context.viewer)
    )
    rows = await context.fetch(statement)
    more, rows = len(rows) > page.size, rows[: page.size]
    current = await _current(info, rows)
    events = []
    for row in rows:
        node, digest = current.get((row.typename, row.entity_id), (None, None))
        events.append(
            ChangeEvent(
                sequence=row.sequence,
                action=ChangeAction.UPSERT if node else ChangeAction.DELETE,
                typename=row.typename,
                id=strawberry.ID(row.entity_id),
                occurred_at=row.occurred_at,
                node=node,
                content_hash=digest,
            )
        )
    cursor = changes.feed_cursor(rows[-1].sequence) if rows else since or changes.feed_cursor(0)
    return ChangeFeed(events=events, cursor=cursor, has_more=more)


async def _current(info: Info, rows: list[Any]) -> dict[tuple[str, str], tuple[Node, str]]:
    """Each item the caller can see now, with its content hash, read in one batch per type."""
    wanted: dict[str, list[str]] = {}
    for row in rows:
        wanted.setdefault(row.typename, []).append(row.entity_id)
    loaders = info.context.loaders
    found: dict[tuple[str, str], tuple[Node, str]] = {}
    if ids := wanted.get("Article"):
        articles = [Article.from_row(row) for row in await loaders.article_by_id.load_many(ids) if row]
        for article in await with_relations(info, articles):
            found["Article", article.id] = (article, article.row.content_hash)
    private = not author_email_visible(info.context.viewer)
    for row in await loaders.author_by_id.load_many(wanted.get("Author", [])):
        if row:
            document = author_document(row._mapping) | ({"email": None} if private else {})
            found["Author", row.id] = (Author.from_row(row), content_hash(document))
    for row in await loaders.source_by_id.load_many(wanted.get("Source", [])):
        if row:
            found["Source", row.id] = (Source.from_row(row), content_hash(source_document(row._mapping)))
    if ids := wanted.get("Category"):
        tree = await loaders.category_tree()
        for id_ in ids:
            if row := tree.by_id.get(id_):
                parent = tree.by_id[row.parent_id].slug if row.parent_id in tree.by_id else None
                document = category_document(row._mapping, parent=parent)
                found["Category", row.id] = (Category.from_row(row), content_hash(document))
    return found
