"""Revisions of an article, newest first: who changed it, when, and what it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.models import Revision

NEWEST_FIRST = SortKey("Revision:VERSION:DESC", Revision.version, Revision.id, descending=True)  # type: ignore[arg-type]


def page_statement(article_id: str, page: PageRequest) -> Select[Any]:
    columns = list(Revision.__table__.columns)  # type: ignore[attr-defined]
    return keyset_page(columns, sort=NEWEST_FIRST, where=[Revision.article_id == article_id], page=page)


def count_statement(article_id: str) -> Select[Any]:
    return select(func.count()).select_from(Revision).where(Revision.article_id == article_id)
