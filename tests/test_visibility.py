"""The public reader sees an article only when PUBLISHED and its publishedAt has passed: on every path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from cms.clock import FixedClock
from cms.content.editing import write_articles
from cms.content.errors import InvalidInput, InvalidRecord
from cms.content.records import ArticleRecord
from cms.models import Article
from tests.conftest import NOW, data

HIDDEN = {
    "greater-caucasus-glacier-monitoring": "DRAFT",
    "municipal-budgets-online-pilot": "IN_REVIEW",
    "danube-flood-warning-network": "scheduled",
    "baku-trade-fair-small-exporters": "ARCHIVED",
}

# Sized to the seeds (lists of 30, nested lists of 20: more than they hold) and within the public cost limit.
EVERY_LIST = """
query ($status: [ArticleStatus!]) {
  articles(first: 100, filter: {status: $status}) { totalCount nodes { slug translations { slug } } }
  authors(first: 30) { nodes { articles(first: 20) { totalCount nodes { slug } } } }
  categories(first: 30) {
    nodes {
      all: articles(first: 20) { totalCount nodes { slug } }
      own: articles(first: 20, includeDescendants: false) { totalCount nodes { slug } }
    }
  }
  sources(first: 30) { nodes { articles(first: 20) { totalCount nodes { slug } } } }
}
"""

SINGLE = """
query ($id: ID!, $slug: String!) {
  byId: article(id: $id) { slug }
  bySlug: article(slug: $slug) { slug }
  node(id: $id) { id }
}
"""


def _slugs(value: Any) -> set[str]:
    """Every article slug anywhere in a response."""
    if isinstance(value, dict):
        own = {value["slug"]} if "slug" in value and "title" not in value else set()
        return own.union(*(_slugs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_slugs(v) for v in value))
    return set()


def _connections(value: Any) -> list[tuple[int, int]]:
    """(totalCount, number of nodes) of every connection in a response."""
    if isinstance(value, dict):
        own = [(value["totalCount"], len(value["nodes"]))] if "totalCount" in value else []
        return own + [pair for v in value.values() for pair in _connections(v)]
    if isinstance(value, list):
        return [pair for v in value for pair in _connections(v)]
    return []


async def _ids(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as connection:
        statement = select(col(Article.slug), col(Article.id)).where(col(Article.language) == "en")
        return dict((await connection.execute(statement)).all())


@pytest.mark.parametrize("status", [None, ["DRAFT", "IN_REVIEW", "ARCHIVED", "PUBLISHED"]])
async def test_no_list_nested_list_or_total_shows_a_hidden_article(
    seeded: AsyncEngine, client: httpx.AsyncClient, status: list[str] | None
) -> None:
    result = await data(client, EVERY_LIST, {"status": status})
    seen = _slugs(result)
    assert "unesco-mission-nagorno-karabakh" in seen
    assert not seen & set(HIDDEN)
    visible = result["articles"]["totalCount"]
    assert visible == len(result["articles"]["nodes"]) == 11
    connections = _connections(result)
    assert len(connections) > 40
    assert all(total == shown for total, shown in connections), connections


async def test_asking_for_drafts_by_status_finds_nothing(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    query = "{ articles(filter: {status: [DRAFT, IN_REVIEW, ARCHIVED]}) { totalCount nodes { slug } } }"
    assert (await data(client, query))["articles"] == {"totalCount": 0, "nodes": []}


@pytest.mark.parametrize("slug", sorted(HIDDEN))
async def test_a_hidden_article_is_null_by_id_slug_and_node(
    seeded: AsyncEngine, client: httpx.AsyncClient, slug: str
) -> None:
    article_id = (await _ids(seeded))[slug]
    result = await data(client, SINGLE, {"id": article_id, "slug": slug})
    assert result == {"byId": None, "bySlug": None, "node": None}


async def test_a_visible_article_is_found_by_id_slug_and_node(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    slug = "unesco-mission-nagorno-karabakh"
    article_id = (await _ids(seeded))[slug]
    result = await data(client, SINGLE, {"id": article_id, "slug": slug})
    assert result == {"byId": {"slug": slug}, "bySlug": {"slug": slug}, "node": {"id": article_id}}


async def test_search_and_filters_do_not_reveal_hidden_articles(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    query = """{
      glacier: articles(filter: {search: "glacier"}) { totalCount }
      danube: articles(filter: {title: {contains: "Danube"}}) { totalCount }
      climate: articles(filter: {category: "science"}) { totalCount nodes { slug } }
    }"""
    result = await data(client, query)
    assert result["glacier"]["totalCount"] == 0
    assert result["danube"]["totalCount"] == 0
    assert _slugs(result["climate"]) == {"caspian-sea-level-decline"}


async def test_a_scheduled_article_appears_at_its_time_without_any_job(
    seeded: AsyncEngine, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    query = '{ article(slug: "danube-flood-warning-network") { slug } articles(first: 1) { nodes { slug } } }'
    assert (await data(client, query))["article"] is None
    clock.set(datetime(2099, 1, 1, 9, 0, tzinfo=UTC))
    result = await data(client, query)
    assert result["article"] == {"slug": "danube-flood-warning-network"}
    assert result["articles"]["nodes"] == [{"slug": "danube-flood-warning-network"}]


async def test_translations_join_the_three_languages(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    query = """{ article(slug: "gobustan-rock-art-digital-archive", language: "az") {
        language translations { language slug } } }"""
    article = (await data(client, query))["article"]
    assert article["language"] == "az"
    assert sorted(t["language"] for t in article["translations"]) == ["en", "ru"]


async def test_author_emails_are_hidden_from_the_public(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    result = await data(client, "{ authors(first: 100) { nodes { email } } }")
    assert {a["email"] for a in result["authors"]["nodes"]} == {None}


async def test_revisions_are_forbidden_to_the_public(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    from tests.conftest import error_codes, gql

    body = await gql(
        client, '{ article(slug: "unesco-mission-nagorno-karabakh") { revisions { totalCount } } }'
    )
    assert error_codes(body) == ["FORBIDDEN"]


async def test_a_filter_may_name_several_categories(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    """Each category condition is a recursive subquery of its own (two of one name once failed to compile)."""
    query = """{
      both: articles(first: 100, filter: {or: [{category: "culture"}, {category: "science"}]}) {
        nodes { slug } }
      culture: articles(first: 100, filter: {category: "culture"}) { nodes { slug } }
      science: articles(first: 100, filter: {category: "science"}) { nodes { slug } }
      neither: articles(first: 100, filter: {category: "culture", not: {category: "culture"}}) {
        nodes { slug } }
    }"""
    result = await data(client, query)
    assert _slugs(result["both"]) == _slugs(result["culture"]) | _slugs(result["science"])
    assert _slugs(result["culture"])
    assert _slugs(result["science"])
    assert result["neither"]["nodes"] == []


async def test_a_published_article_always_has_a_published_at(seeded: AsyncEngine) -> None:
    """`visibility.held_back` counts only those whose publishedAt is ahead: the one write refuses a
    PUBLISHED (or ARCHIVED) article without one, on every path (the API's and the import's)."""
    for status in ("PUBLISHED", "ARCHIVED"):
        record = ArticleRecord(title="No date", body="Body.", status=status, published_at=None)
        async with AsyncSession(seeded) as session, session.begin():
            with pytest.raises(InvalidRecord) as refused:
                await write_articles(session, [record], actor="test", now=NOW)
        invalid = refused.value.error
        assert isinstance(invalid, InvalidInput)
        assert [(e.field, e.code) for e in invalid.errors] == [(("publishedAt",), "REQUIRED")]
    async with AsyncSession(seeded) as session:
        unset = and_(col(Article.status) == "PUBLISHED", col(Article.published_at).is_(None))
        assert (await session.execute(select(col(Article.id)).where(unset))).all() == []
