"""Sources of provenance: the list order, the kind filter, and finding or creating one on import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.errors import BadInput
from cms.content.ids import new_id
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.slugs import slugify
from cms.models import Source, SourceKind

COLUMNS = list(Source.__table__.columns)  # type: ignore[attr-defined]
BY_NAME = SortKey("Source:NAME:ASC", Source.name, Source.id, descending=False)  # type: ignore[arg-type]


def _of_kind(kind: str | None) -> ColumnElement[bool]:
    return Source.kind == kind if kind else true()  # type: ignore[return-value]


def page_statement(*, kind: str | None, page: PageRequest) -> Select[Any]:
    return keyset_page(COLUMNS, sort=BY_NAME, where=[_of_kind(kind)], page=page)


def count_statement(*, kind: str | None) -> Select[Any]:
    return select(func.count()).select_from(Source).where(_of_kind(kind))


async def ensure_source(
    session: AsyncSession, *, name: str, kind: str | None, url: str | None, now: datetime
) -> Source:
    """The source with this slug or name, created (kind OTHER unless given) when there is none."""
    label = name.strip()
    slug = slugify(label)
    found = await session.scalar(
        select(Source).where(or_(Source.slug == label, Source.slug == slug, Source.name == label))
    )
    if found is None:
        kind = kind or SourceKind.OTHER.value
        if kind not in SourceKind.__members__:
            raise BadInput(f"unknown source kind {kind!r}")
        found = Source(id=new_id("Source"), slug=slug, name=label, kind=kind, url=url, created_at=now,
                       updated_at=now)  # fmt: skip
        session.add(found)
        await session.flush()
    return found
