"""The public's totals come from the counters the writes keep (migration 0018, `content.counts`): after every
kind of write, and as scheduled articles reach their instant, each counter is the plain count of its scope,
and every public totalCount is the visibility rule's count, read with the counter's statement."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content import articles, tags
from cms.content.filters import ArticleFilter
from cms.content.roles import PUBLIC, Role, Viewer
from cms.files.importer import import_paths
from cms.models import UTCDateTime
from tests.conftest import NOW, SEEDS, data

RECOUNT = """
SELECT kind, key, count(*) FROM (
  SELECT 'all' AS kind, '' AS key, id FROM article WHERE status = 'PUBLISHED'
  UNION ALL SELECT 'language', lower(language), id FROM article WHERE status = 'PUBLISHED'
  UNION ALL SELECT 'category', category_id, id FROM article
    WHERE status = 'PUBLISHED' AND category_id IS NOT NULL
  UNION ALL SELECT DISTINCT 'author', l.author_id, a.id FROM article a
    JOIN article_author l ON l.article_id = a.id WHERE a.status = 'PUBLISHED'
  UNION ALL SELECT DISTINCT 'source', l.source_id, a.id FROM article a
    JOIN article_source l ON l.article_id = a.id WHERE a.status = 'PUBLISHED'
  UNION ALL SELECT DISTINCT 'source:' || l.role, l.source_id, a.id FROM article a
    JOIN article_source l ON l.article_id = a.id WHERE a.status = 'PUBLISHED'
  UNION ALL SELECT DISTINCT 'tag', l.slug, a.id FROM article a
    JOIN article_tag l ON l.article_id = a.id WHERE a.status = 'PUBLISHED'
) counted GROUP BY kind, key
"""

TOTALS = """
{ articles(first: 1) { totalCount }
  en: articles(filter: {language: "EN"}) { totalCount }
  az: articles(filter: {language: "az"}) { totalCount }
  ru: articles(filter: {language: "ru"}) { totalCount }
  categories(first: 40) { nodes { id slug articles(first: 1) { totalCount }
                                   direct: articles(first: 1, includeDescendants: false) { totalCount } } }
  authors(first: 40) { nodes { id slug articles(first: 1) { totalCount } } }
  sources(first: 40) { nodes { id slug articles(first: 1) { totalCount }
                               wire: articles(first: 1, role: WIRE) { totalCount } } }
  tags(first: 40) { nodes { slug name articles(first: 1) { totalCount } } }
}
"""
ONE_TAG = "query($s: String!) { tag(slug: $s) { name articleCount articles(first: 1) { totalCount } } }"
ONE_AUTHOR = "query($s: String!) { author(slug: $s) { articles(first: 1) { totalCount } } }"


async def maintained(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT kind, key, n FROM published_count"))
        return {(kind, key): n for kind, key, n in rows if n}


async def recounted(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    async with engine.connect() as connection:
        return {(kind, key): n for kind, key, n in await connection.execute(text(RECOUNT))}


async def visible_counts(engine: AsyncEngine, now: Any) -> Counter[tuple[str, str]]:
    """The visibility rule's count of each scope, made here from the rows."""
    visible, at = "a.status = 'PUBLISHED' AND a.published_at <= :now", bindparam("now", type_=UTCDateTime())
    counts: Counter[tuple[str, str]] = Counter()
    async with engine.connect() as connection:
        parents: dict[str, str | None] = dict(
            (await connection.execute(text("SELECT id, parent_id FROM category"))).all()
        )
        articles = await connection.execute(
            text(f"SELECT a.id, a.language, a.category_id FROM article a WHERE {visible}").bindparams(at),
            {"now": now},
        )
        for _, language, category in articles:
            counts["all", ""] += 1
            counts["language", language.lower()] += 1
            while category is not None:
                counts["subtree", category] += 1
                category = parents[category]
        for kind, statement in (
            ("category", "SELECT a.category_id, a.id FROM article a"),
            (
                "author",
                "SELECT l.author_id, a.id FROM article a JOIN article_author l ON l.article_id = a.id",
            ),
            (
                "source",
                "SELECT l.source_id, a.id FROM article a JOIN article_source l ON l.article_id = a.id",
            ),
            (
                "source:WIRE",
                "SELECT l.source_id, a.id FROM article a JOIN article_source l ON l.article_id = a.id "
                "AND l.role = 'WIRE'",
            ),
            ("tag", "SELECT l.slug, a.id FROM article a JOIN article_tag l ON l.article_id = a.id"),
        ):
            rows = await connection.execute(text(f"{statement} WHERE {visible}").bindparams(at), {"now": now})
            for key, _ in set(rows.all()):
                counts[kind, key] += 1
    return counts


async def served(client: httpx.AsyncClient) -> Counter[tuple[str, str]]:
    result = await data(client, TOTALS)
    counts: Counter[tuple[str, str]] = Counter({("all", ""): result["articles"]["totalCount"]})
    for language in ("en", "az", "ru"):
        counts["language", language] = result[language]["totalCount"]
    for node in result["categories"]["nodes"]:
        counts["subtree", node["id"]] = node["articles"]["totalCount"]
        counts["category", node["id"]] = node["direct"]["totalCount"]
        one = await data(
            client,
            "query($s: String!) { category(slug: $s) { articles(first: 1) { totalCount } } }",
            {"s": node["slug"]},
        )
        assert one["category"]["articles"]["totalCount"] == node["articles"]["totalCount"]
    for node in result["authors"]["nodes"]:
        counts["author", node["id"]] = node["articles"]["totalCount"]
        one = await data(client, ONE_AUTHOR, {"s": node["slug"]})
        assert one["author"]["articles"] == node["articles"]
    for node in result["sources"]["nodes"]:
        counts["source", node["id"]] = node["articles"]["totalCount"]
        counts["source:WIRE", node["id"]] = node["wire"]["totalCount"]
    for node in result["tags"]["nodes"]:
        counts["tag", node["slug"]] = total = node["articles"]["totalCount"]
        one = await data(client, ONE_TAG, {"s": node["slug"]})  # a tag page's name and counts
        assert one["tag"] == {"name": node["name"], "articleCount": total, "articles": {"totalCount": total}}
    return +counts


async def agree(engine: AsyncEngine, client: httpx.AsyncClient, clock: FixedClock) -> None:
    """The counters are the plain counts, and the public's totals the visibility rule's."""
    assert await maintained(engine) == await recounted(engine)
    expected = +(await visible_counts(engine, clock.now()))
    got = await served(client)
    assert got == expected
    assert set(got) >= {(kind, key) for kind, key in expected if kind in ("all", "subtree", "tag")}


CREATE = """
mutation($input: ArticleInput!) { createArticle(input: $input) { article { id } userErrors { code } } }
"""


async def write(editor: httpx.AsyncClient, mutation: str, **variables: Any) -> Any:
    result = await data(editor, mutation, variables)
    payload = next(iter(result.values()))
    assert not payload.get("userErrors"), payload
    return payload


async def test_every_kind_of_write_keeps_the_counts(
    seeded: AsyncEngine, client: httpx.AsyncClient, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    await agree(seeded, client, clock)
    created = await write(
        editor,
        CREATE,
        input={
            "title": "Counted",
            "language": "az",
            "category": "culture",
            "authors": ["fidan-abdullayeva"],
            "tags": ["crafts", "Crafts!"],
            "sources": [{"source": "trend", "role": "WIRE"}, {"source": "trend", "role": "REFERENCE"}],
        },
    )
    id_ = created["article"]["id"]
    await agree(seeded, client, clock)
    publish = "mutation($id: ID!) { publishArticle(id: $id) { userErrors { code } } }"
    await write(editor, publish, id=id_)
    await agree(seeded, client, clock)
    update = """mutation($id: ID!, $input: ArticleInput!) {
      updateArticle(id: $id, input: $input) { userErrors { code } } }"""
    moved = {"language": "en", "category": "energy", "tags": ["heritage"], "authors": [], "sources": []}
    await write(editor, update, id=id_, input=moved)
    await agree(seeded, client, clock)
    await write(editor, "mutation($id: ID!) { unpublishArticle(id: $id) { userErrors { code } } }", id=id_)
    await agree(seeded, client, clock)
    later = (NOW + timedelta(hours=2)).isoformat()
    scheduled = """mutation($id: ID!, $at: DateTime) {
      publishArticle(id: $id, publishAt: $at) { userErrors { code } } }"""
    await write(editor, scheduled, id=id_, at=later)
    await agree(seeded, client, clock)
    clock.set(NOW + timedelta(hours=3))  # its instant passes: no write
    await agree(seeded, client, clock)
    await write(editor, "mutation($id: ID!) { archiveArticle(id: $id) { userErrors { code } } }", id=id_)
    await agree(seeded, client, clock)
    await write(editor, "mutation($id: ID!) { deleteArticle(id: $id) { userErrors { code } } }", id=id_)
    await agree(seeded, client, clock)
    await import_paths(seeded, [SEEDS], actor="test", now=NOW)  # again: updates
    await agree(seeded, client, clock)


async def test_hand_written_sql_keeps_the_counts(
    seeded: AsyncEngine, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    async with seeded.begin() as connection:
        await connection.execute(text("UPDATE article SET status = 'DRAFT' WHERE language = 'ru'"))
        await connection.execute(
            text("UPDATE article_tag SET slug = 'renamed', tag = 'renamed' WHERE position = 0")
        )
        await connection.execute(text("UPDATE article_source SET role = 'ORIGIN' WHERE role = 'WIRE'"))
        await connection.execute(text("DELETE FROM article_author WHERE position > 0"))
    await agree(seeded, client, clock)
    async with seeded.begin() as connection:
        await connection.execute(text("DELETE FROM article WHERE language = 'az'"))
    await agree(seeded, client, clock)


def test_the_public_total_is_read_from_its_counter() -> None:
    """The public's totals with no filter (or a language) read the counter; a filter it does not key, and
    PREVIEW, who sees every status, count the rows as before."""
    preview = Viewer(Role.PREVIEW)

    def sql(read: Any) -> str:
        return str(read.statement)

    assert "published_count" in sql(articles.count_statement(viewer=PUBLIC, now=NOW, f=None))
    assert "published_count" in sql(
        articles.count_statement(viewer=PUBLIC, now=NOW, f=ArticleFilter(language="az"))
    )
    assert "published_count" not in sql(
        articles.count_statement(viewer=PUBLIC, now=NOW, f=ArticleFilter(tag="x"))
    )
    assert "published_count" not in sql(articles.count_statement(viewer=preview, now=NOW, f=None))
    for links, parents in (
        (articles.IN_CATEGORIES, ["cat_a"]),
        (articles.category_links(True), ["cat_a", "cat_b"]),
        (articles.AUTHOR_LINKS, ["aut_a"]),
        (articles.source_links("WIRE"), ["src_a", "src_b"]),
        (tags.LINKS, ["crafts"]),
    ):
        counted = articles.linked_count_statement(
            links=links, parents=parents, viewer=PUBLIC, now=NOW, f=None
        )
        assert "published_count" in sql(counted)
        counted = articles.linked_count_statement(
            links=links, parents=parents, viewer=preview, now=NOW, f=None
        )
        assert "published_count" not in sql(counted)
