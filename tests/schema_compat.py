"""Check that the schema the CMS serves still honours the public GraphQL contract.

The contract (shared/design/contract.graphql) is the least the API must serve: the served schema may add
types, fields, arguments and enum values, but everything a client written against the contract relies on
must still be there, under the same name, with a type that client can still send or receive.
Works with graphql-core 3.2 and 3.3 (defaults are read from the SDL literals, which both keep).
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    ast_from_value,
    build_schema,
    print_ast,
    specified_scalar_types,
)

try:  # graphql-core 3.3 keeps defaults as literals; only this coercion fills in input fields' defaults
    from graphql import coerce_input_literal as _coerce_literal
except ImportError:  # graphql-core 3.2
    from graphql import value_from_ast as _coerce_literal  # type: ignore[assignment]

_KINDS: tuple[tuple[type, str], ...] = (
    (GraphQLObjectType, "object"),
    (GraphQLInterfaceType, "interface"),
    (GraphQLInputObjectType, "input"),
    (GraphQLEnumType, "enum"),
    (GraphQLUnionType, "union"),
    (GraphQLScalarType, "scalar"),
)


_WithFields = GraphQLObjectType | GraphQLInterfaceType


def _kind(type_: GraphQLNamedType) -> str:
    return next(name for cls, name in _KINDS if isinstance(type_, cls))


def _same_named(a: GraphQLType, b: GraphQLType) -> bool:
    return isinstance(a, GraphQLNamedType) and isinstance(b, GraphQLNamedType) and a.name == b.name


def _output_ok(contract: GraphQLType, served: GraphQLType) -> bool:
    """Served output may be stricter: a client prepared for null is not hurt by never getting one."""
    if isinstance(contract, GraphQLNonNull):
        return isinstance(served, GraphQLNonNull) and _output_ok(contract.of_type, served.of_type)
    if isinstance(served, GraphQLNonNull):
        served = served.of_type
    if isinstance(contract, GraphQLList):
        return isinstance(served, GraphQLList) and _output_ok(contract.of_type, served.of_type)
    return _same_named(contract, served)


def _input_ok(contract: GraphQLType, served: GraphQLType) -> bool:
    """Served input may be looser: every value a client may send under the contract must still be accepted."""
    if isinstance(served, GraphQLNonNull):
        return isinstance(contract, GraphQLNonNull) and _input_ok(contract.of_type, served.of_type)
    if isinstance(contract, GraphQLNonNull):
        contract = contract.of_type
    if isinstance(served, GraphQLList):
        return isinstance(contract, GraphQLList) and _input_ok(contract.of_type, served.of_type)
    return _same_named(contract, served)


def _default(value: GraphQLArgument | GraphQLInputField, type_: GraphQLInputType) -> str | None:
    """The SDL default printed after a round trip through `type_`, or None if there is none.

    Both sides go through the contract's type, so `{a: 1, b: 2}`, `{b: 2, a: 1}` and `{a: 1}` with a
    field default `b = 2` all compare equal, as they mean the same to the server.
    """
    literal = value.ast_node.default_value if value.ast_node else None
    if literal is None:
        return None
    node = ast_from_value(_coerce_literal(literal, type_), type_)
    return print_ast(node or literal)


def _inputs(
    owner: str,
    what: str,
    contract: Mapping[str, GraphQLArgument | GraphQLInputField],
    served: Mapping[str, GraphQLArgument | GraphQLInputField],
) -> list[str]:
    """Rules shared by field arguments and input object fields: both are values clients send."""
    problems = []
    for name, c_in in contract.items():
        at = f"{owner}({name}:)" if what == "argument" else f"{owner}.{name}"
        s_in = served.get(name)
        if s_in is None:
            problems.append(f"{owner}: missing {what} {name!r}")
        elif not _input_ok(c_in.type, s_in.type):
            problems.append(f"{at}: type {c_in.type} in the contract, served as {s_in.type}")
        elif (c_default := _default(c_in, c_in.type)) is not None and (
            s_default := _default(s_in, c_in.type)
        ) != c_default:
            problems.append(f"{at}: default {c_default} in the contract, served {s_default or 'without one'}")
    for name, s_in in served.items():
        if (
            name not in contract
            and isinstance(s_in.type, GraphQLNonNull)
            and _default(s_in, s_in.type) is None
        ):
            problems.append(f"{owner}: new {what} {name!r} is required ({s_in.type}, no default)")
    return problems


def _compare(contract: GraphQLNamedType, served: GraphQLNamedType) -> list[str]:
    """Every way `served` could break a client of `contract` (two types of the same name)."""
    name = contract.name
    if _kind(contract) != _kind(served):
        return [f"{name}: is {_kind(contract)} in the contract, served as {_kind(served)}"]
    problems = []
    if isinstance(contract, _WithFields) and isinstance(served, _WithFields):
        have = {i.name for i in served.interfaces}
        problems += [
            f"{name}: does not implement {i.name}" for i in contract.interfaces if i.name not in have
        ]
        for field_name, c_field in contract.fields.items():
            s_field = served.fields.get(field_name)
            if s_field is None:
                problems.append(f"{name}: missing field {field_name!r}")
                continue
            if not _output_ok(c_field.type, s_field.type):
                problems.append(
                    f"{name}.{field_name}: type {c_field.type} in the contract, served as {s_field.type}"
                )
            problems += _inputs(f"{name}.{field_name}", "argument", c_field.args, s_field.args)
    elif isinstance(contract, GraphQLInputObjectType) and isinstance(served, GraphQLInputObjectType):
        problems += _inputs(name, "input field", contract.fields, served.fields)
    elif isinstance(contract, GraphQLEnumType) and isinstance(served, GraphQLEnumType):
        problems += [f"{name}: missing enum value {v}" for v in contract.values if v not in served.values]
    elif isinstance(contract, GraphQLUnionType) and isinstance(served, GraphQLUnionType):
        members = {t.name for t in served.types}
        problems += [
            f"{name}: missing union member {t.name}" for t in contract.types if t.name not in members
        ]
    return problems


def _schema_violations(contract: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    """Types are matched by name (clients name them in fragments), root types also by their role."""
    problems = []
    for name, c_type in contract.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        s_type = served.type_map.get(name)
        problems += [f"{name}: missing type"] if s_type is None else _compare(c_type, s_type)
    for operation in ("query", "mutation", "subscription"):
        c_root = getattr(contract, f"{operation}_type")
        s_root = getattr(served, f"{operation}_type")
        if c_root is not None and s_root is None:
            problems.append(f"schema: no {operation} root type (contract: {c_root.name})")
        elif c_root is not None:
            problems += _compare(c_root, s_root)
    return list(dict.fromkeys(problems))  # a root type named as in the contract is compared twice


def contract_violations(contract_sdl: str, served_sdl: str) -> list[str]:
    """One human-readable line per way the served schema breaks the contract; empty when compatible."""
    return _schema_violations(build_schema(contract_sdl), build_schema(served_sdl))
