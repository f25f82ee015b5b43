"""Typed domain errors with stable codes; the edges map them to GraphQL errors or userErrors."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A problem the caller can fix; its code reaches the client as `extensions.code`."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(DomainError):
    code = "BAD_USER_INPUT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Timeout(DomainError):
    """A database statement ran past `CMS_STATEMENT_TIMEOUT_MS` and was stopped (`cms.db`): the request's
    answer is this error; a write it stopped is rolled back with its transaction."""

    code = "TIMEOUT"

    def __init__(self, message: str = "A database statement ran longer than the statement timeout") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, as a mutation's `userErrors` entry or an import error."""

    field: tuple[str, ...]
    code: str
    message: str


class InvalidInput(DomainError):
    """Input that cannot be written; carries every field problem found, so nothing is written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{'.'.join(e.field)}: {e.message}" for e in errors))
        self.errors = errors


class InvalidRecord(DomainError):
    """One record of a batch cannot be written: its position lets an import name the file and line."""

    def __init__(self, position: int, error: DomainError) -> None:
        super().__init__(error.message)
        self.position = position
        self.error = error
        self.code = error.code
