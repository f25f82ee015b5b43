"""Authors: the list order, search, and finding or creating an author by name on import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.ids import new_id
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.slugs import slugify
from cms.models import Author

COLUMNS = list(Author.__table__.columns)  # type: ignore[attr-defined]
BY_NAME = SortKey("Author:NAME:ASC", Author.name, Author.id, descending=False)  # type: ignore[arg-type]


def page_statement(*, search: str | None, page: PageRequest) -> Select[Any]:
    return keyset_page(COLUMNS, sort=BY_NAME, where=[_matching(search)], page=page)


def count_statement(*, search: str | None) -> Select[Any]:
    return select(func.count()).select_from(Author).where(_matching(search))


def _matching(search: str | None) -> ColumnElement[bool]:
    if not search:
        return true()
    return or_(
        Author.name.icontains(search, autoescape=True),  # type: ignore[attr-defined]
        Author.slug.icontains(search, autoescape=True),  # type: ignore[attr-defined]
    )


async def ensure_author(session: AsyncSession, *, name: str, now: datetime) -> Author:
    """The author with this slug or name, created from the name when there is none."""
    label = name.strip()
    slug = slugify(label)
    found = await session.scalar(select(Author).where(or_(Author.slug == label, Author.slug == slug)))
    if found is None:
        found = await session.scalar(select(Author).where(Author.name == label))
    if found is None:
        found = Author(id=new_id("Author"), slug=slug, name=label, created_at=now, updated_at=now)
        session.add(found)
        await session.flush()
    return found
