"""Single lookups (`article`, `author`, `category`, `source`, `node`) and `viewer`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cms.content import articles
from cms.content.ids import typename_of
from cms.content.lookups import by_id_or_slug, require_one_of
from cms.content.reads import Read, by_keys
from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected, Unplannable
from cms.graphql.plan.registry import NODE_TYPES, REGISTRY, ROOT, covers
from cms.graphql.plan.shapes import Fetched, Nested, Polymorphic, Run, Slot, Value
from cms.models import Author as AuthorRow
from cms.models import Source as SourceRow

Find = Callable[[dict[str, Any], Run, frozenset[str]], Awaitable[Any]]
"""The one row a lookup's arguments name, read for these columns."""


def _single(compiler: Compiler, selected: Selected, find: Find) -> Slot:
    arguments = compiler.arguments(selected)
    child = compiler.child(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        return {id(ROOT): await find(arguments(run), run, child.columns)}

    return Fetched(selected.key, fetch, child)


async def _first(run: Run, statement: Any, values: Any = None) -> Any:
    rows = await run.context.fetch(statement, values)
    return rows[0] if rows else None


@covers("Query", "article")
def _article(compiler: Compiler, selected: Selected) -> Slot:
    async def find(kwargs: dict[str, Any], run: Run, columns: frozenset[str]) -> Any:
        context = run.context
        read = articles.lookup(
            kwargs.get("id"),
            kwargs.get("slug"),
            kwargs.get("language"),
            viewer=context.viewer,
            now=context.now,
            columns=articles.columns_for(columns),
        )
        return await _first(run, *read) if read else None

    return _single(compiler, selected, find)


def _lookup(model: Any) -> FieldCompiler:
    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        async def find(kwargs: dict[str, Any], run: Run, columns: frozenset[str]) -> Any:
            return await _first(run, by_id_or_slug(model, id=kwargs.get("id"), slug=kwargs.get("slug")))

        return _single(compiler, selected, find)

    return compile_field


REGISTRY["Query", "author"] = _lookup(AuthorRow)
REGISTRY["Query", "source"] = _lookup(SourceRow)


@covers("Query", "category")
def _category(compiler: Compiler, selected: Selected) -> Slot:
    """From the request's category tree, which its path, children and articles read anyway."""

    async def find(kwargs: dict[str, Any], run: Run, columns: frozenset[str]) -> Any:
        id_, slug = kwargs.get("id"), kwargs.get("slug")
        require_one_of(id_, slug)
        tree = await run.category_tree()
        return tree.by_id.get(id_) if id_ is not None else tree.by_slug.get(slug)

    return _single(compiler, selected, find)


async def nodes(wanted: dict[str, list[str]], run: Run) -> dict[tuple[str, str], Any]:
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


@covers("Query", "node")
def _node(compiler: Compiler, selected: Selected) -> Slot:
    shapes = {typename: compiler.child(selected, typename) for typename in NODE_TYPES}
    arguments = compiler.arguments(selected)

    async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
        id_ = arguments(run)["id"]
        typename = typename_of(id_)
        if typename == "Webhook":
            raise Unplannable("node of a Webhook")
        found = await nodes({typename: [id_]}, run) if typename else {}
        return {id(ROOT): found.get((typename, id_))}

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
