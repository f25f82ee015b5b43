"""Authors: the list order and search."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true

from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.models import Author, table_of

AUTHOR = table_of(Author)
COLUMNS = list(AUTHOR.columns)
BY_NAME = SortKey("Author:NAME:ASC", AUTHOR.c.name, AUTHOR.c.id, descending=False)


def page_statement(*, search: str | None, page: PageRequest) -> Select[Any]:
    return keyset_page(COLUMNS, sort=BY_NAME, where=[_matching(search)], page=page)


def count_statement(*, search: str | None) -> Select[Any]:
    return select(func.count()).select_from(Author).where(_matching(search))


def _matching(search: str | None) -> ColumnElement[bool]:
    if not search:
        return true()
    return or_(
        AUTHOR.c.name.icontains(search, autoescape=True),
        AUTHOR.c.slug.icontains(search, autoescape=True),
    )
