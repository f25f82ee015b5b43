"""Article filters and orders as SQL-expression builders, shared by every read path, and the limits a filter
given from outside is held to (`checked`) before it becomes SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select, true
from sqlmodel import col

from cms.content import search
from cms.content.categories import subtree_ids
from cms.content.errors import BadInput
from cms.content.languages import MAX_LENGTH, canonical, compared
from cms.content.pagination import SortKey
from cms.content.slugs import MAX_SLUG
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    ArticleTag,
    Author,
    Source,
    UTCDateTime,
    table_of,
)

ARTICLE, TAGGED = table_of(Article), table_of(ArticleTag)
BYLINE, CITED = table_of(ArticleAuthor), table_of(ArticleSource)

MAX_TERMS = 20
"""Conditions in one filter, counted across and/or/not: a status list, a search, a language, tag, category,
author or source, each bound of a date range, each of title's eq/in/contains/startsWith, and a filter
object with nothing in it (or `or: []`) are one each."""
MAX_DEPTH = 5
"""Levels of and/or/not below the filter itself."""
MAX_VALUES = 20
"""Values in a list of a filter (`status`, `title.in`)."""
MAX_MATCH = 200
"""Characters of `title.contains` and `title.startsWith`."""
LENGTHS = {
    "search": search.MAX_QUERY_LENGTH,
    "language": MAX_LENGTH,
    "tag": 50,
    "category": MAX_SLUG,
    "author": MAX_SLUG,
    "source": MAX_SLUG,
    "title.eq": 300,
    "title.in": 300,
    "title.contains": MAX_MATCH,
    "title.startsWith": MAX_MATCH,
}
"""The most characters of each string a filter compares: a column's width (a longer value matches nothing),
a pattern's or a search's limit."""


@dataclass(frozen=True)
class DateRange:
    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None


@dataclass(frozen=True)
class StringMatch:
    eq: str | None = None
    in_: tuple[str, ...] | None = None
    contains: str | None = None
    starts_with: str | None = None


@dataclass(frozen=True)
class ArticleFilter:
    """The contract's ArticleFilter; frozen so it can key a batch of loads."""

    status: tuple[str, ...] | None = None
    search: str | None = None
    language: str | None = None
    tag: str | None = None
    category: str | None = None
    author: str | None = None
    source: str | None = None
    published_at: DateRange | None = None
    updated_at: DateRange | None = None
    title: StringMatch | None = None
    and_: tuple[ArticleFilter, ...] | None = None
    or_: tuple[ArticleFilter, ...] | None = None
    not_: ArticleFilter | None = None


class OrderField(StrEnum):
    PUBLISHED_AT = "PUBLISHED_AT"
    UPDATED_AT = "UPDATED_AT"
    CREATED_AT = "CREATED_AT"
    TITLE = "TITLE"
    RELEVANCE = "RELEVANCE"


@dataclass(frozen=True)
class ArticleOrder:
    field: OrderField = OrderField.PUBLISHED_AT
    descending: bool = True


NEWEST_FIRST = ArticleOrder()


def checked(f: ArticleFilter | None) -> ArticleFilter | None:
    """The filter as given, if it is within the limits above, else BadInput naming the limit: checked as it
    comes in, before any statement is built. Filters came in variables unbounded: a 700-way `or` of searches
    ran for seconds on SQLite and minutes on PostgreSQL and kept a prepared statement of 100 MB, and a long
    pattern, deep nesting or many terms reached SQLite's own limits (LIKE pattern, parser stack, expression
    tree) as internal errors. Within these no database limit is reached and a statement stays small."""
    if f is None:
        return None
    terms, stack = 0, [(f, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadInput(f"filters nest and/or/not at most {MAX_DEPTH} levels deep")
        nested = [*(node.and_ or ()), *(node.or_ or ()), *((node.not_,) if node.not_ is not None else ())]
        terms += _conditions(node) or (0 if nested else 1)
        if terms > MAX_TERMS:
            raise BadInput(f"a filter has at most {MAX_TERMS} conditions, counted across and/or/not")
        stack.extend((sub, depth + 1) for sub in nested)
    return f


def _conditions(f: ArticleFilter) -> int:
    """How many conditions a filter object holds itself (not in and/or/not); BadInput for a value out of
    bounds."""
    title = f.title or StringMatch()
    strings = {
        "search": f.search,
        "language": f.language,
        "tag": f.tag.strip() if f.tag is not None else None,
        "category": f.category,
        "author": f.author,
        "source": f.source,
        "title.eq": title.eq,
        "title.contains": title.contains,
        "title.startsWith": title.starts_with,
    }
    for name, value in strings.items():
        _bounded(name, value)
    for name, values in (("status", f.status), ("title.in", title.in_)):
        if values is not None and len(values) > MAX_VALUES:
            raise BadInput(f"filter {name} lists at most {MAX_VALUES} values, got {len(values):,}")
    for value in title.in_ or ():
        _bounded("title.in", value)
    ranges = [r for r in (f.published_at, f.updated_at) if r is not None]
    bounds = [bound for r in ranges for bound in (r.gt, r.gte, r.lt, r.lte)]
    given = [f.status, title.in_, *strings.values(), *bounds]
    return sum(value is not None for value in given)


def _bounded(name: str, value: str | None) -> None:
    if value is None:
        return
    if len(value) > LENGTHS[name]:
        raise BadInput(f"filter {name} is at most {LENGTHS[name]:,} characters, got {len(value):,}")
    if "\x00" in value:
        raise BadInput(f"filter {name} holds a NUL character, which no text can hold")


def article_filter(f: ArticleFilter | None) -> ColumnElement[bool]:
    """The WHERE clause of a filter; every condition is ANDed, `or` and `not` nest."""
    if f is None:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if f.status is not None:
        clauses.append(ARTICLE.c.status.in_(f.status))
    if f.search is not None:
        clauses.append(search.search_clause(f.search))
    if f.language is not None:
        clauses.append(compared(ARTICLE.c.language) == canonical(f.language))
    if f.tag is not None:
        clauses.append(_related(ArticleTag.article_id, TAGGED.c.tag == f.tag.strip().lower()))
    if f.category is not None:
        clauses.append(col(Article.category_id).in_(subtree_ids(f.category)))
    if f.author is not None:
        author = select(col(Author.id)).where(col(Author.slug) == f.author).scalar_subquery()
        clauses.append(_related(ArticleAuthor.article_id, BYLINE.c.author_id == author))
    if f.source is not None:
        source = select(col(Source.id)).where(col(Source.slug) == f.source).scalar_subquery()
        clauses.append(_related(ArticleSource.article_id, CITED.c.source_id == source))
    if f.published_at is not None:
        clauses.append(_in_range(Article.published_at, f.published_at))
    if f.updated_at is not None:
        clauses.append(_in_range(Article.updated_at, f.updated_at))
    if f.title is not None:
        clauses.append(_matches(Article.title, f.title))
    clauses.extend(article_filter(sub) for sub in f.and_ or ())
    if f.or_ is not None:
        clauses.append(or_(*(article_filter(sub) for sub in f.or_)) if f.or_ else literal(False))
    if f.not_ is not None:
        clauses.append(not_(article_filter(f.not_)))
    return and_(true(), *clauses)


def _related(article_column: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(article_column).where(article_column == Article.id, condition))


def _in_range(column: Any, r: DateRange) -> ColumnElement[bool]:
    bounds = [
        column > r.gt if r.gt else None,
        column >= r.gte if r.gte else None,
        column < r.lt if r.lt else None,
        column <= r.lte if r.lte else None,
    ]
    return and_(true(), *(bound for bound in bounds if bound is not None))


def _matches(column: Any, m: StringMatch) -> ColumnElement[bool]:
    clauses = []
    if m.eq is not None:
        clauses.append(column == m.eq)
    if m.in_ is not None:
        clauses.append(column.in_(m.in_))
    if m.contains is not None:
        clauses.append(column.icontains(m.contains, autoescape=True))
    if m.starts_with is not None:
        clauses.append(column.istartswith(m.starts_with, autoescape=True))
    return and_(true(), *clauses)


# Drafts have no publishedAt yet: they sort as the newest, i.e. first in the default newest-first order.
NOT_YET_PUBLISHED = datetime(9999, 12, 31, tzinfo=UTC)


def _when(value: Any) -> str:
    return value.isoformat()


def article_sort(order: ArticleOrder, f: ArticleFilter | None, *, unpublished_visible: bool) -> SortKey:
    """The keyset sort for an order; RELEVANCE needs the filter's search words.

    Only readers who see unpublished articles meet a missing publishedAt; for everyone else PUBLISHED_AT is
    the plain column, so the (status, published_at) index serves the order and a page stops after its rows.
    """
    tag = f"Article:{order.field.value}:{'DESC' if order.descending else 'ASC'}"
    if order.field is OrderField.RELEVANCE:
        query = f.search if f else None
        if not query:
            raise BadInput("orderBy RELEVANCE needs filter.search")
        return SortKey(f"{tag}:{query}", search.relevance(query), ARTICLE.c.id, order.descending)
    if order.field is OrderField.TITLE:
        return SortKey(tag, ARTICLE.c.title, ARTICLE.c.id, order.descending)
    column = {
        OrderField.PUBLISHED_AT: func.coalesce(
            ARTICLE.c.published_at, literal(NOT_YET_PUBLISHED, UTCDateTime()), type_=UTCDateTime()
        )
        if unpublished_visible
        else ARTICLE.c.published_at,
        OrderField.UPDATED_AT: ARTICLE.c.updated_at,
        OrderField.CREATED_AT: ARTICLE.c.created_at,
    }[order.field]
    return SortKey(tag, column, ARTICLE.c.id, order.descending, dump=_when, load=datetime.fromisoformat)
