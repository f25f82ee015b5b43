"""What feeds and sitemaps read: the public's articles only (`visibility.article_visible`), in statements
built once and run with the request's values in its snapshot, a constant number of them per answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from cms.content import languages
from cms.content.articles import ARTICLE, authors_statement, columns_for, count_statement
from cms.content.filters import NEWEST_FIRST, ArticleOrder, article_sort
from cms.content.pagination import AFTER_ID, AFTER_KEY
from cms.content.reads import NOW, Read, in_keys
from cms.content.roles import PUBLIC
from cms.content.visibility import article_visible

Fetch = Callable[[Read], Awaitable[Sequence[Any]]]
FEED_SIZE = 50
"""Articles in a feed: the latest, newest first."""
URLS_PER_FILE = 50_000
"""URLs in one sitemap file, the protocol's most."""
FILES_MOST = 50_000
"""Sitemap files an index may name, the protocol's most: a file number past it is no file."""
NEWS_WINDOW = timedelta(hours=48)
"""A Google News sitemap lists the articles first published in this window, newest first..."""
NEWS_MOST = 1_000
"""...at most this many (Google reads no more of one)."""

_VISIBLE = article_visible(PUBLIC, NOW)
_NEWEST = article_sort(NEWEST_FIRST, None, unpublished_visible=False)
_OLDEST = article_sort(ArticleOrder(descending=False), None, unpublished_visible=False)
"""Sitemap files list the oldest first: a new article lands in the last file, and the others keep theirs."""

FEED_COLUMNS = columns_for(
    frozenset(
        {
            "slug",
            "language",
            "title",
            "excerpt",
            "derived_excerpt",
            "body_html",
            "published_at",
            "updated_at",
            "category_id",
            "cover_image",
        }
    )
)
SITEMAP_COLUMNS = columns_for(frozenset({"slug", "language", "published_at", "updated_at"}))
NEWS_COLUMNS = columns_for(frozenset({"slug", "language", "title", "first_published_at"}))


@cache
def _latest(in_categories: bool, in_language: bool) -> Select[Any]:
    where = [_VISIBLE]
    if in_categories:
        where.append(in_keys(ARTICLE.c.category_id))
    if in_language:
        where.append(languages.compared(ARTICLE.c.language) == bindparam("language"))
    return select(*FEED_COLUMNS).where(*where).order_by(*_NEWEST.order_by()).limit(FEED_SIZE)


def latest(*, now: datetime, categories: list[str] | None, language: str | None) -> Read:
    """The feed's articles: in these categories (a subtree's ids, from the category tree) if given, in this
    language if given (language tags compare case-insensitively, as BCP 47 says)."""
    values: dict[str, Any] = {"now": now}
    if categories is not None:
        values["keys"] = categories
    if language is not None:
        values["language"] = languages.canonical(language)
    return Read(_latest(categories is not None, language is not None), values)


def bylines(article_ids: list[str]) -> Read:
    """The feed's articles' authors, in byline order: one statement for all of them."""
    return authors_statement(article_ids)


def visible_count(now: datetime) -> Read:
    """How many articles the public sees: the sitemap index's number of files."""
    return count_statement(viewer=PUBLIC, now=now, f=None)


_BOUNDARY = (
    select(ARTICLE.c.published_at, ARTICLE.c.id)
    .where(_VISIBLE)
    .order_by(*_OLDEST.order_by())
    .offset(bindparam("skip"))
    .limit(1)
)
_FIRST_FILE = select(*SITEMAP_COLUMNS).where(_VISIBLE).order_by(*_OLDEST.order_by()).limit(URLS_PER_FILE)
_LATER_FILE = (
    select(*SITEMAP_COLUMNS)
    .where(_OLDEST.seek(_OLDEST.cursor(datetime(1970, 1, 1, tzinfo=UTC), "")), _VISIBLE)
    .order_by(*_OLDEST.order_by())
    .limit(URLS_PER_FILE)
)


async def sitemap_file(fetch: Fetch, *, number: int, now: datetime) -> Sequence[Any] | None:
    """The articles of sitemap file `number` (from 1), oldest first; None when there is no such file. Two
    statements whatever the number: the last article of the file before, found on the (status, published_at,
    id) index without reading a row, then a keyset page after it."""
    if not 1 <= number <= FILES_MOST:
        return None
    if number == 1:
        return await fetch(Read(_FIRST_FILE, {"now": now})) or None
    before = await fetch(Read(_BOUNDARY, {"now": now, "skip": (number - 1) * URLS_PER_FILE - 1}))
    if not before:
        return None
    after = {"now": now, AFTER_KEY: before[0].published_at, AFTER_ID: before[0].id}
    rows = await fetch(Read(_LATER_FILE, after))
    return rows or None


_NEWS = (
    select(*NEWS_COLUMNS)
    .where(_VISIBLE, ARTICLE.c.first_published_at >= bindparam("since"))
    .order_by(ARTICLE.c.first_published_at.desc(), ARTICLE.c.id.desc())
    .limit(NEWS_MOST)
)


def news(now: datetime) -> Read:
    """The articles first published in the last `NEWS_WINDOW` by the app's clock, newest first."""
    return Read(_NEWS, {"now": now, "since": now - NEWS_WINDOW})
