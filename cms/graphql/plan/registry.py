"""The fields the planner covers, each mapped once onto the `content` rules its resolver uses: the registry,
and the fields that are columns. Its neighbours `articles`, `lists` and `lookups` register the rest.

Statements come from the same builders as the resolvers' (visibility, filters, orders, cursors), and values
from the same row -> value functions, so the two paths answer alike; the differential tests hold them to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected
from cms.graphql.plan.shapes import Slot, Value
from cms.models import SourceKind

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


def moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def attribute(
    typename: str, name: str, column: str | None = None, convert: Callable[[Any], Any] | None = None
) -> None:
    """A field that is a column (named `column`, else the field's own snake_case name)."""
    in_row = column or name

    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        if convert is None:
            return Value.column(selected.key, in_row)
        return Value(selected.key, lambda row, run: convert(getattr(row, in_row)), (in_row,))

    REGISTRY[typename, name] = compile_field


for _type in NODE_TYPES:
    attribute(_type, "id")
    attribute(_type, "slug")
for _type in ("Author", "Category", "Source"):
    attribute(_type, "name")
for _name in ("title", "subtitle", "language", "version"):
    attribute("Article", _name)
attribute("Article", "status")
attribute("Article", "wordCount", "word_count")
for _name, _column in (
    ("publishedAt", "published_at"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
):
    attribute("Article", _name, _column, moment)
attribute("Author", "bio")
attribute("Author", "avatarUrl", "avatar_url")
attribute("Category", "description")
attribute("Source", "kind", convert={kind.value: kind.name for kind in SourceKind}.__getitem__)
attribute("Source", "url")


def grouped(rows: Sequence[Any], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return groups
