"""A list page costs the same number of SQL statements whatever its size: every relation is batched."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import ClauseElement, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.clock import FixedClock
from cms.content import articles
from cms.content.editing import write_articles
from cms.content.filters import NEWEST_FIRST
from cms.content.pagination import PageRequest
from cms.content.records import ArticleRecord, SourceRef
from cms.content.roles import PUBLIC
from cms.db import StatementCounter, snapshot
from tests.conftest import NOW, checked_app, data

EVERYTHING = """
query ($first: Int!) {
  articles(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id slug title subtitle excerpt body(format: HTML) text: body(format: TEXT) status publishedAt
      createdAt updatedAt language wordCount readingTimeMinutes version tags
      coverImage { url alt } seo { title description canonicalUrl }
      translations { slug language authors { name } }
      authors { slug name bio avatarUrl email articles(first: 3) { totalCount nodes { slug } } }
      category { slug name parent { slug } children { slug } path { slug name }
                 articles(first: 3) { totalCount nodes { slug } } }
      sources { role url note source { slug name kind url articles(first: 3, role: WIRE) { totalCount } } }
    } }
  }
}
"""


async def _archive(engine: AsyncEngine, count: int) -> None:
    """`count` more published articles with authors, sources, tags, and a translation published long
    before, so that no translation is on the page itself (a loader's cache would spare it a statement)."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        for n in range(count):
            record = ArticleRecord(
                title=f"Archive story {n}",
                body=f"Paragraph one of story {n}.\n\nParagraph two, with *emphasis*.",
                status="PUBLISHED",
                published_at=NOW - timedelta(hours=n // 2 + 1, days=3000 * (n % 2)),
                authors=[f"Writer {n % 7}", f"Writer {(n + 1) % 7}"],
                category=["Archive", f"Desk {n % 4}"],
                tags=[f"tag{n % 5}", "archive"],
                sources=[
                    SourceRef(name=f"Agency {n % 3}", kind="NEWS_AGENCY", role="WIRE"),
                    SourceRef(
                        name=f"Paper {n % 2}", kind="PUBLICATION", role="ORIGIN", url="https://p.example"
                    ),
                ],
                language="en" if n % 2 == 0 else "az",
                slug=f"archive-story-{n - n % 2}",
                translation_of=f"archive-story-{n - 1}" if n % 2 else None,
            )
            await write_articles(session, [record], actor="test", now=NOW)


PLANNER = pytest.mark.parametrize("planner", ["on", "off"])  # the planned path, and the resolvers'


@PLANNER
async def test_statement_count_does_not_grow_with_the_page(
    seeded: AsyncEngine, clock: FixedClock, planner: str
) -> None:
    await _archive(seeded, 220)
    counts = {}
    for first in (5, 100):
        async with checked_app(seeded, clock, planner=planner, response_cache_mib=0) as client:
            await data(client, EVERYTHING, {"first": first})  # as a running server: the tree is kept
            with StatementCounter(seeded) as counter:
                result = await data(client, EVERYTHING, {"first": first})
        assert len(result["articles"]["edges"]) == first
        counts[first] = counter.count
    assert counts[5] == counts[100]
    assert counts[100] <= 16, counts


@pytest.mark.parametrize(
    ("query", "most"),
    [
        (
            '{ article(slug: "unesco-mission-nagorno-karabakh") { authors { name } sources { role } } }',
            4,  # the content version (the answer's ETag), the article, its bylines, its sources
        ),
        ("{ articles(first: 20) { nodes { title category { path { name } } authors { name } } } }", 4),
    ],
)
@PLANNER
async def test_common_pages_take_few_statements(
    seeded: AsyncEngine, clock: FixedClock, query: str, most: int, planner: str
) -> None:
    async with checked_app(seeded, clock, planner=planner, response_cache_mib=0) as client:  # each executed
        await data(client, query)  # as a running server: the category tree is kept
        with StatementCounter(seeded) as counter:
            await data(client, query)
    assert counter.count <= most


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_prepared_relation_reads_search_by_article(seeded: AsyncEngine) -> None:
    """Bylines, sources and tags of a page are found through their article's key, whatever the number of
    keys (one JSON parameter): a condition SQLite cannot serve from an index would read every row."""
    reads = [
        (articles.authors_statement(["a", "b"]), "article_author"),
        (articles.sources_statement(["a"]), "article_source"),
        (articles.tags_statement(["a", "b", "c"]), "article_tag"),
    ]
    view = await snapshot(seeded)
    try:
        for read, table in reads:
            explain = text(f"EXPLAIN QUERY PLAN {compiled_sql(read.statement, seeded)}")
            plan = await view.fetch(explain, {"keys": json.dumps(read.values["keys"])})
            steps = [row.detail for row in plan]
            assert any(step.startswith(f"SEARCH {table} USING") for step in steps), steps
    finally:
        await view.close()


def compiled_sql(statement: Any, engine: AsyncEngine) -> str:
    return str(statement.compile(dialect=engine.dialect)).replace("?", ":keys")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_page_after_a_cursor_starts_reading_at_the_cursor(seeded: AsyncEngine) -> None:
    """SQLite bounds an index range by the first bound it meets on a column: were it the visibility rule's
    `published_at <= now`, a static site's 400th page would read the 40,000 index entries before it."""
    _, sort = articles.page_statement(
        viewer=PUBLIC, now=NOW, f=None, order=NEWEST_FIRST, page=PageRequest.of(first=2)
    )
    after = PageRequest.of(first=2, after=sort.cursor(NOW, "art_x"))
    read, _ = articles.page_statement(viewer=PUBLIC, now=NOW, f=None, order=NEWEST_FIRST, page=after)
    assert isinstance(read.statement, ClauseElement)
    compiled = read.statement.compile(dialect=sqlite.dialect(paramstyle="named"))
    view = await snapshot(seeded)
    try:
        plan = await view.fetch(text(f"EXPLAIN QUERY PLAN {compiled}"), dict.fromkeys(compiled.params))
    finally:
        await view.close()
    assert any("(published_at,id)<(?,?)" in row.detail for row in plan), [row.detail for row in plan]
