"""Sources of provenance: the list order and the kind filter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true

from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.models import Source, table_of

COLUMNS = list(table_of(Source).columns)
BY_NAME = SortKey("Source:NAME:ASC", Source.name, Source.id, descending=False)  # type: ignore[arg-type]


def _of_kind(kind: str | None) -> ColumnElement[bool]:
    return Source.kind == kind if kind else true()  # type: ignore[return-value]


def page_statement(*, kind: str | None, page: PageRequest) -> Select[Any]:
    return keyset_page(COLUMNS, sort=BY_NAME, where=[_of_kind(kind)], page=page)


def count_statement(*, kind: str | None) -> Select[Any]:
    return select(func.count()).select_from(Source).where(_of_kind(kind))
