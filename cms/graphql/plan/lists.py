"""Connections: root lists, nested article lists (one statement for every parent of a level), their
pages, edges and totals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cms.content import articles, authors, categories, sources
from cms.content.pagination import Page, PageRequest, SortKey, page_of
from cms.graphql.inputs import filter_of, order_of
from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected
from cms.graphql.plan.registry import NODE_TYPES, REGISTRY, ROOT, covers, grouped
from cms.graphql.plan.shapes import Fetched, Nested, Run, Slot, Value


@dataclass(eq=False)
class Counter:
    """totalCount of every connection one slot made: one statement for all of them, run once if asked."""

    count: Callable[[Run], Awaitable[dict[Any, int]]]
    found: dict[Any, int] | None = None

    async def get(self, run: Run) -> dict[Any, int]:
        if self.found is None:
            self.found = await self.count(run)
        return self.found


@dataclass(eq=False)
class Conn:
    """One connection's page; cursors are made only when asked for (a walk asks for one a page)."""

    page: Page[Any]
    sort: SortKey
    counter: Counter
    parent: Any = None

    def cursor(self, row: Any) -> str:
        return self.sort.cursor(row.sort_key, row.id)

    @property
    def edges(self) -> list[tuple[Conn, Any]]:
        return [(self, row) for row in self.page.rows]


def _total_count(compiler: Compiler, selected: Selected) -> Slot:
    async def fetch(conns: Sequence[Conn], run: Run) -> dict[int, Any]:
        return {id(conn): (await conn.counter.get(run)).get(conn.parent, 0) for conn in conns}

    return Fetched(selected.key, fetch)


def connection_fields(typename: str) -> None:
    REGISTRY[f"{typename}Connection", "nodes"] = lambda compiler, selected: _listed_rows(
        compiler, selected, lambda conn, run: conn.page.rows
    )
    REGISTRY[f"{typename}Connection", "edges"] = lambda compiler, selected: _listed_rows(
        compiler, selected, lambda conn, run: conn.edges
    )
    REGISTRY[f"{typename}Connection", "pageInfo"] = lambda compiler, selected: Nested(
        selected.key, lambda conn, run: conn, compiler.child(selected)
    )
    REGISTRY[f"{typename}Connection", "totalCount"] = _total_count
    REGISTRY[f"{typename}Edge", "cursor"] = lambda compiler, selected: Value(
        selected.key, lambda edge, run: edge[0].cursor(edge[1])
    )
    REGISTRY[f"{typename}Edge", "node"] = lambda compiler, selected: _listed_rows(
        compiler, selected, lambda edge, run: edge[1], many=False
    )


def _listed_rows(
    compiler: Compiler, selected: Selected, get: Callable[[Any, Run], Any], many: bool = True
) -> Slot:
    """`nodes`, `edges` or an edge's `node`: the list's rows, so the columns their selection reads are the
    list's to read."""
    child = compiler.child(selected)
    return Nested(selected.key, get, child, many=many, columns=tuple(child.columns))


for _type in NODE_TYPES:
    connection_fields(_type)
REGISTRY["PageInfo", "hasNextPage"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.page.has_next
)
REGISTRY["PageInfo", "hasPreviousPage"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.page.has_previous
)
REGISTRY["PageInfo", "startCursor"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.cursor(c.page.rows[0]) if c.page.rows else None
)
REGISTRY["PageInfo", "endCursor"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.cursor(c.page.rows[-1]) if c.page.rows else None
)


Statements = Callable[[dict[str, Any], Run, frozenset[str]], tuple[Any, Any, PageRequest, SortKey]]
"""A root list's page and count statements for these arguments, reading these columns of its rows."""


def _root_list(compiler: Compiler, selected: Selected, statements: Statements) -> Slot:
    """A root connection: its page, and a Counter that runs its count statement if totalCount is asked."""
    arguments = compiler.arguments(selected)
    child = compiler.child(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        statement, count, page, sort = statements(arguments(run), run, child.columns)
        rows = await run.context.fetch(statement)

        async def counted(run: Run) -> dict[Any, int]:
            return {None: int((await run.context.fetch(count))[0][0])}

        return {id(ROOT): Conn(page_of(rows, page), sort, Counter(counted))}

    return Fetched(selected.key, fetch, child)


@covers("Query", "articles")
def _articles(compiler: Compiler, selected: Selected) -> Slot:
    def statements(
        kwargs: dict[str, Any], run: Run, columns: frozenset[str]
    ) -> tuple[Any, Any, PageRequest, SortKey]:
        page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"), last=kwargs.get("last"),
                              before=kwargs.get("before"))  # fmt: skip
        f, viewer, now = filter_of(kwargs.get("filter")), run.context.viewer, run.context.now
        statement, sort = articles.page_statement(
            viewer=viewer, now=now, f=f, order=order_of(kwargs.get("order_by")), page=page,
            columns=articles.columns_for(columns),
        )  # fmt: skip
        return statement, articles.count_statement(viewer=viewer, now=now, f=f), page, sort

    return _root_list(compiler, selected, statements)


def _listed(module: Any, argument: str, convert: Callable[[Any], Any]) -> FieldCompiler:
    """`authors`, `categories`, `sources`: a page by name, narrowed by one argument."""

    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        def statements(
            kwargs: dict[str, Any], run: Run, columns: frozenset[str]
        ) -> tuple[Any, Any, PageRequest, SortKey]:
            page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"))
            narrowed = {argument: convert(kwargs.get(argument))}
            statement = module.page_statement(**narrowed, page=page)
            return statement, module.count_statement(**narrowed), page, module.BY_NAME

        return _root_list(compiler, selected, statements)

    return compile_field


REGISTRY["Query", "authors"] = _listed(authors, "search", lambda search: search)
REGISTRY["Query", "categories"] = _listed(categories, "roots_only", bool)
REGISTRY["Query", "sources"] = _listed(sources, "kind", lambda kind: kind.value if kind else None)


LinksOf = Callable[[dict[str, Any], list[str], Run], Awaitable[tuple[Any, list[str] | None]]]
"""The links of a nested list for these arguments and parents, and the keys they read (None: the parents)."""


def _nested_list(compiler: Compiler, selected: Selected, links_of: LinksOf) -> Slot:
    """A nested article connection of every parent of a level, in one statement (and one for totals)."""
    arguments = compiler.arguments(selected)
    child = compiler.child(selected)
    columns = articles.columns_for(child.columns)

    async def fetch(parents: Sequence[Any], run: Run) -> dict[int, Any]:
        kwargs = arguments(run)
        page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"))
        f, order = filter_of(kwargs.get("filter")), order_of(kwargs.get("order_by"))
        ids = list(dict.fromkeys(p.id for p in parents))
        links, keys = await links_of(kwargs, ids, run)
        context = run.context
        statement, sort = articles.linked_page_statement(
            links=links, parents=ids, viewer=context.viewer, now=context.now, f=f, order=order, page=page,
            columns=columns, keys=keys,
        )  # fmt: skip
        groups = grouped(await context.fetch(statement), "parent_key")

        async def counted(run: Run) -> dict[Any, int]:
            count = articles.linked_count_statement(
                links=links, parents=ids, viewer=context.viewer, now=context.now, f=f, keys=keys
            )
            return dict((parent, total) for parent, total in await context.fetch(count))  # noqa: C402

        counter = Counter(counted)
        return {id(p): Conn(page_of(groups.get(p.id, []), page), sort, counter, p.id) for p in parents}

    return Fetched(selected.key, fetch, child)


async def _by_author(kwargs: dict[str, Any], parents: list[str], run: Run) -> tuple[Any, None]:
    return articles.AUTHOR_LINKS, None


async def _by_category(kwargs: dict[str, Any], parents: list[str], run: Run) -> tuple[Any, list[str] | None]:
    """One category's subtree comes from the request's category tree: its articles are then read by their
    categories' index, as a listed key each."""
    if kwargs.get("include_descendants") is False:
        return articles.category_links(False), None
    if len(parents) == 1:
        return articles.IN_CATEGORIES, (await run.category_tree()).subtree(parents[0])
    return articles.category_links(True), None


async def _by_source(kwargs: dict[str, Any], parents: list[str], run: Run) -> tuple[Any, None]:
    role = kwargs.get("role")
    return articles.source_links(role.value if role else None), None


REGISTRY["Author", "articles"] = lambda compiler, selected: _nested_list(compiler, selected, _by_author)
REGISTRY["Category", "articles"] = lambda compiler, selected: _nested_list(compiler, selected, _by_category)
REGISTRY["Source", "articles"] = lambda compiler, selected: _nested_list(compiler, selected, _by_source)
