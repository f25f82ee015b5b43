"""Check that the schema the CMS serves still honours the public GraphQL contract.

The contract (schema/contract.graphql) is the least the API must serve: the served schema may add types,
fields, arguments and enum values, but everything a client written against the contract relies on must
still be there, under the same name, with a type that client can still send or receive.

graphql-core's schema diff does the comparison, the contract as the old schema and the served one as the new
(`find_schema_changes`, which its deprecated `find_breaking_changes` and `find_dangerous_changes` filter).
On top of it:

- every breaking change counts, and of the dangerous ones a changed or dropped default of an argument or an
  input field: a client that leaves the value out would get another one. Defaults compare as written, input
  object fields in any order. The other dangerous changes (an enum value, a union member, an interface, an
  optional argument or input field added) are the additions the contract allows;
- each root operation type is served under its contract name: graphql-core matches types by name only, so a
  plain `type Query` beside a served `schema { query: Root }` would otherwise pass.

Descriptions and deprecations are not part of the contract (it documents in comments). The contract may
`extend` its own types; build_schema applies that in one document. Needs graphql-core 3.3.
"""

from __future__ import annotations

from graphql import (
    BreakingChangeType,
    DangerousChangeType,
    GraphQLSchema,
    build_schema,
    find_schema_changes,
)

_DEFAULT_CHANGED = {
    DangerousChangeType.ARG_DEFAULT_VALUE_CHANGE,
    DangerousChangeType.INPUT_FIELD_DEFAULT_VALUE_CHANGE,
}


def _root_violations(contract: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for operation in ("query", "mutation", "subscription"):
        ours, theirs = getattr(contract, f"{operation}_type"), getattr(served, f"{operation}_type")
        if ours is not None and (theirs is None or theirs.name != ours.name):
            served_as = theirs.name if theirs is not None else "none"
            problems.append(f"The {operation} root type is {ours.name} in the contract, served {served_as}.")
    return problems


def contract_violations(contract_sdl: str, served_sdl: str) -> list[str]:
    """One human-readable line per way the served schema breaks the contract; empty when compatible."""
    contract, served = build_schema(contract_sdl), build_schema(served_sdl)
    changes = find_schema_changes(contract, served)
    breaking = [c for c in changes if isinstance(c.type, BreakingChangeType) or c.type in _DEFAULT_CHANGED]
    return [c.description for c in breaking] + _root_violations(contract, served)
