"""What changed: the change feed (`changes`) and an article's revisions.

A feed page reads its events, then the items the caller may see now in one statement per type, whatever the
number of events; their nodes are built by the Node shapes, so what a node asks for is batched as well.
Revisions of every article of a level come in one statement, and their totals in one more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cms.content import revisions
from cms.content.changes import FeedEvent
from cms.content.ids import typename_of
from cms.content.pagination import PageRequest, page_of
from cms.graphql.changes import read_feed
from cms.graphql.plan.compiler import Compiler, Selected
from cms.graphql.plan.lists import Conn, Counter, connection_fields
from cms.graphql.plan.lookups import nodes
from cms.graphql.plan.registry import NODE_TYPES, ROOT, attribute, covers, grouped, moment
from cms.graphql.plan.shapes import Fetched, Nested, Polymorphic, Run, Slot, Value

# ---------------------------------------------------------------- the change feed


@covers("Query", "changes")
def _changes(compiler: Compiler, selected: Selected) -> Slot:
    arguments = compiler.arguments(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        kwargs = arguments(run)
        feed = await read_feed(run.context, since=kwargs.get("since"), first=kwargs.get("first"))
        return {id(ROOT): feed.seen(await nodes(feed.wanted(), run))}

    return Fetched(selected.key, fetch, compiler.child(selected))


@covers("ChangeFeed", "events")
def _events(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(selected.key, lambda feed, run: feed.events, compiler.child(selected), many=True)


@covers("ChangeEvent", "node")
def _event_node(compiler: Compiler, selected: Selected) -> Slot:
    shapes = {typename: compiler.child(selected, typename) for typename in NODE_TYPES}
    polymorphic = Polymorphic(shapes, lambda row: typename_of(row.id) or "")
    return Nested(selected.key, lambda event, run: event.item, polymorphic)


@covers("ChangeEvent", "contentHash")
def _content_hash(compiler: Compiler, selected: Selected) -> Slot:
    def get(event: FeedEvent, run: Run) -> str | None:
        return event.content_hash(viewer=run.context.viewer, tree=run.tree)

    return Value(selected.key, get)


attribute("ChangeFeed", "cursor")
attribute("ChangeFeed", "hasMore", "has_more")
for _name in ("sequence", "action", "typename", "id"):
    attribute("ChangeEvent", _name)
attribute("ChangeEvent", "occurredAt", "occurred_at", moment)

# ---------------------------------------------------------------- revisions: one statement a level


@covers("Article", "revisions")
def _revisions(compiler: Compiler, selected: Selected) -> Slot:
    arguments = compiler.arguments(selected)

    async def fetch(rows: Sequence[Any], run: Run) -> dict[int, Any]:
        revisions.check_readable(run.context.viewer)
        kwargs = arguments(run)
        page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"))
        ids = list(dict.fromkeys(row.id for row in rows))
        found = grouped(await run.context.fetch(revisions.page_statement(ids, page)), "article_id")

        async def counted(run: Run) -> dict[Any, int]:
            totals = await run.context.fetch(revisions.count_statement(ids))
            return dict(totals)

        counter = Counter(counted)
        return {
            id(row): Conn(page_of(found.get(row.id, []), page), revisions.NEWEST_FIRST, counter, row.id)
            for row in rows
        }

    return Fetched(selected.key, fetch, compiler.child(selected))


connection_fields("Revision")
for _name in ("version", "actor", "title", "status", "snapshot"):
    attribute("Revision", _name)
attribute("Revision", "createdAt", "created_at", moment)
