"""Slug history: the slugs an article or a category had before, each still resolving to it, so that a link
or a search result to a story outlives a headline fix (WordPress and Ghost keep old slugs working too).

An item's earlier slugs change only with its slug (`after`), written by the item's one write
(`editing.write_articles` for articles, `references` and `directory` for categories). An earlier slug stays
held while the item lives: no other item may take it, as its slug or as an earlier one (SLUG_TAKEN), and a
new item's derived slug passes it by (`taken_article_slugs`). An article's earlier slugs are slugs in its
language: they follow it when its language changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    delete,
    insert,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.batches import batched
from cms.content.reads import Read, in_keys
from cms.content.slugs import may_be_taken
from cms.models import Article, ArticlePreviousSlug, CategoryPreviousSlug, table_of

ARTICLES: Table = table_of(ArticlePreviousSlug)
CATEGORIES: Table = table_of(CategoryPreviousSlug)
_ARTICLE: Table = table_of(Article)
CHUNK = 500
Pair = tuple[str, str]
"""A slug and the language it is held in."""


def after(kept: Sequence[str], old: str | None, new: str) -> list[str]:
    """An item's earlier slugs once its slug is `new`: those it kept, then `old` (its slug before it), each
    once; `new` leaves the list, since an item may take back an earlier slug of its own."""
    return [slug for slug in dict.fromkeys([*kept, *([old] if old else [])]) if slug != new]


def holding(query: Select[Any], slug: ColumnElement[str]) -> CompoundSelect:
    """`query` (of the article table) for the articles that hold `slug`, as their slug or as an earlier one,
    for `article(slug:)` (in the language it asks for, which the article's then matches): the union of the
    two index reads, each a whole query. `id IN (the union of ids)` costs SQLite an ephemeral table, three
    times the read; `slug = :slug OR id IN (...)` is a scan of every visible article on PostgreSQL."""
    earlier = query.join(ARTICLES, ARTICLES.c.article_id == _ARTICLE.c.id)
    return union_all(query.where(_ARTICLE.c.slug == slug), earlier.where(ARTICLES.c.slug == slug))


def statement(article_ids: Iterable[str]) -> Read:
    """The earlier slugs of many articles, each article's oldest first: read only through a visible one."""
    return Read(_PREVIOUS, {"keys": list(article_ids)})


_PREVIOUS = (
    select(ARTICLES.c.article_id, ARTICLES.c.slug)
    .where(in_keys(ARTICLES.c.article_id))
    .order_by(ARTICLES.c.article_id, ARTICLES.c.position)
)


async def of_articles(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    """The earlier slugs of these articles, oldest first."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    for chunk in batched(ids, CHUNK):
        rows = await session.execute(
            select(ARTICLES.c.article_id, ARTICLES.c.slug)
            .where(ARTICLES.c.article_id.in_(chunk))
            .order_by(ARTICLES.c.article_id, ARTICLES.c.position)
        )
        for row in rows:
            found[row.article_id].append(row.slug)
    return found


async def article_holders(session: AsyncSession, pairs: Iterable[Pair], *, current: bool) -> dict[Pair, str]:
    """The article that holds each of `pairs` as an earlier slug, or, with `current`, as its slug too."""
    found: dict[Pair, str] = {}
    for chunk in batched(sorted(set(pairs)), CHUNK):
        earlier = select(ARTICLES.c.article_id.label("id"), ARTICLES.c.slug, ARTICLES.c.language).where(
            tuple_(ARTICLES.c.slug, ARTICLES.c.language).in_(chunk)
        )
        now_held = select(_ARTICLE.c.id, _ARTICLE.c.slug, _ARTICLE.c.language).where(
            tuple_(_ARTICLE.c.slug, _ARTICLE.c.language).in_(chunk)
        )
        rows = await session.execute(union(earlier, now_held) if current else earlier)
        found |= {(row.slug, row.language): row.id for row in rows}
    return found


def taken_article_slugs(base: str, language: str) -> CompoundSelect:
    """The slugs in `language` that `slugs.first_free(base, ...)` must pass by: articles' and earlier ones."""
    return union(
        select(_ARTICLE.c.slug).where(_ARTICLE.c.language == language, may_be_taken(_ARTICLE.c.slug, base)),
        select(ARTICLES.c.slug).where(ARTICLES.c.language == language, may_be_taken(ARTICLES.c.slug, base)),
    )


def article_rows(article_id: str, language: str, slugs: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"article_id": article_id, "position": n, "slug": slug, "language": language}
        for n, slug in enumerate(slugs)
    ]


async def of_categories(session: AsyncSession, id: str | None = None) -> dict[str, list[str]]:
    """The earlier slugs of every category (or of the one with this id), oldest first, by category id."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    statement = select(CATEGORIES.c.category_id, CATEGORIES.c.slug)
    if id is not None:
        statement = statement.where(CATEGORIES.c.category_id == id)
    for row in await session.execute(statement.order_by(CATEGORIES.c.category_id, CATEGORIES.c.position)):
        found[row.category_id].append(row.slug)
    return found


def taken_category_slugs(base: str, own: str | None) -> Select[Any]:
    """The earlier slugs of categories other than `own` that `slugs.first_free(base, ...)` must pass by."""
    others = [CATEGORIES.c.category_id != own] if own is not None else []
    return select(CATEGORIES.c.slug).where(may_be_taken(CATEGORIES.c.slug, base), *others)


async def put_categories(session: AsyncSession, history: dict[str, list[str]]) -> None:
    """Write these categories' earlier slugs, in place of those they had."""
    if not history:
        return
    await session.execute(delete(CATEGORIES).where(CATEGORIES.c.category_id.in_(list(history))))
    rows = [
        {"category_id": id_, "position": n, "slug": slug}
        for id_, slugs in history.items()
        for n, slug in enumerate(slugs)
    ]
    if rows:
        await session.execute(insert(CATEGORIES), rows)
