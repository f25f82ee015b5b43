"""Import content files in one transaction: all or nothing, through the same writes as every other way in."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.content.directory import Directory
from cms.content.editing import write_articles
from cms.content.errors import DomainError, InvalidRecord
from cms.content.markdown import RenderMany, render_here, render_in_processes
from cms.content.records import ArticleRecord
from cms.db import analyze
from cms.files.errors import ContentFileError
from cms.files.reader import LoadedRecord, read_records
from cms.models import Article

OUTCOMES = ("created", "updated", "unchanged")
PARALLEL_FROM = 2000


@dataclass
class Summary:
    """What an import did: articles and the authors, sources and categories given in full."""

    articles: Counter[str] = field(default_factory=Counter)
    others: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        line = f"{sum(self.articles.values())} articles: " + ", ".join(
            f"{self.articles[o]} {o}" for o in OUTCOMES
        )
        if self.others:
            line += "; authors, sources, categories: " + ", ".join(f"{self.others[o]} {o}" for o in OUTCOMES)
        return line


async def import_paths(
    engine: AsyncEngine,
    paths: Iterable[Path],
    *,
    actor: str,
    now: datetime,
    started: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Read every file, then write it all in one transaction. `started` hears how many articles there are,
    `progress` how many more are done."""
    loaded = read_records(paths)
    articles = [item for item in loaded if isinstance(item.record, ArticleRecord)]
    if started:
        started(len(articles))
    summary = Summary()
    async with AsyncSession(engine) as session, session.begin():
        if engine.dialect.name == "sqlite":
            await session.execute(text(f"PRAGMA cache_size=-{256 * 1024}"))  # KiB: big imports hit many pages
        directory = await Directory.load(session, now)
        for item in loaded:
            if not isinstance(item.record, ArticleRecord):
                try:
                    summary.others[directory.put(item.record)] += 1
                except DomainError as error:
                    raise _located(item, error) from error
        try:
            async with _renderer(len(articles)) as render_many:
                written = await write_articles(
                    session, [item.record for item in articles],  # type: ignore[misc]
                    actor=actor, now=now, directory=directory, progress=progress, render_many=render_many,
                )  # fmt: skip
        except InvalidRecord as error:
            raise _located(articles[error.position], error) from error
        summary.articles.update(w.outcome for w in written)
    if summary.articles["created"] + summary.articles["updated"]:
        await analyze(engine)
    return summary


@asynccontextmanager
async def _renderer(count: int) -> AsyncIterator[RenderMany]:
    """Every core renders Markdown for a big import; a small one is not worth starting processes for."""
    if count < PARALLEL_FROM:
        yield render_here
        return
    async with render_in_processes() as render_many:
        yield render_many


def _located(item: LoadedRecord, error: DomainError) -> ContentFileError:
    return ContentFileError(item.path, item.line, error.message)


async def is_empty(engine: AsyncEngine) -> bool:
    """True while the database holds no article: `make run` seeds only then."""
    async with engine.connect() as connection:
        return not await connection.scalar(select(func.count()).select_from(Article))
