"""Relay pagination in one place: page-size rules, opaque keyset cursors over (sort key, id), pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, UnaryExpression, bindparam, select, tuple_

from cms.content.errors import BadInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
AFTER_KEY, AFTER_ID = "after_key", "after_id"
R = TypeVar("R")
_compact = json.JSONEncoder(separators=(",", ":")).encode
"""json.dumps(..., separators=(",", ":")) without making an encoder a call: a page of edges makes 20."""


@dataclass(frozen=True)
class PageRequest:
    """A validated request for one page: `size` items after/before a cursor, forwards or backwards."""

    size: int
    forward: bool = True
    cursor: str | None = None

    @classmethod
    def of(
        cls,
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        default: int = DEFAULT_PAGE_SIZE,
        most: int = MAX_PAGE_SIZE,
    ) -> PageRequest:
        """Check the arguments of a connection field the way the contract says."""
        if first is not None and last is not None:
            raise BadInput("give either first or last, not both")
        if after is not None and before is not None:
            raise BadInput("give either after or before, not both")
        if last is not None or before is not None:
            if after is not None or first is not None:
                raise BadInput("paginate forwards (first/after) or backwards (last/before), not both")
            return cls(size=_checked("last", last, default, most), forward=False, cursor=before)
        return cls(size=_checked("first", first, default, most), forward=True, cursor=after)


def _checked(name: str, value: int | None, default: int, most: int) -> int:
    if value is None:
        return default
    if not 1 <= value <= most:
        raise BadInput(f"{name} must be between 1 and {most}, got {value}")
    return value


@dataclass(frozen=True)
class SortKey:
    """One ordering of one list: its SQL key, direction, and how the key travels inside a cursor.

    `tag` names the list and the order; a cursor made under one tag is refused under another.
    """

    tag: str
    key: ColumnElement[Any]
    id_column: ColumnElement[Any]
    descending: bool
    dump: Callable[[Any], Any] = lambda value: value
    load: Callable[[Any], Any] = lambda value: value

    def order_by(self, forward: bool = True) -> list[UnaryExpression[Any]]:
        """ORDER BY for this sort, reversed when walking backwards."""
        descending = self.descending if forward else not self.descending
        return [col.desc() if descending else col.asc() for col in (self.key, self.id_column)]

    def cursor(self, key_value: Any, item_id: str | int) -> str:
        payload = _compact([self.tag, self.dump(key_value), item_id])
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def seek(self, cursor: str, forward: bool = True) -> ColumnElement[bool]:
        """Keyset condition: the rows strictly after (or before) the cursor's row in this order. Its values
        are the named parameters of `after`, so a statement built once can be run with another cursor's."""
        found = self.after(cursor)
        at = tuple_(
            bindparam(AFTER_KEY, found[AFTER_KEY], type_=self.key.type),
            bindparam(AFTER_ID, found[AFTER_ID], type_=self.id_column.type),
        )
        pair = tuple_(self.key, self.id_column)
        return pair < at if self.descending == forward else pair > at

    def after(self, cursor: str | None) -> dict[str, Any]:
        """The values of `seek`'s parameters for this cursor (none without one)."""
        if cursor is None:
            return {}
        value, item_id = self._decode(cursor)
        return {AFTER_KEY: value, AFTER_ID: item_id}

    def _decode(self, cursor: str) -> tuple[Any, str | int]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            tag, value, item_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
            raise BadInput(f"malformed cursor: {cursor!r}") from error
        if tag != self.tag or not isinstance(item_id, str | int):
            raise BadInput("this cursor belongs to another list or order")
        try:
            return self.load(value), item_id
        except (TypeError, ValueError) as error:
            raise BadInput(f"malformed cursor: {cursor!r}") from error


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of rows in display order, with the Relay page flags."""

    rows: Sequence[R]
    has_next: bool
    has_previous: bool


def page_of(rows: Sequence[R], request: PageRequest) -> Page[R]:
    """Trim the one extra row fetched to learn whether more exist, and restore display order."""
    more = len(rows) > request.size
    rows = rows[: request.size]
    if request.forward:
        return Page(rows=rows, has_next=more, has_previous=request.cursor is not None)
    return Page(rows=rows[::-1], has_next=request.cursor is not None, has_previous=more)


def keyset_page(
    columns: Sequence[Any], *, sort: SortKey, where: Sequence[ColumnElement[bool]], page: PageRequest
) -> Select[Any]:
    """SELECT one page (plus one row, to learn whether more exist) of any list under a keyset sort. The seek
    comes first: SQLite bounds an index range by the first bound it meets on a column, and behind the
    visibility rule's `published_at <= now` the 400th page of a walk read 40,000 index entries, not 101."""
    conditions = [sort.seek(page.cursor, page.forward)] if page.cursor is not None else []
    conditions.extend(where)
    return (
        select(*columns, sort.key.label("sort_key"))
        .where(*conditions)
        .order_by(*sort.order_by(page.forward))
        .limit(page.size + 1)
    )
