"""The planner's map of the served schema's fields, read off the schema itself: a field declared in
`cms.graphql.fields` compiles as its declaration says, a field with no resolver is its object's attribute of
the same Python name, and any other field is not planned (its documents run on Strawberry)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from graphql import GraphQLObjectType, GraphQLSchema

from cms.graphql.plan.compiler import Compiler, FieldCompiler, Selected
from cms.graphql.plan.shapes import Nested, Slot, Value

PLAN = "cms.plan"
"""The key of a field's declaration in its Strawberry metadata."""


class Declaration(Protocol):
    """What a field declaration gives the planner: the Slot of one response key."""

    def compile(self, compiler: Compiler, selected: Selected) -> Slot: ...


def registry_of(schema: GraphQLSchema) -> dict[tuple[str, str], FieldCompiler]:
    """(type, field) -> how to compile it, for every field the planner covers."""
    registry: dict[tuple[str, str], FieldCompiler] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            definition = field.extensions.get("strawberry-definition")
            if definition is None:
                continue
            declared: Mapping[str, Any] = definition.metadata or {}
            if PLAN in declared:
                registry[type_.name, name] = declared[PLAN].compile
            elif definition.base_resolver is None:
                registry[type_.name, name] = attribute(definition.python_name)
    return registry


def attribute(name: str) -> FieldCompiler:
    """A field that is its object's attribute: read in place, serialized as its type says, or, for an
    object, built by its own selection."""

    def compile_field(compiler: Compiler, selected: Selected) -> Slot:
        if compiler.composite(selected):
            get = lambda obj, context: getattr(obj, name)  # noqa: E731
            return Nested(selected.key, get, compiler.selection(selected), many=compiler.many(selected))
        serialize = compiler.serializer(selected)
        if serialize is None:
            return Value.column(selected.key, name)
        return Value(selected.key, lambda obj, run: serialize(getattr(obj, name)), (name,))

    return compile_field
