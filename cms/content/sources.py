"""Sources of provenance: the list order and the kind filter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true

from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.models import Source, table_of

SOURCE = table_of(Source)
COLUMNS = list(SOURCE.columns)
BY_NAME = SortKey("Source:NAME:ASC", SOURCE.c.name, SOURCE.c.id, descending=False)


def _of_kind(kind: str | None) -> ColumnElement[bool]:
    return SOURCE.c.kind == kind if kind else true()


def page_statement(*, kind: str | None, page: PageRequest) -> Select[Any]:
    return keyset_page(COLUMNS, sort=BY_NAME, where=[_of_kind(kind)], page=page)


def count_statement(*, kind: str | None) -> Select[Any]:
    return select(func.count()).select_from(Source).where(_of_kind(kind))
