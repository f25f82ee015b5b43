"""Article fields: made from the row, or one statement a level for all the level's articles; and
the category tree's fields, read once a request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from cms.content import articles
from cms.content.visibility import author_email_visible
from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected
from cms.graphql.plan.registry import REGISTRY, covers, grouped
from cms.graphql.plan.shapes import Fetched, Nested, Run, Slot, Value
from cms.models import SourceRole

# ---------------------------------------------------------------- article fields made from the row


@covers("Article", "excerpt")
def _excerpt(compiler: Compiler, selected: Selected) -> Slot:
    return Value(selected.key, lambda row, run: articles.excerpt_of(row), ("excerpt", "derived_excerpt"))


@covers("Article", "readingTimeMinutes")
def _reading_time(compiler: Compiler, selected: Selected) -> Slot:
    return Value(selected.key, lambda row, run: articles.reading_time(row), ("word_count",))


@covers("Article", "body")
def _body(compiler: Compiler, selected: Selected) -> Slot:
    arguments = compiler.arguments(selected)

    def get(row: Any, run: Run) -> str:
        format_ = arguments(run).get("format")
        return articles.body_in(row, format_.name if format_ else None)

    fixed = compiler.fixed_arguments(selected)
    if fixed is None:  # the format is a variable's
        return Value(selected.key, get, tuple(articles.BODY_COLUMNS.values()))
    format_ = fixed.get("format")
    return Value(selected.key, get, (articles.BODY_COLUMNS[format_.name if format_ else None],))


@covers("Article", "coverImage")
def _cover_image(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(
        selected.key, lambda row, run: articles.cover_image_of(row), compiler.child(selected),
        columns=("cover_image",),
    )  # fmt: skip


@covers("Article", "seo")
def _seo(compiler: Compiler, selected: Selected) -> Slot:
    return Nested(
        selected.key, lambda row, run: articles.seo_of(row), compiler.child(selected),
        columns=("seo", "title", "excerpt", "derived_excerpt"),
    )  # fmt: skip


def _entry(name: str) -> FieldCompiler:
    """A field of an object made as a dict by `content` (an image, SEO fields): its Python name's entry."""
    return lambda compiler, selected: Value(selected.key, lambda value, run: value[name])


for _name in ("url", "alt", "caption", "credit", "width", "height"):
    REGISTRY["Image", _name] = _entry(_name)
for _name, _key in (("title", "title"), ("description", "description"), ("canonicalUrl", "canonical_url")):
    REGISTRY["Seo", _name] = _entry(_key)


# ---------------------------------------------------------------- article relations: one statement a level


def _by_article(
    read: Callable[[list[str]], Any], convert: Callable[[Any], Any] = lambda row: row
) -> Callable[[Sequence[Any], Run], Awaitable[dict[int, Any]]]:
    """Fetch a relation of many articles in one statement, grouped by article."""

    async def fetch(rows: Sequence[Any], run: Run) -> dict[int, Any]:
        groups = grouped(
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


_ROLE_NAMES = {role.value: role.name for role in SourceRole}
REGISTRY["SourceAttribution", "role"] = lambda compiler, selected: Value(
    selected.key, lambda row, run: _ROLE_NAMES[row.role]
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
        read = articles.translations_statement(
            groups, viewer=context.viewer, now=context.now, columns=columns
        )
        found = grouped(await context.fetch(*read) if groups else [], "translation_group")
        return {
            id(row): [t for t in found.get(row.translation_group, []) if t.id != row.id]
            if row.translation_group
            else []
            for row in rows
        }

    child = compiler.child(selected)
    columns = articles.columns_for(child.columns | {"translation_group"})
    return Fetched(selected.key, fetch, child, many=True, columns=("translation_group",))


@covers("Article", "category")
def _article_category(compiler: Compiler, selected: Selected) -> Slot:
    def category(row: Any, run: Run) -> Any:
        return run.tree.by_id.get(row.category_id) if run.tree and row.category_id else None

    return Nested(selected.key, category, compiler.child(selected), needs_tree=True, columns=("category_id",))


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
