"""Relay connections: a connection's object is a `Conn` (a content Page, its SortKey and its totals), an
edge's is (conn, row); both engines build them from the same fields."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from cms.content.pagination import Page, PageRequest, SortKey, page_of
from cms.graphql.context import Context, Shared
from cms.graphql.fields import awaited, computed

T = TypeVar("T")


@dataclass(eq=False)
class Conn:
    """One connection's page; cursors are made only when asked for (a walk asks for one a page). `totals`:
    those of every connection one read made, by parent (None for a root list): one statement for all of
    them, run once, and only if a totalCount is asked for."""

    page: Page[Any]
    sort: SortKey
    totals: Shared[dict[Any, int]]
    parent: Any = None

    def cursor(self, row: Any) -> str:
        return self.sort.cursor(row.sort_key, row.id)

    @property
    def edges(self) -> list[tuple[Conn, Any]]:
        return [(self, row) for row in self.page.rows]

    async def total(self) -> int:
        return (await self.totals.get()).get(self.parent, 0)


def conns_by_parent(
    context: Context,
    groups: Mapping[Any, Sequence[Any]],
    parents: Sequence[Any],
    page: PageRequest,
    sort: SortKey,
    count: Callable[[], Awaitable[Sequence[Any]]],
) -> dict[Any, Conn]:
    """Each parent's connection from its rows (grouped by parent); the totals of all of them are one
    statement's (parent, total) rows, counted only if asked for."""

    async def counted() -> dict[Any, int]:
        return dict(tuple(row) for row in await count())

    totals = context.shared(counted)
    return {parent: Conn(page_of(groups.get(parent, []), page), sort, totals, parent) for parent in parents}


def root_conn(
    context: Context,
    rows: Sequence[Any],
    page: PageRequest,
    sort: SortKey,
    count: Callable[[], Awaitable[int]],
) -> Conn:
    """A root list's connection: its page, and its total counted only when asked for."""

    async def counted() -> dict[Any, int]:
        return {None: await count()}

    return Conn(page_of(rows, page), sort, context.shared(counted))


def _start(conn: Conn, context: Any) -> str | None:
    return conn.cursor(conn.page.rows[0]) if conn.page.rows else None


def _end(conn: Conn, context: Any) -> str | None:
    return conn.cursor(conn.page.rows[-1]) if conn.page.rows else None


@strawberry.type
class PageInfo:
    has_next_page: bool = computed(lambda conn, context: conn.page.has_next)
    has_previous_page: bool = computed(lambda conn, context: conn.page.has_previous)
    start_cursor: str | None = computed(_start)
    end_cursor: str | None = computed(_end)


@strawberry.type
class Edge(Generic[T]):
    cursor: str = computed(lambda edge, context: edge[0].cursor(edge[1]))
    node: T = computed(lambda edge, context: edge[1], passes_columns=True)


@strawberry.type
class Connection(Generic[T]):
    """A page of a list; totalCount costs a statement, so it runs only when asked for."""

    edges: list[Edge[T]] = computed(lambda conn, context: conn.edges, passes_columns=True)
    page_info: PageInfo = computed(lambda conn, context: conn)
    nodes: list[T] = computed(lambda conn, context: conn.page.rows, passes_columns=True)
    total_count: int = awaited(lambda conn, context: conn.total())
