"""What a document costs, before anything runs (delivery.md): each field 1, each list's fields multiplied by
its `first` or `last` (given, or the argument's default, else DEFAULT_PAGE), nested lists multiplied through;
a list the caller cannot size (bylines, breadcrumbs) counts once. Known once per document, operation and
the values of the variables that size its lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from cms.graphql.documents import Prepared
from cms.lru import LRU

DEFAULT_PAGE = 20
"""A connection's page when neither the caller nor the schema gives one (the contract's default)."""
MOST_PAGE = 1000
"""The largest page any list gives (the change feed's): a size outside 1..MOST_PAGE is refused by its field
as BAD_USER_INPUT before anything is read, so it counts once and the caller is told the contract's error."""
SIZES = ("first", "last")
SHAPES_KEPT = 1024


@dataclass(frozen=True)
class Cost:
    requested: int
    limit: int

    @property
    def over(self) -> bool:
        return self.requested > self.limit


class Costs:
    """The costs of the documents a process has seen, per shape: what their sizing variables are is read
    once per document and operation, and the cost once per values of those."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._sizing: LRU[tuple[str, str | None], tuple[str, ...]] = LRU(SHAPES_KEPT)
        self._costs: LRU[tuple[str, str | None, tuple[Any, ...]], int] = LRU(SHAPES_KEPT)

    def of(self, document: Prepared, operation_name: str | None, variables: Mapping[str, Any] | None) -> int:
        key = (document.digest, operation_name)
        sizing = self._sizing.get(key)
        if sizing is None:
            sizing = self._sizing[key] = tuple(sorted(_Walk(self.schema, document, {}).variables()))
        given = variables or {}
        values = tuple(_size(given.get(name)) for name in sizing)
        found = self._costs.get((*key, values))
        if found is None:
            walk = _Walk(self.schema, document, dict(zip(sizing, values, strict=True)))
            found = self._costs[(*key, values)] = walk.cost(operation_name)
        return found


def _size(value: Any) -> int | None:
    """A sizing variable's value, if it is one (an invalid one fails at execution, which never comes)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: Prepared, sizes: Mapping[str, int | None]) -> None:
        self.schema, self.document, self.sizes = schema, document, sizes
        self.fragments: Mapping[str, FragmentDefinitionNode] = document.fragments

    def variables(self) -> set[str]:
        """The variables that size a list anywhere in the document."""
        found: set[str] = set()
        assert self.document.document is not None
        for node in _fields(self.document.document.definitions):
            for argument in node.arguments or ():
                if argument.name.value in SIZES and isinstance(argument.value, VariableNode):
                    found.add(argument.value.name.value)
        return found

    def cost(self, operation_name: str | None) -> int:
        operation = self.document.operation(operation_name)
        root = self.schema.get_root_type(operation.operation) if operation else None
        if operation is None or root is None:
            return 0
        return self._selections(root, operation.selection_set, 1)

    def _selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode, times: int) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection, times)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                on = self.schema.get_type(fragment.type_condition.name.value)
                total += self._selections(on or parent, fragment.selection_set, times)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selections(on or parent, selection.selection_set, times)
        return total

    def _field(self, parent: GraphQLNamedType, node: FieldNode, times: int) -> int:
        if node.selection_set is None:
            return times
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        definition = fields.get(node.name.value)
        if definition is None:  # an introspection field
            return times
        inner = times * self._page(definition, node)
        return times + self._selections(get_named_type(definition.type), node.selection_set, inner)

    def _page(self, definition: GraphQLField, node: FieldNode) -> int:
        """How many items a sizable field can give: its `first` or `last`; 1 for any other field."""
        sizable = [name for name in SIZES if name in definition.args]
        if not sizable:
            return 1
        for argument in node.arguments or ():
            if argument.name.value in sizable:
                value = argument.value
                if isinstance(value, IntValueNode):
                    return _counted(int(value.value))
                if isinstance(value, VariableNode) and (size := self.sizes.get(value.name.value)) is not None:
                    return _counted(size)
        default = definition.args[sizable[0]].default_value
        return default if isinstance(default, int) else DEFAULT_PAGE


def _counted(size: int) -> int:
    return size if 1 <= size <= MOST_PAGE else 1


def _fields(nodes: Any) -> list[FieldNode]:
    """Every field node below these AST nodes."""
    found: list[FieldNode] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            found.append(node)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return found
