"""The served schema: root types, error handling, safety limits, and parsed and validated documents cached."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import strawberry
from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from cms.content.errors import DomainError
from cms.graphql.errors import ErrorCodes
from cms.graphql.mutations import Mutation
from cms.graphql.nodes import Article, Author, Category, Source
from cms.graphql.query import Query

MAX_DEPTH = 12
MAX_ALIASES = 60
MAX_TOKENS = 5000
DOCUMENTS_CACHED = 512
# The limiters' rules are built once: rule classes made per request would miss the validation cache.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


_parse = lru_cache(maxsize=DOCUMENTS_CACHED)(parse)


def parsed(query: str) -> DocumentNode:
    """A document parsed as Strawberry parses it here (the token limit included), from the same cache."""
    return _parse(query, max_tokens=MAX_TOKENS)


class ParsedDocuments(SchemaExtension):
    """Parse each document text once. A text that does not parse is left to Strawberry, which parses it
    again and reports the syntax error the usual way (strawberry's ParserCache lets it escape instead)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = _parse(context.query, **context.parse_options)
        except GraphQLError:
            pass
        yield


class Schema(strawberry.Schema):
    """Logs only what went wrong on our side: a caller's mistake is answered, not logged as a failure."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [
            error
            for error in errors
            if error.original_error is not None
            and not isinstance(error.original_error, DomainError | GraphQLError)
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema() -> Schema:
    """The schema; its SDL is the artifact in schema/schema.graphql."""
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Article, Author, Category, Source],
        extensions=[
            ErrorCodes,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: AddValidationRules(LIMIT_RULES),
            ParsedDocuments,
            lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
