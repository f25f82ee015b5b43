"""The fields the planner covers, each mapped once onto the `content` rules its resolver uses.

A field compiler turns one response key into a Slot. Statements come from the same builders as the
resolvers' (visibility, filters, orders, cursors), and values from the same row -> value functions, so the
two paths answer alike; the differential tests hold them to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cms.content import articles, authors, categories, sources
from cms.content.ids import typename_of
from cms.content.lookups import by_id_or_slug
from cms.content.pagination import Page, PageRequest, SortKey, page_of
from cms.content.reads import by_keys
from cms.content.visibility import author_email_visible
from cms.graphql.inputs import filter_of, order_of
from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected, Unplannable
from cms.graphql.plan.shapes import Fetched, Nested, Polymorphic, Run, Slot, Value
from cms.models import Author as AuthorRow
from cms.models import Category as CategoryRow
from cms.models import Source as SourceRow
from cms.models import SourceKind, SourceRole

REGISTRY: dict[tuple[str, str], FieldCompiler] = {}
ROOT = object()
"""The one object of the root level."""
NODE_TYPES = ("Article", "Author", "Category", "Source")


def covers(typename: str, *names: str) -> Callable[[FieldCompiler], FieldCompiler]:
    def register(compile_field: FieldCompiler) -> FieldCompiler:
        for name in names:
            REGISTRY[typename, name] = compile_field
        return compile_field

    return register


def _moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _attribute(
    typename: str, name: str, column: str | None = None, convert: Callable[[Any], Any] | None = None
) -> None:
    """A field that is a column (named `column`, else the field's own snake_case name)."""
    attribute = column or name

    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        if convert is None:
            return Value(selected.key, lambda row, run: getattr(row, attribute))
        return Value(selected.key, lambda row, run: convert(getattr(row, attribute)))

    REGISTRY[typename, name] = compile_field


for _type in NODE_TYPES:
    _attribute(_type, "id")
    _attribute(_type, "slug")
for _type in ("Author", "Category", "Source"):
    _attribute(_type, "name")
for _name in ("title", "subtitle", "language", "version"):
    _attribute("Article", _name)
_attribute("Article", "status")
_attribute("Article", "wordCount", "word_count")
for _name, _column in (
    ("publishedAt", "published_at"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
):
    _attribute("Article", _name, _column, _moment)
_attribute("Author", "bio")
_attribute("Author", "avatarUrl", "avatar_url")
_attribute("Category", "description")
_attribute("Source", "kind", convert=lambda kind: SourceKind(kind).name)
_attribute("Source", "url")


# ---------------------------------------------------------------- article fields made from the row


@covers("Article", "excerpt")
def _excerpt(compiler: Compiler, selected: Selected) -> Slot:
    return Value(selected.key, lambda row, run: articles.excerpt_of(row))


@covers("Article", "readingTimeMinutes")
def _reading_time(compiler: Compiler, selected: Selected) -> Slot:
    return Value(selected.key, lambda row, run: articles.reading_time(row))


@covers("Article", "body")
def _body(compiler: Compiler, selected: Selected) -> Slot:
    arguments = compiler.arguments(selected)

    def get(row: Any, run: Run) -> str:
        format_ = arguments(run).get("format")
        return articles.body_in(row, format_.name if format_ else None)

    return Value(selected.key, get)


@covers("Article", "coverImage")
def _cover_image(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(selected.key, lambda row, run: articles.cover_image_of(row), compiler.child(selected))


@covers("Article", "seo")
def _seo(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(selected.key, lambda row, run: articles.seo_of(row), compiler.child(selected))


def _entry(name: str) -> FieldCompiler:
    """A field of an object made as a dict by `content` (an image, SEO fields): its Python name's entry."""
    return lambda compiler, selected: Value(selected.key, lambda value, run: value[name])


for _name in ("url", "alt", "caption", "credit", "width", "height"):
    REGISTRY["Image", _name] = _entry(_name)
for _name, _key in (("title", "title"), ("description", "description"), ("canonicalUrl", "canonical_url")):
    REGISTRY["Seo", _name] = _entry(_key)


# ---------------------------------------------------------------- article relations: one statement a level


def _grouped(rows: Sequence[Any], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return groups


def _by_article(
    read: Callable[[list[str]], Any], convert: Callable[[Any], Any] = lambda row: row
) -> Callable[[Sequence[Any], Run], Awaitable[dict[int, Any]]]:
    """Fetch a relation of many articles in one statement, grouped by article."""

    async def fetch(rows: Sequence[Any], run: Run) -> dict[int, Any]:
        groups = _grouped(
            await run.context.fetch(*read(list(dict.fromkeys(r.id for r in rows)))), "article_id"
        )
        return {id(row): [convert(found) for found in groups.get(row.id, [])] for row in rows}

    return fetch


@covers("Article", "tags")
def _tags(compiler: Compiler, selected: Selected) -> Slot:
    return Fetched(selected.key, _by_article(articles.tags_statement, lambda row: row.tag))


@covers("Article", "authors")
def _authors(compiler: Compiler, selected: Selected) -> Slot:
    return Fetched(selected.key, _by_article(articles.authors_statement), compiler.child(selected), many=True)


@covers("Article", "sources")
def _sources(compiler: Compiler, selected: Selected) -> Slot:
    return Fetched(selected.key, _by_article(articles.sources_statement), compiler.child(selected), many=True)


REGISTRY["SourceAttribution", "role"] = lambda compiler, selected: Value(
    selected.key, lambda row, run: SourceRole(row.role).name
)
REGISTRY["SourceAttribution", "url"] = lambda compiler, selected: Value(
    selected.key, lambda row, run: row.cited_url
)
REGISTRY["SourceAttribution", "note"] = lambda compiler, selected: Value(
    selected.key, lambda row, run: row.note
)
REGISTRY["SourceAttribution", "source"] = lambda compiler, selected: Nested(
    selected.key, lambda row, run: row, compiler.child(selected)
)


@covers("Article", "translations")
def _translations(compiler: Compiler, selected: Selected) -> Slot:
    async def fetch(rows: Sequence[Any], run: Run) -> dict[int, Any]:
        groups = list(dict.fromkeys(r.translation_group for r in rows if r.translation_group))
        context = run.context
        found = _grouped(
            await context.fetch(
                *articles.translations_statement(groups, viewer=context.viewer, now=context.now)
            )
            if groups
            else [],
            "translation_group",
        )
        return {
            id(row): [t for t in found.get(row.translation_group, []) if t.id != row.id]
            if row.translation_group
            else []
            for row in rows
        }

    return Fetched(selected.key, fetch, compiler.child(selected), many=True)


@covers("Article", "category")
def _article_category(compiler: Compiler, selected: Selected) -> Slot:
    def category(row: Any, run: Run) -> Any:
        return run.tree.by_id.get(row.category_id) if run.tree and row.category_id else None

    return Nested(selected.key, category, compiler.child(selected), needs_tree=True)


# ---------------------------------------------------------------- categories: the tree, read once a request


@covers("Category", "parent")
def _parent(compiler: Compiler, selected: Selected) -> Slot:
    def parent(row: Any, run: Run) -> Any:
        return run.tree.by_id.get(row.parent_id) if run.tree and row.parent_id else None

    return Nested(selected.key, parent, compiler.child(selected), needs_tree=True)


@covers("Category", "children")
def _children(compiler: Compiler, selected: Selected) -> Slot:
    def children(row: Any, run: Run) -> list[Any]:
        return run.tree.children_of.get(row.id, []) if run.tree else []

    return Nested(selected.key, children, compiler.child(selected), many=True, needs_tree=True)


@covers("Category", "path")
def _path(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(
        selected.key, lambda row, run: run.tree.path(row.id) if run.tree else [], compiler.child(selected),
        many=True, needs_tree=True,
    )  # fmt: skip


@covers("Author", "email")
def _email(compiler: Compiler, selected: Selected) -> Slot:
    return Value(
        selected.key, lambda row, run: row.email if author_email_visible(run.context.viewer) else None
    )


# ---------------------------------------------------------------- connections


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
    page: Page[Any]
    sort: SortKey
    counter: Counter
    parent: Any = None
    edges: list[tuple[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.edges = [(self.sort.cursor(row.sort_key, row.id), row) for row in self.page.rows]


def _total_count(compiler: Compiler, selected: Selected) -> Slot:
    async def fetch(conns: Sequence[Conn], run: Run) -> dict[int, Any]:
        return {id(conn): (await conn.counter.get(run)).get(conn.parent, 0) for conn in conns}

    return Fetched(selected.key, fetch)


def _connection_fields(typename: str) -> None:
    REGISTRY[f"{typename}Connection", "nodes"] = lambda compiler, selected: Nested(
        selected.key, lambda conn, run: conn.page.rows, compiler.child(selected), many=True
    )
    REGISTRY[f"{typename}Connection", "edges"] = lambda compiler, selected: Nested(
        selected.key, lambda conn, run: conn.edges, compiler.child(selected), many=True
    )
    REGISTRY[f"{typename}Connection", "pageInfo"] = lambda compiler, selected: Nested(
        selected.key, lambda conn, run: conn, compiler.child(selected)
    )
    REGISTRY[f"{typename}Connection", "totalCount"] = _total_count
    REGISTRY[f"{typename}Edge", "cursor"] = lambda compiler, selected: Value(
        selected.key, lambda edge, run: edge[0]
    )
    REGISTRY[f"{typename}Edge", "node"] = lambda compiler, selected: Nested(
        selected.key, lambda edge, run: edge[1], compiler.child(selected)
    )


for _type in NODE_TYPES:
    _connection_fields(_type)
REGISTRY["PageInfo", "hasNextPage"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.page.has_next
)
REGISTRY["PageInfo", "hasPreviousPage"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.page.has_previous
)
REGISTRY["PageInfo", "startCursor"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.edges[0][0] if c.edges else None
)
REGISTRY["PageInfo", "endCursor"] = lambda compiler, selected: Value(
    selected.key, lambda c, run: c.edges[-1][0] if c.edges else None
)


def _root_list(
    compiler: Compiler,
    selected: Selected,
    statements: Callable[[dict[str, Any], Run], tuple[Any, Any, PageRequest, SortKey]],
) -> Slot:
    """A root connection: its page, and a Counter that runs its count statement if totalCount is asked."""
    arguments = compiler.arguments(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        statement, count, page, sort = statements(arguments(run), run)
        rows = await run.context.fetch(statement)

        async def counted(run: Run) -> dict[Any, int]:
            return {None: int((await run.context.fetch(count))[0][0])}

        return {id(ROOT): Conn(page_of(rows, page), sort, Counter(counted))}

    return Fetched(selected.key, fetch, compiler.child(selected))


@covers("Query", "articles")
def _articles(compiler: Compiler, selected: Selected) -> Slot:
    def statements(kwargs: dict[str, Any], run: Run) -> tuple[Any, Any, PageRequest, SortKey]:
        page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"), last=kwargs.get("last"),
                              before=kwargs.get("before"))  # fmt: skip
        f, viewer, now = filter_of(kwargs.get("filter")), run.context.viewer, run.context.now
        statement, sort = articles.page_statement(
            viewer=viewer, now=now, f=f, order=order_of(kwargs.get("order_by")), page=page
        )
        return statement, articles.count_statement(viewer=viewer, now=now, f=f), page, sort

    return _root_list(compiler, selected, statements)


def _listed(module: Any, argument: str, convert: Callable[[Any], Any]) -> FieldCompiler:
    """`authors`, `categories`, `sources`: a page by name, narrowed by one argument."""

    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        def statements(kwargs: dict[str, Any], run: Run) -> tuple[Any, Any, PageRequest, SortKey]:
            page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"))
            narrowed = {argument: convert(kwargs.get(argument))}
            statement = module.page_statement(**narrowed, page=page)
            return statement, module.count_statement(**narrowed), page, module.BY_NAME

        return _root_list(compiler, selected, statements)

    return compile_field


REGISTRY["Query", "authors"] = _listed(authors, "search", lambda search: search)
REGISTRY["Query", "categories"] = _listed(categories, "roots_only", bool)
REGISTRY["Query", "sources"] = _listed(sources, "kind", lambda kind: kind.value if kind else None)


def _nested_list(
    compiler: Compiler, selected: Selected, links: Callable[[list[str], dict[str, Any]], Any]
) -> Slot:
    """A nested article connection of every parent of a level, in one statement (and one for totals)."""
    arguments = compiler.arguments(selected)

    async def fetch(parents: Sequence[Any], run: Run) -> dict[int, Any]:
        kwargs = arguments(run)
        page = PageRequest.of(first=kwargs.get("first"), after=kwargs.get("after"))
        f, order = filter_of(kwargs.get("filter")), order_of(kwargs.get("order_by"))
        ids = list(dict.fromkeys(p.id for p in parents))
        context = run.context
        statement, sort = articles.linked_page_statement(
            links=links(ids, kwargs), parents=len(ids), viewer=context.viewer, now=context.now, f=f,
            order=order, page=page,
        )  # fmt: skip
        groups = _grouped(await context.fetch(statement), "parent_key")

        async def counted(run: Run) -> dict[Any, int]:
            count = articles.linked_count_statement(
                links=links(ids, kwargs), viewer=context.viewer, now=context.now, f=f
            )
            return dict((parent, total) for parent, total in await context.fetch(count))  # noqa: C402

        counter = Counter(counted)
        return {id(p): Conn(page_of(groups.get(p.id, []), page), sort, counter, p.id) for p in parents}

    return Fetched(selected.key, fetch, compiler.child(selected))


@covers("Author", "articles")
def _author_articles(compiler: Compiler, selected: Selected) -> Slot:
    return _nested_list(compiler, selected, lambda ids, kwargs: articles.author_links(ids))


@covers("Category", "articles")
def _category_articles(compiler: Compiler, selected: Selected) -> Slot:
    return _nested_list(
        compiler, selected,
        lambda ids, kwargs: articles.category_links(ids, kwargs.get("include_descendants") is not False),
    )  # fmt: skip


@covers("Source", "articles")
def _source_articles(compiler: Compiler, selected: Selected) -> Slot:
    def links(ids: list[str], kwargs: dict[str, Any]) -> Any:
        role = kwargs.get("role")
        return articles.source_links(ids, role.value if role else None)

    return _nested_list(compiler, selected, links)


# ---------------------------------------------------------------- single lookups


def _single(
    compiler: Compiler, selected: Selected, find: Callable[[dict[str, Any], Run], Awaitable[Any]]
) -> Slot:
    arguments = compiler.arguments(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        return {id(ROOT): await find(arguments(run), run)}

    return Fetched(selected.key, fetch, compiler.child(selected))


async def _first(run: Run, statement: Any, values: Any = None) -> Any:
    rows = await run.context.fetch(statement, values)
    return rows[0] if rows else None


@covers("Query", "article")
def _article(compiler: Compiler, selected: Selected) -> Slot:
    async def find(kwargs: dict[str, Any], run: Run) -> Any:
        context = run.context
        read = articles.lookup(
            kwargs.get("id"),
            kwargs.get("slug"),
            kwargs.get("language"),
            viewer=context.viewer,
            now=context.now,
        )
        return await _first(run, *read) if read else None

    return _single(compiler, selected, find)


def _lookup(model: Any) -> FieldCompiler:
    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        async def find(kwargs: dict[str, Any], run: Run) -> Any:
            return await _first(run, by_id_or_slug(model, id=kwargs.get("id"), slug=kwargs.get("slug")))

        return _single(compiler, selected, find)

    return compile_field


REGISTRY["Query", "author"] = _lookup(AuthorRow)
REGISTRY["Query", "category"] = _lookup(CategoryRow)
REGISTRY["Query", "source"] = _lookup(SourceRow)


@covers("Query", "node")
def _node(compiler: Compiler, selected: Selected) -> Slot:
    shapes = {typename: compiler.child(selected, typename) for typename in NODE_TYPES}

    async def find(kwargs: dict[str, Any], run: Run) -> Any:
        id_, context = kwargs["id"], run.context
        match typename_of(id_):
            case "Article":
                return await _first(
                    run, *articles.by_ids_statement([id_], viewer=context.viewer, now=context.now)
                )
            case "Author":
                return await _first(run, *by_keys(AuthorRow.__table__, [id_]))  # type: ignore[attr-defined]
            case "Source":
                return await _first(run, *by_keys(SourceRow.__table__, [id_]))  # type: ignore[attr-defined]
            case "Category":
                return (await run.category_tree()).by_id.get(id_)
            case "Webhook":
                raise Unplannable("node of a Webhook")
        return None

    arguments = compiler.arguments(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        return {id(ROOT): await find(arguments(run), run)}

    return Fetched(selected.key, fetch, Polymorphic(shapes, lambda row: typename_of(row.id) or ""))


@covers("Query", "viewer")
def _viewer(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(selected.key, lambda root, run: run.context.viewer, compiler.child(selected))


REGISTRY["Viewer", "role"] = lambda compiler, selected: Value(
    selected.key, lambda viewer, run: viewer.role.value
)
REGISTRY["Viewer", "tokenName"] = lambda compiler, selected: Value(
    selected.key, lambda viewer, run: viewer.token_name
)
