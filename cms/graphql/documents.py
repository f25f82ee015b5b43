"""Documents as the pipeline sees them: parsed, validated and held to the limits once per text, whichever
engine then answers. The one place where depth, aliases and tokens are limited."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from cms.content.persisted import digest
from cms.lru import LRU

MAX_DEPTH = 12
"""Fields nested in one another, the leaf included (Strawberry's limiter counts from the root's children)."""
MAX_ALIASES = 60
MAX_TOKENS = 5000
MAX_REPEATS = 3
"""Times one response key may be asked in one selection set, fragments merged: the overlap rule compares
every pair, and 800 copies of one field took seconds of validation."""
DOCUMENTS_CACHED = 512
LIMITS = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH - 1).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)
"""Run once the document is valid: the limiters assume it is (an unknown fragment is a KeyError to them)."""
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


@dataclass(frozen=True, eq=False)
class Prepared:
    """A document's text, its sha256 (the persisted-query hash) and, if it is one that may run, its parsed
    form; else the errors that say why not, each with its `extensions.code`."""

    text: str
    digest: str
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    fragments: Mapping[str, FragmentDefinitionNode] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation `name` picks (the only one when None), if exactly one does."""
        if self.document is None:
            return None
        found = [
            d
            for d in self.document.definitions
            if isinstance(d, OperationDefinitionNode) and (name is None or (d.name and d.name.value == name))
        ]
        return found[0] if len(found) == 1 else None

    def is_query(self, name: str | None) -> bool:
        operation = self.operation(name)
        return operation is not None and operation.operation is OperationType.QUERY


def searches(document: Prepared, variables: Mapping[str, Any] | None) -> bool:
    """Whether a request may search: `search` in its document (an argument, a filter's field) or as a key
    in its variables (a filter passed whole). A false alarm only makes a request wait its turn."""
    return "search" in document.text or (variables is not None and _names_search(variables))


def _names_search(value: object) -> bool:
    if isinstance(value, Mapping):
        return "search" in value or any(_names_search(v) for v in value.values())
    if isinstance(value, list):
        return any(_names_search(v) for v in value)
    return False


@lru_cache(maxsize=DOCUMENTS_CACHED)
def parsed(text: str) -> DocumentNode:
    """The document of `text` (GraphQLError if it is not one, or longer than MAX_TOKENS)."""
    return parse(text, max_tokens=MAX_TOKENS)


_prepared: LRU[tuple[int, str], Prepared] = LRU(DOCUMENTS_CACHED)


def known(schema: GraphQLSchema, text: str) -> Prepared | None:
    """`text` as `prepare` made it before, if it is still kept."""
    return _prepared.get((id(schema), text))


def prepare(schema: GraphQLSchema, text: str) -> Prepared:
    """`text` parsed and validated against `schema` with the limits, from the cache when seen before."""
    key = (id(schema), text)
    found = _prepared.get(key)
    if found is None:
        found = _prepared[key] = _prepare(schema, text)
    return found


def _prepare(schema: GraphQLSchema, text: str) -> Prepared:
    hashed = digest(text)
    try:
        document = parsed(text)
    except GraphQLError as error:
        return Prepared(text, hashed, None, (_coded(error, PARSE_FAILED),))
    repeated = _repeated(document)
    if repeated is not None:
        return Prepared(text, hashed, None, (_coded(GraphQLError(repeated), VALIDATION_FAILED),))
    if _holds_nul(document):
        nul = GraphQLError("A string in the document holds a NUL character, which no text can store")
        return Prepared(text, hashed, None, (_coded(nul, "BAD_USER_INPUT"),))
    errors = validate(schema, document, specified_rules) or validate(schema, document, LIMITS)
    if errors:
        return Prepared(text, hashed, None, tuple(_coded(e, VALIDATION_FAILED) for e in errors))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return Prepared(text, hashed, document, (), fragments)


def _repeated(document: DocumentNode) -> str | None:
    """What a selection set asks more than MAX_REPEATS times on one type, its fragments merged in (None:
    nothing). Fragments on other types (`... on Author { slug }`, `... on Article { slug }`) ask apart."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    merged: dict[str, Counter[tuple[str, str]]] = {}

    def keys(selection_set: SelectionSetNode, on: str, inside: frozenset[str]) -> Counter[tuple[str, str]]:
        found: Counter[tuple[str, str]] = Counter()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found[on, (selection.alias or selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                found += keys(selection.selection_set, condition.name.value if condition else on, inside)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in inside:  # a cycle is the validator's to report
                    if name not in merged:
                        fragment = fragments[name]
                        named = fragment.type_condition.name.value
                        merged[name] = keys(fragment.selection_set, named, inside | {name})
                    found += merged[name]
        return found

    stack: list[Node] = list(document.definitions)
    while stack:
        node = stack.pop()
        selection_set = getattr(node, "selection_set", None)
        if selection_set is None:
            continue
        for (_, key), times in keys(selection_set, "", frozenset()).items():
            if times > MAX_REPEATS:
                return f"'{key}' is asked {times} times in one selection set: at most {MAX_REPEATS}"
        stack.extend(selection_set.selections)
    return None


class _Nul(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found = self.found or "\x00" in node.value


def _holds_nul(document: DocumentNode) -> bool:
    finder = _Nul()
    visit(document, finder)
    return finder.found


def _coded(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error
