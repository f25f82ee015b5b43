"""Full-text search behind one function: which articles match a query, and how well.

For now a portable word match over the searchable text (every word must occur); the ranking counts
title hits above body hits. Issue 3 replaces the inside with SQLite FTS5 / PostgreSQL tsvector.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.errors import BadInput
from cms.models import Article, ArticleTag

_WORD = re.compile(r"\w+", re.UNICODE)


async def reindex(session: AsyncSession, article_ids: Collection[str]) -> None:
    """Bring the search index in step with these articles as the transaction now holds them."""


def search_terms(query: str) -> list[str]:
    """The words of a query; a query with no words at all is the caller's mistake."""
    terms = [term.lower() for term in _WORD.findall(query)]
    if not terms:
        raise BadInput(f"the search {query!r} has no words to look for")
    return terms


def _has(term: str) -> ColumnElement[bool]:
    tag_hit = exists(
        select(ArticleTag.article_id).where(
            ArticleTag.article_id == Article.id, ArticleTag.tag.icontains(term, autoescape=True)
        )
    )
    columns = (Article.title, Article.subtitle, Article.excerpt, Article.body_text)
    return or_(*(column.icontains(term, autoescape=True) for column in columns), tag_hit)


def search_clause(query: str) -> ColumnElement[bool]:
    """Articles that contain every word of the query."""
    return and_(*(_has(term) for term in search_terms(query)))


def relevance(query: str) -> ColumnElement[Any]:
    """A score that orders matches: a word in the title counts three, in the subtitle or excerpt two."""
    score: ColumnElement[Any] = literal(0, Integer)
    for term in search_terms(query):
        score = score + case((Article.title.icontains(term, autoescape=True), 3), else_=0)
        score = score + case((Article.subtitle.icontains(term, autoescape=True), 2), else_=0)
        score = score + case((Article.excerpt.icontains(term, autoescape=True), 2), else_=0)
        score = score + case((Article.body_text.icontains(term, autoescape=True), 1), else_=0)
    return score
