"""Errors at the edge: domain errors get their code, anything unexpected is logged and masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from cms.content.errors import DomainError

log = logging.getLogger("cms.graphql")


class ErrorCodes(SchemaExtension):
    """Give every error an `extensions.code`; never let an internal message or trace reach the client."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", None)
        result.errors = [self._coded(error, request_id) for error in result.errors]

    @staticmethod
    def _coded(error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        if original is None:
            code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
            error.extensions = {**(error.extensions or {}), "code": code}
            return error
        if isinstance(original, DomainError):
            error.extensions = {**(error.extensions or {}), "code": original.code}
            return error
        if isinstance(original, GraphQLError):
            return error
        log.error("unexpected error [request %s] at %s", request_id, error.path, exc_info=original)
        return GraphQLError(
            "Internal server error",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
