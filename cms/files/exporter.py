"""`cms export`: everything, drafts included, ids kept, as NDJSON that imports back to the same bytes.

Sources and authors by slug, categories parents first, then articles oldest first: their ids in order
first, then pages of PAGE articles by id, with their bylines, sources, tags and corrections a statement each.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from cms.content.batches import batched
from cms.content.directory import Directory
from cms.content.documents import (
    article_document,
    attribution,
    author_document,
    category_document,
    correction,
    dumps,
    source_document,
)
from cms.content.editing import slug_names_one
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleCorrection,
    ArticlePreviousSlug,
    ArticleSource,
    ArticleTag,
    table_of,
)

PAGE = 1000
_ARTICLE: Table = table_of(Article)
_COLUMNS = [c for c in _ARTICLE.columns if c.name not in ("body_html", "body_text", "derived_excerpt")]


async def export_ndjson(
    engine: AsyncEngine,
    out: IO[bytes],
    *,
    started: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Write every item as one line; counts lines per type. One read transaction, so one snapshot."""
    counts: Counter[str] = Counter()
    async with AsyncSession(engine) as session, session.begin():
        directory = await Directory.load(session, datetime.now(UTC))
        connection = await session.connection()
        for document in _entities(directory):
            out.write(dumps(document) + b"\n")
            counts[document["type"]] += 1
        references = await _translation_references(connection)
        order = select(_ARTICLE.c.id).order_by(_ARTICLE.c.created_at, _ARTICLE.c.id)
        ids = list((await connection.scalars(order)).all())
        if started:
            started(len(ids))
        for page in batched(ids, PAGE):
            statement = select(*_COLUMNS).where(_ARTICLE.c.id.in_(page))
            rows = sorted(
                (await connection.execute(statement)).mappings().all(), key=lambda r: page.index(r["id"])
            )
            for document in await _articles(connection, rows, directory, references):
                out.write(dumps(document) + b"\n")
            counts["article"] += len(rows)
            if progress:
                progress(len(rows))
    return counts


def _entities(directory: Directory) -> list[dict[str, Any]]:
    sources = sorted(directory.sources.rows.values(), key=lambda row: row["slug"])
    authors = sorted(directory.authors.rows.values(), key=lambda row: row["slug"])
    children: defaultdict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(directory.categories.rows.values(), key=lambda row: row["slug"]):
        children[row["parent_id"]].append(row)

    def tree(parent: str | None) -> list[dict[str, Any]]:
        return [
            document
            for row in children[parent]
            for document in [
                category_document(
                    row,
                    parent=directory.categories.slug(parent) if parent else None,
                    previous_slugs=directory.categories.previous.get(row["id"], []),
                ),
                *tree(row["id"]),
            ]
        ]

    return [*map(source_document, sources), *map(author_document, authors), *tree(None)]


async def _translation_references(connection: AsyncConnection) -> dict[str, str]:
    """For each translation's id, how `translationOf` names its original: by slug when the import would
    find exactly that article by it (the one with the slug, or the one original with it, and no article
    has it as its id: the import looks for an id first), else by id."""
    rows = (
        await connection.execute(select(_ARTICLE.c.id, _ARTICLE.c.slug, _ARTICLE.c.translation_group))
    ).all()
    slug_of = {row.id: row.slug for row in rows}
    with_slug = Counter(row.slug for row in rows)
    originals = Counter(row.slug for row in rows if row.translation_group in (None, row.id))
    references = {}
    for row in rows:
        group = row.translation_group
        if group in (None, row.id):
            continue
        slug = slug_of.get(group)
        others = with_slug[slug] - (row.slug == slug)
        unique = slug_names_one(others, originals[slug]) and (slug == group or slug not in slug_of)
        references[row.id] = slug if slug and unique else group
    return references


async def _articles(
    connection: AsyncConnection, rows: Any, directory: Directory, references: dict[str, str]
) -> list[dict[str, Any]]:
    ids = [row["id"] for row in rows]
    authors = await _linked(
        connection, ArticleAuthor, ids, lambda link: directory.authors.slug(link.author_id)
    )
    tags = await _linked(connection, ArticleTag, ids, lambda link: link.tag)
    sources = await _linked(
        connection,
        ArticleSource,
        ids,
        lambda link: attribution(directory.sources.slug(link.source_id), link.role, link.url, link.note),
    )
    corrections = await _linked(
        connection,
        ArticleCorrection,
        ids,
        lambda link: correction(link.kind, link.text, link.created_at),
    )
    earlier = await _linked(connection, ArticlePreviousSlug, ids, lambda link: link.slug)
    return [
        article_document(
            row,
            authors=authors[row["id"]],
            category=directory.categories.slug(row["category_id"]) if row["category_id"] else None,
            tags=tags[row["id"]],
            sources=sources[row["id"]],
            translation_of=references.get(row["id"]),
            corrections=corrections[row["id"]],
            previous_slugs=earlier[row["id"]],
        )
        for row in rows
    ]


async def _linked(
    connection: AsyncConnection, model: Any, ids: list[str], value: Callable[[Any], Any]
) -> defaultdict[str, list[Any]]:
    """One link table's rows for these articles, in position order, as lists per article."""
    table: Table = table_of(model)
    statement = (
        select(table).where(table.c.article_id.in_(ids)).order_by(table.c.article_id, table.c.position)
    )
    grouped: defaultdict[str, list[Any]] = defaultdict(list)
    for link in await connection.execute(statement):
        grouped[link.article_id].append(value(link))
    return grouped
