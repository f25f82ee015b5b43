"""Revisions of an article, newest first: who changed it, when, and what it was."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from cms.content.errors import Forbidden
from cms.content.pagination import PageRequest, SortKey
from cms.content.reads import in_keys
from cms.content.roles import Viewer
from cms.content.visibility import can_edit
from cms.models import Revision, table_of

REVISION = table_of(Revision)
COLUMNS = list(REVISION.columns)
NEWEST_FIRST = SortKey("Revision:VERSION:DESC", REVISION.c.version, REVISION.c.id, descending=True)


def check_readable(viewer: Viewer) -> None:
    """Revisions hold every draft an article went through: EDITOR and ADMIN only, others are FORBIDDEN."""
    if not can_edit(viewer):
        raise Forbidden("revisions are for editors")


def page_statement(article_ids: Sequence[str], page: PageRequest) -> Select[Any]:
    """A page of revisions for each of these articles, in one statement: rows grouped by article_id, in page
    order within each (ranked by a window per article, so a level of many articles costs one statement)."""
    where = [in_keys(REVISION.c.article_id, list(article_ids))]
    if page.cursor is not None:  # first, as in `keyset_page`
        where.insert(0, NEWEST_FIRST.seek(page.cursor, page.forward))
    order = NEWEST_FIRST.order_by(page.forward)
    rank = func.row_number().over(partition_by=Revision.article_id, order_by=order).label("rank")
    ranked = select(*COLUMNS, NEWEST_FIRST.key.label("sort_key"), rank).where(*where).subquery("ranked")
    return (
        select(*(ranked.c[column.name] for column in COLUMNS), ranked.c.sort_key)
        .where(ranked.c.rank <= page.size + 1)
        .order_by(ranked.c.article_id, ranked.c.rank)
    )


def count_statement(article_ids: Sequence[str]) -> Select[Any]:
    """totalCount per article, as (article_id, count) rows: an article with no revision has no row."""
    return (
        select(REVISION.c.article_id, func.count())
        .where(in_keys(REVISION.c.article_id, list(article_ids)))
        .group_by(REVISION.c.article_id)
    )
