"""Compiling an operation into Shapes: fields collected as GraphQL collects them, and each field mapped by the
`fields` registry. What the registry does not know makes the operation Unplannable, with the field named."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLIncludeDirective,
    GraphQLInputType,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLString,
    InlineFragmentNode,
    Node,
    SelectionSetNode,
    Undefined,
    VariableNode,
    Visitor,
    get_named_type,
    is_non_null_type,
    is_required_argument,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from graphql.utilities.coerce_input_value import coerce_default_value, coerce_input_literal
from strawberry.types.arguments import convert_arguments

from cms.content.keys import LISTS
from cms.graphql.plan.shapes import Arguments, Polymorphic, Run, Selection, Shape, Slot, Value
from cms.lru import LRU

ARGUMENTS_KEPT = 256
"""Converted arguments a field keeps, by the values of the variables in them."""
_ABSENT: Any = object()  # a variable not given, which is not a null given


class Unplannable(Exception):
    """The operation asks for something the planner does not cover: Strawberry answers it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Fields = dict[str, list[FieldNode]]
FieldCompiler = Callable[["Compiler", "Selected"], Slot]
Serializer = Callable[[Any], Any]
BUILT_IN = (GraphQLString, GraphQLInt, GraphQLBoolean, GraphQLID, GraphQLFloat)
"""Scalars whose Python values are their JSON already: they need no serializer."""


@dataclass(frozen=True)
class Selected:
    """One response key: its field's nodes (merged), definition, and parent type."""

    key: str
    nodes: list[FieldNode]
    definition: GraphQLField
    parent: GraphQLObjectType

    @property
    def name(self) -> str:
        return self.nodes[0].name.value


@dataclass
class Compiler:
    """Compiles one operation under the values of the variables that decide its shape."""

    schema: GraphQLSchema
    strawberry_schema: Any
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues
    registry: Mapping[tuple[str, str], FieldCompiler]
    shape_variables: set[str] = field(default_factory=set)

    def shape(self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode]) -> Shape:
        collected: Fields = {}
        for selection_set in selection_sets:
            self._collect(type_, selection_set, collected, set())
        slots = []
        for key, nodes in collected.items():
            name = nodes[0].name.value
            if name == "__typename":
                slots.append(_typename(key, type_.name))
                continue
            compile_field = self.registry.get((type_.name, name))
            if compile_field is None:
                raise Unplannable(f"{type_.name}.{name}")
            slots.append(compile_field(self, Selected(key, nodes, type_.fields[name], type_)))
        return Shape(type_.name, slots, keyed=type_.name in LISTS)

    def child(self, selected: Selected, type_name: str | None = None) -> Shape:
        """The Shape of a field's merged sub-selections on its (or the given concrete) object type."""
        named = self.schema.get_type(type_name) if type_name else get_named_type(selected.definition.type)
        assert isinstance(named, GraphQLObjectType)
        return self.shape(named, [node.selection_set for node in selected.nodes if node.selection_set])

    def selection(self, selected: Selected) -> Selection:
        """The field's sub-selections: a Shape on an object type, a Shape per implementation on an
        interface (whose objects are `Tagged`)."""
        named = get_named_type(selected.definition.type)
        if isinstance(named, GraphQLInterfaceType):
            possible = self.schema.get_possible_types(named)
            return Polymorphic({type_.name: self.child(selected, type_.name) for type_ in possible})
        return self.child(selected)

    def composite(self, selected: Selected) -> bool:
        """Whether the field's values are objects (with a selection set) rather than leaves."""
        return isinstance(get_named_type(selected.definition.type), GraphQLObjectType | GraphQLInterfaceType)

    def many(self, selected: Selected) -> bool:
        """Whether the field is a list."""
        type_ = selected.definition.type
        return isinstance(type_.of_type if isinstance(type_, GraphQLNonNull) else type_, GraphQLList)

    def serializer(self, selected: Selected) -> Serializer | None:
        """How a leaf's Python value becomes JSON, as GraphQL serializes it (a DateTime's ISO text, an enum
        value's name); None when the value is its JSON already."""
        return _serializer(selected.definition.type)

    def arguments(self, selected: Selected) -> Arguments:
        """The field's arguments as its resolver gets them (Strawberry's input objects, Python names):
        worked out once here unless a variable is in them, and then once per values of those variables
        (hashable ones: a page size, a slug), for the plan's later runs. Converting a list's arguments cost
        a card page about 0.15 ms; nothing changes them once made."""
        constant = self.fixed_arguments(selected)
        if constant is not None:
            return lambda run: constant
        convert = self._converter(selected)
        names = _variables_in(selected.nodes[0])
        kept: LRU[Any, dict[str, Any]] = LRU(ARGUMENTS_KEPT)

        def arguments(run: Run) -> dict[str, Any]:
            key = tuple(run.variables.coerced.get(name, _ABSENT) for name in names)
            return kept.make(key, lambda: convert(run.variables)) or {}

        return arguments

    def fixed_arguments(self, selected: Selected) -> dict[str, Any] | None:
        """The field's arguments when no variable is in them, else None (they are known only at run)."""
        return None if _variables_in(selected.nodes[0]) else self._converter(selected)(None)

    def _converter(self, selected: Selected) -> Callable[[VariableValues | None], dict[str, Any]]:
        """Strawberry's conversion; for arguments that are all built-in scalars (a slug, a page size), only
        their names change, and that is all done here (Strawberry's costs 20 us a field)."""
        definition, node = selected.definition, selected.nodes[0]
        arguments = definition.extensions["strawberry-definition"].arguments
        schema = self.strawberry_schema
        if all(_builtin_scalar(argument.type) for argument in definition.args.values()):
            names = [(schema.config.name_converter.from_argument(a), a.python_name) for a in arguments]

            def renamed(variables: VariableValues | None) -> dict[str, Any]:
                raw = get_argument_values(definition, node, variables)
                return {python: raw[name] for name, python in names if name in raw}

            return _read_directly(definition, node, dict(names), renamed) or renamed

        def converted(variables: VariableValues | None) -> dict[str, Any]:
            raw = get_argument_values(definition, node, variables)
            return convert_arguments(raw, arguments, schema.schema_converter.scalar_registry, schema.config)

        return converted

    def _collect(
        self, type_: GraphQLObjectType, selection_set: SelectionSetNode, out: Fields, visited: set[str]
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, type_):
                    self._collect(type_, selection.selection_set, out, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, type_):
                    self._collect(type_, fragment.selection_set, out, visited)

    def _included(self, node: Any) -> bool:
        """@skip and @include; the variables they read become part of the plan's cache key."""
        for directive in node.directives or ():
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.shape_variables.add(argument.value.name.value)
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include["if"] is False)

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        if condition == type_.name:
            return True
        abstract = self.schema.get_type(condition)
        return isinstance(abstract, GraphQLInterfaceType) and abstract in type_.interfaces


def _builtin_scalar(type_: GraphQLInputType) -> bool:
    """A built-in scalar, or a list of them (`fallbackLanguages`): Strawberry would hand it on as it is."""
    if isinstance(type_, GraphQLNonNull | GraphQLList):
        return _builtin_scalar(type_.of_type)
    return type_ in BUILT_IN


def _read_directly(
    definition: GraphQLField,
    node: FieldNode,
    names: dict[str, str],
    coerced: Callable[[VariableValues | None], dict[str, Any]],
) -> Callable[[VariableValues | None], dict[str, Any]] | None:
    """Built-in scalar arguments read straight from the coerced variables, with the defaults and literals
    coerced here once: graphql-core's `get_argument_values` does the same work again for every request.
    A value it would refuse (a null or a missing variable where one is required) goes to `coerced`, which
    raises its error; None when an argument is a literal holding variables, which only `coerced` reads."""
    given = {argument.name.value: argument.value for argument in node.arguments or ()}
    steps: list[tuple[str, str | None, Any, bool, bool]] = []  # name, variable, value, non-null, required
    for name, argument in definition.args.items():
        python, value_node = names.get(name), given.get(name)
        if python is None:
            continue
        default = coerce_default_value(argument)
        if isinstance(value_node, VariableNode):
            required = is_required_argument(argument)
            steps.append((python, value_node.name.value, default, is_non_null_type(argument.type), required))
            continue
        if value_node is not None:
            if _variables_of(value_node):
                return None
            default = coerce_input_literal(value_node, argument.type)
        if default is not Undefined:
            steps.append((python, None, default, False, False))

    def read(variables: VariableValues | None) -> dict[str, Any]:
        values = variables.coerced if variables is not None else {}
        out: dict[str, Any] = {}
        for python, variable, default, non_null, required in steps:
            if variable is None:
                out[python] = default
            elif variable in values:
                value = values[variable]
                if value is None and non_null:
                    return coerced(variables)
                out[python] = value
            elif required:
                return coerced(variables)
            elif default is not Undefined:
                out[python] = default
        return out

    return read


def _serializer(type_: GraphQLOutputType) -> Serializer | None:
    if isinstance(type_, GraphQLNonNull):
        return _serializer(type_.of_type)
    if isinstance(type_, GraphQLList):
        each = _serializer(type_.of_type)
        return None if each is None else lambda values: None if values is None else [each(v) for v in values]
    if isinstance(type_, GraphQLEnumType):
        names = {value.value: name for name, value in type_.values.items()}
        if all(value == name for value, name in names.items()):
            return None
        return lambda value: None if value is None else names[value]
    if type_ in BUILT_IN or not isinstance(type_, GraphQLScalarType):
        return None
    serialize = type_.serialize
    return lambda value: None if value is None else serialize(value)


def _typename(key: str, name: str) -> Slot:
    return Value(key, lambda obj, run: name)


class _VariableFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, None] = {}

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.found[node.name.value] = None


def _variables_in(node: FieldNode) -> tuple[str, ...]:
    """The variables a field's arguments read, in order, once each."""
    return tuple(dict.fromkeys(name for argument in node.arguments or () for name in _variables_of(argument)))


def _variables_of(node: Node) -> dict[str, None]:
    finder = _VariableFinder()
    visit(node, finder)
    return finder.found
