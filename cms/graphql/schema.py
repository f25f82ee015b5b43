"""The served schema: root types, error handling, safety limits, and parsed and validated documents cached."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
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
            lambda: ParserCache(maxsize=DOCUMENTS_CACHED),
            lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
