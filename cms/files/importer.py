"""Import content files in one transaction: all or nothing, the same writes as every other way in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.content.editing import upsert_article
from cms.content.errors import DomainError
from cms.files.errors import ContentFileError
from cms.files.reader import read_records
from cms.models import Article


async def import_paths(
    engine: AsyncEngine, paths: Iterable[Path], *, actor: str, now: datetime
) -> Counter[str]:
    """Read every file, then write them all in one transaction; counts created, updated, unchanged."""
    loaded = read_records(paths)
    outcomes: Counter[str] = Counter()
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        for item in loaded:
            try:
                outcome, _ = await upsert_article(session, record=item.record, actor=actor, now=now)
            except DomainError as error:
                raise ContentFileError(item.path, item.line, error.message) from error
            outcomes[outcome] += 1
    return outcomes


async def is_empty(engine: AsyncEngine) -> bool:
    """True while the database holds no article: `make run` seeds only then."""
    async with engine.connect() as connection:
        return not await connection.scalar(select(func.count()).select_from(Article))
