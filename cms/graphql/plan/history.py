"""What changed: the change feed (`changes`) and an article's revisions.

A feed page reads its events, then the items the caller may see now in one statement per type, whatever the
number of events; their nodes are built by the Node shapes, so what a node asks for is batched as well.
Revisions of every article of a level come in one statement, and their totals in one more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cms.content import articles, revisions
from cms.content.changes import FeedEvent
from cms.content.ids import typename_of
from cms.content.pagination import PageRequest, page_of
from cms.content.reads import Read, by_keys
from cms.graphql.changes import read_feed
from cms.graphql.plan.compiler import Compiler, Selected
from cms.graphql.plan.lists import Conn, Counter, _connection_fields
from cms.graphql.plan.registry import NODE_TYPES, ROOT, _attribute, _moment, covers, grouped
from cms.graphql.plan.shapes import Fetched, Nested, Polymorphic, Run, Slot, Value
from cms.models import Author as AuthorRow
from cms.models import Source as SourceRow

# ---------------------------------------------------------------- the change feed


async def _items(wanted: dict[str, list[str]], run: Run) -> dict[tuple[str, str], Any]:
    """Each item the caller can see now, keyed (typename, id): one statement per type (categories come from
    the request's tree)."""
    context = run.context
    reads: dict[str, Callable[[list[str]], Read]] = {
        "Article": lambda ids: articles.by_ids_statement(ids, viewer=context.viewer, now=context.now),
        "Author": lambda ids: by_keys(AuthorRow.__table__, ids),  # type: ignore[attr-defined]
        "Source": lambda ids: by_keys(SourceRow.__table__, ids),  # type: ignore[attr-defined]
    }
    found: dict[tuple[str, str], Any] = {}
    for typename, ids in wanted.items():
        if typename in reads:
            found.update(((typename, row.id), row) for row in await context.fetch(*reads[typename](ids)))
    if ids := wanted.get("Category"):
        tree = await run.category_tree()
        found.update((("Category", id_), tree.by_id[id_]) for id_ in ids if id_ in tree.by_id)
    return found


@covers("Query", "changes")
def _changes(compiler: Compiler, selected: Selected) -> Slot:
    arguments = compiler.arguments(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        kwargs = arguments(run)
        feed = await read_feed(run.context, since=kwargs.get("since"), first=kwargs.get("first"))
        return {id(ROOT): feed.seen(await _items(feed.wanted(), run))}

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


_attribute("ChangeFeed", "cursor")
_attribute("ChangeFeed", "hasMore", "has_more")
for _name in ("sequence", "action", "typename", "id"):
    _attribute("ChangeEvent", _name)
_attribute("ChangeEvent", "occurredAt", "occurred_at", _moment)

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


_connection_fields("Revision")
for _name in ("version", "actor", "title", "status", "snapshot"):
    _attribute("Revision", _name)
_attribute("Revision", "createdAt", "created_at", _moment)
