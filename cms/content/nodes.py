"""The node types, each found by id in one statement a type (categories from the request's tree): the one
table that `node(id:)`, the change feed and both engines read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from cms.content import articles
from cms.content.categories import CategoryTree
from cms.content.ids import could_be, typename_of
from cms.content.reads import Read, by_keys
from cms.content.roles import Viewer
from cms.content.visibility import can_administer
from cms.models import Author, Source, Webhook, table_of

Fetch = Callable[..., Awaitable[Sequence[Any]]]


@dataclass(frozen=True)
class Kind:
    """A node type: `read(ids, viewer, now)` is the statement of those of `ids` the viewer may see (None:
    it may see none); a kind without `read` is found in the category tree."""

    typename: str
    read: Callable[[list[str], Viewer, datetime], Read | None] | None


def _table(model: Any) -> Callable[[list[str], Viewer, datetime], Read | None]:
    table: Table = table_of(model)
    return lambda ids, viewer, now: by_keys(table, ids)


def _webhooks(ids: list[str], viewer: Viewer, now: datetime) -> Read | None:
    return by_keys(table_of(Webhook), ids) if can_administer(viewer) else None


KINDS = {
    kind.typename: kind
    for kind in (
        Kind("Article", lambda ids, viewer, now: articles.by_ids_statement(ids, viewer=viewer, now=now)),
        Kind("Author", _table(Author)),
        Kind("Category", None),
        Kind("Source", _table(Source)),
        Kind("Webhook", _webhooks),
    )
}


def candidates(item_id: str) -> dict[str, list[str]]:
    """The types an id may be of, for `find`: its own for one of ours, else every node type (an id kept
    from another system says nothing of its type)."""
    typename = typename_of(item_id)
    if typename is None:
        return {name: [item_id] for name in KINDS if could_be(item_id, name)}
    return {typename: [item_id]} if typename in KINDS else {}


async def find(
    wanted: Mapping[str, Sequence[str]],
    *,
    fetch: Fetch,
    viewer: Viewer,
    now: datetime,
    tree: Callable[[], Awaitable[CategoryTree]],
) -> dict[tuple[str, str], Any]:
    """Each wanted item the viewer may see now, keyed (typename, id): one statement per type."""
    found: dict[tuple[str, str], Any] = {}
    for typename, ids in wanted.items():
        kind = KINDS[typename]
        if not ids:
            continue
        if kind.read is None:
            by_id = (await tree()).by_id
            found.update(((typename, id_), by_id[id_]) for id_ in ids if id_ in by_id)
        elif (read := kind.read(list(ids), viewer, now)) is not None:
            found.update(((typename, row.id), row) for row in await fetch(*read))
    return found
