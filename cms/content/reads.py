"""Reads of a fixed shape, built once per shape and run with this call's values. Building a SQLAlchemy
statement (about 40 us) and its cache key cost more than SQLite takes to answer the short reads of a page."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    Dialect,
    Executable,
    Select,
    String,
    Table,
    TypeDecorator,
    bindparam,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeEngine

from cms.db import KEYS, SQLITE_KEYS

NOW: BindParameter[Any] = bindparam("now")
"""The request's clock reading, where a prepared statement applies the visibility rule."""


class Read(NamedTuple):
    """A prepared statement and the values of its parameters: `context.fetch(*read)`."""

    statement: Executable
    values: dict[str, Any]


class Keys(TypeDecorator[list[str]]):
    """A list of keys as one parameter: a JSON array for SQLite's json_each, an array for PostgreSQL."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(ARRAY(String) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        return json.dumps(value) if dialect.name == "sqlite" and value is not None else value


class _InKeys(ColumnElement[bool]):
    """`column` is one of the `:keys` parameter's: one statement text whatever the number of keys, so it is
    prepared once (an expanding IN has a text per count)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is: not `... = 1`, which no index serves
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("keys", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], keys: list[str] | None) -> None:
        self.column = column
        self.keys = bindparam(KEYS, keys, type_=Keys())


@compiles(_InKeys)
def _in_keys_shown(element: _InKeys, compiler: SQLCompiler, **kw: Any) -> str:
    """How str() shows it, for logs and debugging."""
    return f"{compiler.process(element.column, **kw)} IN ({compiler.process(element.keys, **kw)})"


@compiles(_InKeys, "sqlite")
def _in_json_each(element: _InKeys, compiler: SQLCompiler, **kw: Any) -> str:
    column, keys = compiler.process(element.column, **kw), compiler.process(element.keys, **kw)
    return f"{column} {SQLITE_KEYS.replace('?', keys)}"


@compiles(_InKeys, "postgresql")
def _in_array(element: _InKeys, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.keys, **kw)})"


class _Tested(ColumnElement[Any]):
    """A column that a condition tests on the rows another condition's index walks, and that no index of its
    own may serve: SQLite's unary `+` (PostgreSQL's planner weighs the two by their statistics)."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_Tested)
def _tested_as_is(element: _Tested, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_Tested, "sqlite")
def _tested_unindexed(element: _Tested, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.column, **kw)}"


def tested(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column`, to be tested rather than walked (`_Tested`)."""
    return _Tested(column)


def in_keys(column: ColumnElement[Any], keys: list[str] | None = None) -> ColumnElement[bool]:
    """`column` is one of `keys`, or of the keys the call gives (`values={"keys": [...]}`) in a statement
    built once. One such condition a statement: its parameter is named."""
    return _InKeys(column, keys)


def by_keys(table: Table, keys: list[str]) -> Read:
    """The rows of `table` whose id is among `keys`."""
    return Read(_by_keys(table), {"keys": keys})


@cache
def _by_keys(table: Table) -> Select[Any]:
    return select(*table.c).where(in_keys(table.c.id))
