"""The planner: a query document that Strawberry would accept is compiled once into a plan, then run with no
per-field resolution. What it cannot plan, or a request that ends in an error, runs on Strawberry, counted by
reason: Strawberry stays the schema, the validator, the fallback and the reference.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableDefinitionNode,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.utilities import coerce_input_value
from graphql.utilities.coerce_input_value import coerce_default_value
from strawberry.types import ExecutionResult

from cms.content.errors import DomainError, Timeout
from cms.graphql.context import Context
from cms.graphql.documents import Prepared
from cms.graphql.plan.compiler import Compiler, Unplannable
from cms.graphql.plan.registry import registry_of
from cms.graphql.plan.shapes import ROOT, Run, Shape
from cms.graphql.schema import Schema
from cms.lru import LRU

log = logging.getLogger("cms.planner")
PLANS_CACHED = 512
VARIABLES_KEPT = 256
"""Coerced variables a document keeps, by their values."""


@dataclass(frozen=True)
class Plan:
    root: Shape


@dataclass
class _Entry:
    """What is known of one (document, operation): the variables that decide its shape, and a plan (or the
    reason there is none) for each of their values seen."""

    operation: OperationDefinitionNode | None
    fragments: Mapping[str, FragmentDefinitionNode]
    shape_variables: tuple[str, ...] | None = None
    plans: dict[tuple[Any, ...], Plan | str] | None = None
    coerced: LRU[Any, VariableValues] = field(default_factory=lambda: LRU(VARIABLES_KEPT))
    leaves: Callable[[dict[str, Any]], VariableValues | None] | None = None
    """Its variables' coercion when all are leaves (`_leaves`)."""


class Planner:
    """Plans per document; `fallbacks` counts, per reason, the requests Strawberry answered instead."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.fallbacks: Counter[str] = Counter()
        self.planned = 0
        self.registry = registry_of(schema._schema)
        self._entries: LRU[tuple[str, str | None], _Entry] = LRU(PLANS_CACHED)

    async def run(
        self,
        document: Prepared,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> ExecutionResult | None:
        """The result of a planned run of a query, or None: Strawberry must answer (and the reason is
        counted). A statement stopped by the statement timeout raises `Timeout` for the caller to answer."""
        entry = self._entry(document, operation_name)
        if entry.operation is None:
            return self._fallback("not a valid query")
        coerced = self._coerced(entry, variables or {})
        if coerced is None:
            return self._fallback("variables")
        plan = self._plan(entry, coerced)
        if isinstance(plan, str):
            return self._fallback(plan)
        run = Run(context, coerced)
        try:
            await plan.root.load([ROOT], run)
            data = plan.root.build(ROOT, run)
        except Timeout:  # the caller answers it: Strawberry would only run the slow statement again
            raise
        except DomainError as error:  # Strawberry reports it, in the contract's words
            return self._fallback(f"error: {error.code}")
        except Unplannable as error:  # found only with the values in hand
            return self._fallback(f"unplanned {error.reason}")
        except Exception:  # Strawberry runs it again, and masks what fails there as well
            log.exception("planner: unexpected error [request %s]", context.request_id)
            return self._fallback("unexpected error")
        self.planned += 1
        return ExecutionResult(data=data, errors=None)

    def _coerced(self, entry: _Entry, variables: dict[str, Any]) -> VariableValues | None:
        """The variables coerced to their types (None if they do not fit), kept per document by their values:
        coercing them costs an article page 20 us. A value's type is part of the key, for `true`, `1` and
        `1.0` are equal in Python but not in GraphQL."""
        assert entry.operation is not None
        definitions = entry.operation.variable_definitions or ()

        def coerce() -> VariableValues | None:
            if entry.leaves is not None and (quick := entry.leaves(variables)) is not None:
                return quick
            coerced = get_variable_values(self.schema._schema, definitions, variables)
            return coerced if isinstance(coerced, VariableValues) else None

        key = tuple((name, type(value), value) for name, value in variables.items())
        return entry.coerced.make(key, coerce)

    def _fallback(self, reason: str) -> ExecutionResult | None:
        """No result: Strawberry answers, for this reason (counted)."""
        self.fallbacks[reason] += 1
        log.debug("planner: Strawberry answers (%s)", reason)
        return None

    def _entry(self, document: Prepared, operation_name: str | None) -> _Entry:
        key = (document.text, operation_name)
        entry = self._entries.get(key)
        if entry is None:
            operation = document.operation(operation_name)
            if operation is not None and operation.operation is not OperationType.QUERY:
                operation = None
            entry = self._entries[key] = _Entry(operation, document.fragments)
            if operation is not None:
                entry.leaves = _leaves(self.schema._schema, operation.variable_definitions or ())
        return entry

    def _plan(self, entry: _Entry, variables: VariableValues) -> Plan | str:
        assert entry.operation is not None
        if entry.shape_variables is not None and entry.plans is not None:
            values = tuple(variables.coerced.get(name) for name in entry.shape_variables)
            if values in entry.plans:
                return entry.plans[values]
        compiler = Compiler(self.schema._schema, self.schema, entry.fragments, variables, self.registry)
        query_type = self.schema._schema.query_type
        assert query_type is not None
        plan: Plan | str
        try:
            plan = Plan(compiler.shape(query_type, [entry.operation.selection_set]))
        except Unplannable as error:
            plan = f"unplanned field {error.reason}"
            name = entry.operation.name.value if entry.operation.name else "anonymous"
            log.info("planner: query %s runs on the resolvers (%s)", name, plan)
        entry.shape_variables = tuple(sorted(compiler.shape_variables))
        values = tuple(variables.coerced.get(name) for name in entry.shape_variables)
        entry.plans = entry.plans or {}
        entry.plans[values] = plan
        return plan


def _leaves(
    schema: GraphQLSchema, definitions: Sequence[VariableDefinitionNode]
) -> Callable[[dict[str, Any]], VariableValues | None] | None:
    """The coercion of an operation's variables when each is a scalar, an enum or a list of them (a slug, a
    page size, languages), with their types and defaults worked out here once: graphql-core's
    `get_variable_values` works them out from the AST again for every request. None when a variable is an
    input object (a filter), whose depth graphql-core checks. The function gives None for values it would
    not take as they are (a missing or null required value, a wrong type): graphql-core then says why."""
    signatures = [get_variable_signature(schema, definition) for definition in definitions]
    steps = []
    for signature, definition in zip(signatures, definitions, strict=True):
        if isinstance(signature, GraphQLError) or not is_leaf_type(get_named_type(signature.type)):
            return None
        default = coerce_default_value(signature) if definition.default_value else Undefined
        steps.append((signature, default, is_non_null_type(signature.type)))

    def coerce(inputs: dict[str, Any]) -> VariableValues | None:
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for signature, default, non_null in steps:
            name = signature.name
            value = inputs.get(name, Undefined)
            if value is Undefined:
                sources[name] = VariableValueSource(signature)
                if default is not Undefined:
                    coerced[name] = default
                elif non_null:
                    return None
                continue
            sources[name] = VariableValueSource(signature, value)
            coerced[name] = coerce_input_value(value, signature.type)
            if coerced[name] is Undefined:
                return None
        return VariableValues(sources, coerced)

    return coerce
