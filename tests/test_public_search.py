"""A public search's total and page come from the public's part of the search index (migration 0020,
`search.public_count`, `search.public_page`): after every kind of write, and as a scheduled article reaches
its instant, each is what the visibility rule says of the full index's matches, made here from the rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.clock import FixedClock
from cms.content import articles
from cms.content.editing import write_articles
from cms.content.filters import ArticleFilter, ArticleOrder, OrderField
from cms.content.pagination import PageRequest
from cms.content.records import ArticleRecord
from cms.content.roles import PUBLIC, Role, Viewer
from cms.content.search import SECOND, search_terms
from cms.files.importer import import_paths
from cms.models import UTCDateTime
from tests.conftest import NOW, SEEDS, data, migrated_down_and_up

WORDS = ("walrus", "heritage", "walrus OR heritage", '"walrus colony"', "walr*")
VISIBLE = "a.status = 'PUBLISHED' AND a.published_at <= :now"
NEWEST = "ORDER BY a.published_at DESC, a.id DESC"
MATCHES = {
    "sqlite": "SELECT a.slug FROM article a JOIN article_fts_key k ON k.article_id = a.id"
    f" JOIN article_fts f ON f.rowid = k.key WHERE f.article_fts MATCH :q AND {VISIBLE} {NEWEST}",
    "postgresql": "SELECT a.slug FROM article a JOIN article_search s ON s.article_id = a.id"
    f" WHERE s.search_vector @@ to_tsquery('simple', :q) AND {VISIBLE} {NEWEST}",
}
"""The visibility rule over every match of the full index, article by article."""
SEARCH = """query($q: String!, $after: String) {
  articles(filter: {search: $q}, first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { slug }
  }
}"""
UPDATE = """mutation($id: ID!, $input: ArticleInput!) {
  updateArticle(id: $id, input: $input) { userErrors { code } } }"""


async def expected(engine: AsyncEngine, query: str, now: datetime) -> list[str]:
    parsed = search_terms(query)
    words = parsed.fts5() if engine.dialect.name == "sqlite" else parsed.tsquery()
    statement = text(MATCHES[engine.dialect.name]).bindparams(bindparam("now", type_=UTCDateTime()))
    async with engine.connect() as connection:
        return list((await connection.execute(statement, {"q": words, "now": now})).scalars())


async def served(client: httpx.AsyncClient, query: str) -> list[str]:
    """Every page of the public's search, two at a time, each with the same total as the slugs found."""
    slugs: list[str] = []
    totals: set[int] = set()
    after = None
    while True:
        page = (await data(client, SEARCH, {"q": query, "after": after}))["articles"]
        slugs += [node["slug"] for node in page["nodes"]]
        totals.add(page["totalCount"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert totals == {len(slugs)}, (query, totals, slugs)
    return slugs


async def agree(engine: AsyncEngine, client: httpx.AsyncClient, clock: FixedClock) -> None:
    for query in WORDS:
        assert await served(client, query) == await expected(engine, query, clock.now()), query


async def write(engine: AsyncEngine, *records: ArticleRecord) -> list[str]:
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        written = await write_articles(session, list(records), actor="test", now=NOW)
    return [row.id for row in written]


async def step(editor: httpx.AsyncClient, mutation: str, **variables: Any) -> None:
    result = await data(editor, mutation, variables)
    payload = next(iter(result.values()))
    assert not payload.get("userErrors"), payload


def walrus(slug: str, at: datetime | None, status: str = "PUBLISHED", title: str = "Walrus colony") -> Any:
    return ArticleRecord(slug=slug, title=title, status=status, published_at=at, body="The walrus colony.")


async def test_every_kind_of_write_keeps_the_public_search(
    seeded: AsyncEngine, client: httpx.AsyncClient, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    second = NOW.replace(microsecond=0) - timedelta(days=1)  # ties, and neighbours in one second
    ids = await write(
        seeded,
        *(walrus(f"tie-{n}", second + timedelta(milliseconds=100)) for n in range(3)),
        walrus("same-second", second + timedelta(milliseconds=900)),
        walrus("before", second - timedelta(microseconds=1)),
        walrus("old", NOW - timedelta(days=300)),
        walrus("draft", None, status="DRAFT"),
    )
    await agree(seeded, client, clock)
    instant = NOW + timedelta(hours=2, milliseconds=250)
    scheduled = """mutation($id: ID!, $at: DateTime) {
      publishArticle(id: $id, publishAt: $at) { userErrors { code } } }"""
    await step(editor, scheduled, id=ids[6], at=instant.isoformat())
    await agree(seeded, client, clock)
    for moment in (
        instant - timedelta(milliseconds=250, microseconds=1),  # the second before its own
        instant - timedelta(microseconds=1),  # its second, not yet its instant
        instant,
        instant + timedelta(microseconds=1),
        instant + timedelta(seconds=1),
    ):
        clock.set(moment)  # no write
        await agree(seeded, client, clock)
    await step(editor, UPDATE, id=ids[0], input={"title": "Narwhal", "body": "Gone."})  # no longer matches
    await agree(seeded, client, clock)
    moved = walrus("old", second + timedelta(milliseconds=100))  # its publishedAt, into the ties' second
    await write(seeded, ArticleRecord(**{**moved.__dict__, "id": ids[5]}))
    await agree(seeded, client, clock)
    await step(editor, "mutation($id: ID!) { unpublishArticle(id: $id) { userErrors { code } } }", id=ids[1])
    await agree(seeded, client, clock)
    await step(editor, "mutation($id: ID!) { archiveArticle(id: $id) { userErrors { code } } }", id=ids[3])
    await agree(seeded, client, clock)
    await step(editor, "mutation($id: ID!) { deleteArticle(id: $id) { userErrors { code } } }", id=ids[2])
    await agree(seeded, client, clock)
    await step(editor, "mutation($id: ID!) { publishArticle(id: $id) { userErrors { code } } }", id=ids[1])
    await agree(seeded, client, clock)
    await import_paths(seeded, [SEEDS], actor="test", now=NOW)  # again: updates
    await agree(seeded, client, clock)


async def test_the_migration_fills_the_public_index_as_the_writes_do(
    seeded: AsyncEngine, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    """Down to the revision before it and up again: each article's key is in the second the writes gave it
    (SQLite), its public_at is theirs (PostgreSQL), and the public's searches are still the rule's."""
    await write(
        seeded,
        *(walrus(f"tie-{n}", NOW - timedelta(days=1)) for n in range(3)),
        walrus("scheduled", NOW + timedelta(hours=1)),
        walrus("draft", None, status="DRAFT"),
    )
    if seeded.dialect.name == "sqlite":
        snapshot = text(f"SELECT article_id, key / {SECOND} FROM article_fts_key ORDER BY article_id")
    else:
        snapshot = text("SELECT article_id, public_at FROM article_search ORDER BY article_id")
    before, after = await migrated_down_and_up(seeded, "0019", snapshot)
    assert after == before
    await agree(seeded, client, clock)
    clock.set(NOW + timedelta(hours=2))
    await agree(seeded, client, clock)


def test_the_public_search_reads_the_public_index() -> None:
    """The public's search of nothing else reads the public index's part for its total and, newest first
    and forwards, its page; another filter, another order, a page backwards and PREVIEW read as before."""
    searched = ArticleFilter(search="walrus")
    public = {"sqlite": "rowid < (CAST(strftime", "postgresql": "article_search.public_at <="}

    def reads_public(read: Any) -> bool:
        shown = [
            str(read.statement.compile(dialect=dialect))
            for dialect in (sqlite.dialect(), postgresql.dialect())
        ]
        found = [public[name] in sql for name, sql in zip(public, shown, strict=True)]
        assert len(set(found)) == 1, shown
        return found[0]

    def page(viewer: Viewer, f: ArticleFilter, order: ArticleOrder, request: PageRequest) -> Any:
        return articles.page_statement(viewer=viewer, now=NOW, f=f, order=order, page=request)[0]

    first, last = PageRequest(size=20), PageRequest(size=20, forward=False)
    assert reads_public(articles.count_statement(viewer=PUBLIC, now=NOW, f=searched))
    assert reads_public(page(PUBLIC, searched, ArticleOrder(), first))
    assert not reads_public(page(PUBLIC, searched, ArticleOrder(), last))
    assert not reads_public(page(PUBLIC, searched, ArticleOrder(OrderField.RELEVANCE), first))
    assert not reads_public(page(PUBLIC, searched, ArticleOrder(descending=False), first))
    with_language = ArticleFilter(search="walrus", language="en")
    assert not reads_public(articles.count_statement(viewer=PUBLIC, now=NOW, f=with_language))
    assert not reads_public(page(PUBLIC, with_language, ArticleOrder(), first))
    preview = Viewer(Role.PREVIEW)
    assert not reads_public(articles.count_statement(viewer=preview, now=NOW, f=searched))
    assert not reads_public(page(preview, searched, ArticleOrder(), first))
