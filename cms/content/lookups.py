"""Single-item lookups by id or slug for the entities that have no hidden states."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from cms.content.errors import BadInput
from cms.models import table_of


def require_one_of(id: str | None, slug: str | None) -> None:
    """Single lookups take exactly one of id or slug."""
    if (id is None) == (slug is None):
        raise BadInput("give exactly one of id or slug")


def by_id_or_slug(model: Any, *, id: str | None, slug: str | None) -> Select[Any]:
    require_one_of(id, slug)
    column = model.id if id is not None else model.slug
    return select(*table_of(model).columns).where(column == (id if id is not None else slug))
