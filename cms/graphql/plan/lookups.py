"""Single lookups (`article`, `author`, `category`, `source`, `node`) and `viewer`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cms.content import articles
from cms.content.ids import typename_of
from cms.content.lookups import by_id_or_slug
from cms.content.reads import by_keys
from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected, Unplannable
from cms.graphql.plan.registry import NODE_TYPES, REGISTRY, ROOT, covers
from cms.graphql.plan.shapes import Fetched, Nested, Polymorphic, Run, Slot, Value
from cms.models import Author as AuthorRow
from cms.models import Category as CategoryRow
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
