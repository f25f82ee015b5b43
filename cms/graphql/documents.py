"""Documents as the pipeline sees them: parsed, validated and held to the limits once per text, whichever
engine then answers. The one place where depth, aliases and tokens are limited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from cms.content.persisted import digest

MAX_DEPTH = 12
MAX_ALIASES = 60
MAX_TOKENS = 5000
DOCUMENTS_CACHED = 512
RULES = (
    *specified_rules,
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)
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


@lru_cache(maxsize=DOCUMENTS_CACHED)
def parsed(text: str) -> DocumentNode:
    """The document of `text` (GraphQLError if it is not one, or longer than MAX_TOKENS)."""
    return parse(text, max_tokens=MAX_TOKENS)


def prepare(schema: GraphQLSchema, text: str) -> Prepared:
    """`text` parsed and validated against `schema` with the limits, from the cache when seen before."""
    return _prepare(schema, text)


@lru_cache(maxsize=DOCUMENTS_CACHED)
def _prepare(schema: GraphQLSchema, text: str) -> Prepared:
    hashed = digest(text)
    try:
        document = parsed(text)
    except GraphQLError as error:
        return Prepared(text, hashed, None, (_coded(error, PARSE_FAILED),))
    errors = validate(schema, document, RULES)
    if errors:
        return Prepared(text, hashed, None, tuple(_coded(e, VALIDATION_FAILED) for e in errors))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return Prepared(text, hashed, document, (), fragments)


def _coded(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error
