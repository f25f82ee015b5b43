"""Reads of a fixed shape, built once per shape and run with this call's values. Building a SQLAlchemy
statement (about 40 us) and its cache key cost more than SQLite takes to answer the short reads of a page."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, ColumnElement, Executable, Select, Table, bindparam, select

NOW: BindParameter[Any] = bindparam("now")
"""The request's clock reading, where a prepared statement applies the visibility rule."""


class Read(NamedTuple):
    """A prepared statement and the values of its parameters: `context.fetch(*read)`."""

    statement: Executable
    values: dict[str, Any]


def in_keys(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """`column IN (:keys)`, expanded to as many placeholders as the call gives keys."""
    return column.in_(bindparam("keys", expanding=True))


def by_keys(table: Table, keys: list[str]) -> Read:
    """The rows of `table` whose id is among `keys`."""
    return Read(_by_keys(table), {"keys": keys})


@cache
def _by_keys(table: Table) -> Select[Any]:
    return select(*table.c).where(in_keys(table.c.id))
