"""Import content files in one transaction: all or nothing, through the same writes as every other way in."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from cms import collector
from cms.content.batches import batched
from cms.content.directory import Directory, Kind
from cms.content.editing import write_articles
from cms.content.errors import DomainError, InvalidRecord
from cms.content.ids import id_problem
from cms.content.markdown import RenderMany, render_here, render_in_processes
from cms.content.records import ArticleRecord, AuthorRecord, CategoryRecord, EntityRecord, SourceRecord
from cms.content.search import MakeVectors, vectors_aside
from cms.db import analyze
from cms.files.errors import ContentFileError
from cms.files.reader import LoadedRecord, read_records
from cms.models import Article, table_of

OUTCOMES = ("created", "updated", "unchanged")
_ARTICLE: Table = table_of(Article)
PARALLEL_FROM = 2000
SQLITE_BULK = {"temp_store": "MEMORY", "cache_size": -512 * 1024}
"""An import's SQLite connection keeps its statement journals in memory: each statement of many rows
otherwise copies every page it changes to a temporary file first (gigabytes for a big import), only to
delete it. Its page cache (KiB) holds the indexes and full-text segments the import keeps changing, which
would otherwise be spilled to the WAL and read back from it again and again."""
POSTGRES_LZ4 = text(
    "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings"
    " WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)
"""An import's transaction on PostgreSQL compresses the long texts it stores (bodies, their HTML and text,
revision snapshots) with lz4 where the server has it: pglz took a third of the article statements' time.
The values read back are the same; the setting ends with the transaction."""


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
    with collector.paused():
        summary = await _import(engine, paths, actor=actor, now=now, started=started, progress=progress)
    if summary.articles["created"] + summary.articles["updated"]:
        await analyze(engine)
    return summary


async def _import(
    engine: AsyncEngine,
    paths: Iterable[Path],
    *,
    actor: str,
    now: datetime,
    started: Callable[[int], None] | None,
    progress: Callable[[int], None] | None,
) -> Summary:
    loaded = read_records(paths)
    articles = [item for item in loaded if isinstance(item.record, ArticleRecord)]
    if started:
        started(len(articles))
    summary = Summary()
    async with _connection(engine) as connection, AsyncSession(connection) as session, session.begin():
        if engine.dialect.name == "postgresql":
            await session.execute(POSTGRES_LZ4)
        directory = await Directory.load(session, now)
        await _check_ids(session, loaded, directory)
        for item in loaded:
            if not isinstance(item.record, ArticleRecord):
                _check_unambiguous(item, item.record, _kind(directory, item.record))
                try:
                    summary.others[directory.put(item.record)] += 1
                except DomainError as error:
                    raise _located(item, error) from error
        try:
            async with _renderer(len(articles)) as render_many, _vectors(engine, len(articles)) as vectors:
                written = await write_articles(
                    session,
                    [item.record for item in articles],  # type: ignore[misc]
                    actor=actor,
                    now=now,
                    directory=directory,
                    progress=progress,
                    render_many=render_many,
                    make_vectors=vectors,
                )
        except InvalidRecord as error:
            raise _located(articles[error.position], error) from error
        summary.articles.update(w.outcome for w in written)
    return summary


@asynccontextmanager
async def _connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The import's connection, with `SQLITE_BULK` set on SQLite before its transaction begins (where the
    statement journals go is fixed then) and put back after. Nothing committed depends on them: the journal
    mode, synchronous and checkpoints are the engine's."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        if engine.dialect.name != "sqlite" or raw is None:
            yield connection
            return
        kept = [(name, (await (await raw.execute(f"PRAGMA {name}")).fetchone())[0]) for name in SQLITE_BULK]
        for name, value in SQLITE_BULK.items():
            await raw.execute(f"PRAGMA {name}={value}")
        try:
            yield connection
        finally:
            if not connection.invalidated:
                for name, value in kept:
                    await raw.execute(f"PRAGMA {name}={value}")


@asynccontextmanager
async def _renderer(count: int) -> AsyncIterator[RenderMany]:
    """Every core renders Markdown for a big import; a small one is not worth starting processes for."""
    if count < PARALLEL_FROM:
        yield render_here
        return
    async with render_in_processes() as render_many:
        yield render_many


@asynccontextmanager
async def _vectors(engine: AsyncEngine, count: int) -> AsyncIterator[MakeVectors | None]:
    """A big import on PostgreSQL has its search vectors made beside its transaction (`vectors_aside`)."""
    if count < PARALLEL_FROM or engine.dialect.name != "postgresql":
        yield None
        return
    async with vectors_aside(engine) as make_vectors:
        yield make_vectors


async def _check_ids(session: AsyncSession, loaded: list[LoadedRecord], directory: Directory) -> None:
    """Every id given is kept, whatever its form, if it can be (`id_problem`) and no item of another type
    holds it, in the database or earlier in this import: ids are unique across types, so `node(id:)` and
    the change feed name one item. Checked in file order before anything is written."""
    given = [
        (item, id_, _TYPENAMES[type(item.record)]) for item in loaded if (id_ := item.record.id) is not None
    ]
    held = {
        i: kind.typename
        for kind in (directory.authors, directory.sources, directory.categories)
        for i in kind.rows
    }
    # Articles the entities' ids may be held by (an article's id held by an article is its match).
    entities = {i for _, i, typename in given if typename != "Article" and not id_problem(i, typename)}
    for chunk in batched(sorted(entities - held.keys()), 500):
        found = await session.scalars(select(_ARTICLE.c.id).where(_ARTICLE.c.id.in_(chunk)))
        held |= dict.fromkeys(found, "Article")
    first: dict[str, tuple[LoadedRecord, str]] = {}
    for item, given_id, typename in given:
        if problem := id_problem(given_id, typename):
            raise ContentFileError(item.path, item.line, f"id: {problem}")
        if held.get(given_id, typename) != typename:
            message = f"id: {given_id!r} is already the id of {_a(held[given_id])} in the database"
            raise ContentFileError(item.path, item.line, message)
        earlier, kind = first.setdefault(given_id, (item, typename))
        if kind != typename:
            message = f"id: {given_id!r} is already the id of {_a(kind)} at {earlier.path}:{earlier.line}"
            raise ContentFileError(item.path, item.line, message)


def _check_unambiguous(item: LoadedRecord, record: EntityRecord, kind: Kind) -> None:
    """References (and matching) find an author, source or category by id, else by slug: refuse an id that
    is another item's slug, or a slug that is another item's id, which they would take for the other."""
    what = kind.typename.lower()
    owner = kind.by_slug.get(record.id) if record.id else None
    if owner is not None and owner != record.id:
        message = f"id: {record.id!r} is the slug of another {what}: a reference would name both"
        raise ContentFileError(item.path, item.line, message)
    holder = kind.rows.get(record.slug)
    if holder is not None and record.id != record.slug and holder["slug"] != record.slug:
        message = f"slug: {record.slug!r} is the id of another {what}: a reference would name both"
        raise ContentFileError(item.path, item.line, message)


_TYPENAMES = {
    ArticleRecord: "Article",
    AuthorRecord: "Author",
    SourceRecord: "Source",
    CategoryRecord: "Category",
}


def _kind(directory: Directory, record: EntityRecord) -> Kind:
    kinds = {"Author": directory.authors, "Source": directory.sources, "Category": directory.categories}
    return kinds[_TYPENAMES[type(record)]]


def _a(typename: str) -> str:
    return f"{'an' if typename[0] in 'AEIOU' else 'a'} {typename.lower()}"


def _located(item: LoadedRecord, error: DomainError) -> ContentFileError:
    return ContentFileError(item.path, item.line, error.message)


async def is_empty(engine: AsyncEngine) -> bool:
    """True while the database holds no article: `make run` seeds only then."""
    async with engine.connect() as connection:
        return not await connection.scalar(select(func.count()).select_from(Article))
