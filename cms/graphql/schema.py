"""The served schema: root types, error handling, and parsed and validated documents cached (the limits are
the pipeline's: `cms.graphql.documents`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from cms.content.errors import DomainError
from cms.graphql.documents import DOCUMENTS_CACHED, parsed
from cms.graphql.errors import ErrorCodes
from cms.graphql.mutations import Mutation
from cms.graphql.nodes import Article, Author, Category, Source
from cms.graphql.query import Query


class ParsedDocuments(SchemaExtension):
    """Parse each document text once, from the pipeline's cache (`cms.graphql.documents`). A text that does
    not parse is left to Strawberry, which reports the syntax error the usual way (strawberry's ParserCache
    lets it escape instead)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = parsed(context.query)
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


def parse_datetime(value: object) -> datetime:
    """A DateTime the caller gives: ISO 8601 with its time zone (a time without one names no instant: one
    rule for every argument, filters and writes alike), kept in UTC, which must hold it."""
    if not isinstance(value, str):
        raise ValueError("a DateTime is an ISO 8601 string, e.g. 2027-01-31T09:00:00Z")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"give a time zone, e.g. {value}Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value} is outside the years 1 to 9999 in UTC") from None


DATETIME = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=lambda value: value.isoformat(),
    parse_value=parse_datetime,
)


def build_schema() -> Schema:
    """The schema; its SDL is the artifact in schema/schema.graphql."""
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Article, Author, Category, Source],
        extensions=[
            ErrorCodes,
            ParsedDocuments,
            lambda: ValidationCache(maxsize=DOCUMENTS_CACHED),
        ],
        config=StrawberryConfig(auto_camel_case=True),
        scalar_overrides={datetime: DATETIME},
    )


schema = build_schema()
