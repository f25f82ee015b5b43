"""The public's totals from the counters the writes keep (migration 0018's published_count): a counter holds
the PUBLISHED articles of its scope whatever their publishedAt, and the public's total is that less the
scope's PUBLISHED articles still ahead of their time (`visibility.held_back`), few and found by the
visible-order index: exact at a scheduled instant with no job, where counting the visible articles read
them all at every request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    column,
    func,
    select,
    table,
)

from cms.content.reads import in_keys

PUBLISHED_COUNT = table(
    "published_count", column("kind", String), column("key", String), column("n", BigInteger)
)
_COUNTER = PUBLISHED_COUNT.c
KIND, KEY = "counted_kind", "counted_key"
"""Parameters: the counter's kind, and a root list's key (one statement for every language)."""
ALL, LANGUAGE, CATEGORY, AUTHOR, TAG = "all", "language", "category", "author", "tag"


def source_kind(role: str | None) -> str:
    """A source's counter: its articles, or those citing it in one role."""
    return "source" if role is None else f"source:{role}"


def _of_kind() -> ColumnElement[bool]:
    return _COUNTER.kind == bindparam(KIND, type_=String)


def counted(keys: ColumnElement[bool] | None = None) -> Any:
    """The sum of the kind's counters whose key meets `keys` (else is the `counted_key` parameter)."""
    key = _COUNTER.key == bindparam(KEY, type_=String) if keys is None else keys
    return select(func.coalesce(total(_COUNTER.n), 0)).where(_of_kind(), key).scalar_subquery()


def total(n: Any) -> ColumnElement[int]:
    """A sum of counts as an integer (PostgreSQL's sum of BIGINT is NUMERIC)."""
    return cast(func.sum(n), BigInteger)


def counted_in_keys() -> Any:
    """`counted` over the `keys` parameter's keys: one subtree's categories, or one parent."""
    return counted(in_keys(_COUNTER.key))


def counted_by_parent(pairs: Any | None) -> Select[Any]:
    """(parent_key, n) rows: each of the `keys` parameter's counters as its own parent's, or, with `pairs`
    (a subquery of (parent_key, key) rows), the sum of each parent's keys' counters."""
    if pairs is None:
        return select(_COUNTER.key.label("parent_key"), _COUNTER.n).where(_of_kind(), in_keys(_COUNTER.key))
    joined = pairs.join(PUBLISHED_COUNT, and_(_of_kind(), _COUNTER.key == pairs.c.key))
    return select(pairs.c.parent_key, _COUNTER.n).select_from(joined)


def key_in(pairs: Select[Any]) -> ColumnElement[bool]:
    """A counter's key is one of `pairs`' keys (one parent's)."""
    return _COUNTER.key.in_(select(pairs.subquery("keys").c.key))
