"""The surrogate keys of a public answer (`cms.content.keys`): the list keys its document's fields depend
on, read off the document once, and the item keys of every item the engines put in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    SelectionSetNode,
)

from cms.content import keys
from cms.graphql.documents import Prepared

RELATIONS = frozenset({"Author", "Source"})
"""An item's own list of these (an article's bylines and sources) changes only with the item: its key
covers the list, and the listed items' keys cover their fields."""
EVERY_LIST = tuple(sorted(keys.LISTS.values()))


@dataclass(frozen=True)
class Depends:
    """What a document's answers depend on besides their items: `lists`, always; and per root lookup (its
    response key), the list keys it depends on when it finds nothing."""

    lists: frozenset[str]
    lookups: tuple[tuple[str, tuple[str, ...]], ...]

    def of(self, data: Mapping[str, Any] | None, items: Iterable[str]) -> str:
        """The Surrogate-Key header of an answer with this `data` holding these item keys."""
        found = set(self.lists) | set(items)
        for response_key, missing in self.lookups:
            if data is None or data.get(response_key) is None:
                found.update(missing)
        return keys.header(found)


@lru_cache(maxsize=512)
def depends(schema: GraphQLSchema, document: Prepared, operation_name: str | None) -> Depends:
    operation = document.operation(operation_name)
    root = schema.query_type
    if operation is None or root is None:
        return Depends(frozenset(EVERY_LIST), ())
    walk = _Walk(schema, document.fragments)
    walk.selections(root, operation.selection_set, root=True)
    return Depends(frozenset(walk.lists), tuple(walk.lookups))


class _Walk:
    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.schema, self.fragments = schema, fragments
        self.lists: set[str] = set()
        self.lookups: list[tuple[str, tuple[str, ...]]] = []

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode, *, root: bool) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(parent, selection, root=root)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                self.selections(
                    self._type(fragment.type_condition.name.value), fragment.selection_set, root=root
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self._type(condition.name.value) if condition else parent
                self.selections(on, selection.selection_set, root=root)

    def field(self, parent: GraphQLNamedType, node: FieldNode, *, root: bool) -> None:
        if (
            not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            or node.name.value not in parent.fields
        ):
            return  # __typename, or a field of an introspection type
        named, many = _unwrapped(parent.fields[node.name.value].type)
        item = _item_of_connection(named)
        if item is not None:
            self.lists.add(keys.LISTS.get(item, keys.ARTICLES))
        elif many and named.name in keys.LISTS:
            if not (named.name in RELATIONS and parent.name in keys.LISTS):
                self.lists.add(keys.LISTS[named.name])
        elif many and root:
            self.lists.add(keys.ARTICLES)  # a root list of something else: the change feed
        elif root and (named.name in keys.LISTS or isinstance(named, GraphQLInterfaceType)):
            missing = (keys.LISTS[named.name],) if named.name in keys.LISTS else EVERY_LIST
            self.lookups.append(((node.alias or node.name).value, missing))
        if node.selection_set is not None:
            self.selections(named, node.selection_set, root=False)

    def _type(self, name: str) -> GraphQLNamedType:
        found = self.schema.get_type(name)
        assert found is not None, f"validated documents name known types: {name}"
        return found


def _unwrapped(type_: GraphQLType) -> tuple[GraphQLNamedType, bool]:
    many = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        many = many or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    assert isinstance(type_, GraphQLNamedType)
    return type_, many


def _item_of_connection(type_: GraphQLNamedType) -> str | None:
    """The item type's name of a connection (a type with a list of `nodes`), else None."""
    if not isinstance(type_, GraphQLObjectType) or "nodes" not in type_.fields:
        return None
    named, many = _unwrapped(type_.fields["nodes"].type)
    return named.name if many else None
