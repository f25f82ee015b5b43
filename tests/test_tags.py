"""Tags as items and related articles (issue 16), through the real app on both databases, as every role:
counts are the articles the caller sees, pages walk in a stable order, an article's tags keep its order,
related articles rank by what they share, and every new list costs the same statements whatever its size."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.clock import FixedClock
from cms.content import keys
from cms.content.editing import write_articles
from cms.content.records import ArticleRecord
from cms.content.roles import Role
from cms.content.slugs import slugify
from cms.db import StatementCounter
from cms.graphql.plan.planner import Planner
from cms.graphql.schema import schema
from cms.migrate import upgrade
from cms.settings import async_database_url
from tests.conftest import NOW, checked_app, client_as, data, error_codes, gql, token_for
from tests.test_planner import VIEWERS, both

ROLES = [Role.READER, Role.PREVIEW, Role.EDITOR, Role.ADMIN]
TAGS = """query ($first: Int, $after: String, $search: String, $order: TagOrder) {
  tags(first: $first, after: $after, search: $search, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { slug name articleCount } } }"""
TAG = "query ($slug: String!) { tag(slug: $slug) { slug name articleCount articles { totalCount } } }"
EVERY_TAG = "{ articles(first: 100) { nodes { slug tags } } }"
RELATED = "query ($slug: String!, $first: Int) { article(slug: $slug) { related(first: $first) { slug } } }"


@contextlib.asynccontextmanager
async def as_role(engine: AsyncEngine, clock: FixedClock, role: Role) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app for `role`: the public reader sends no token."""
    if role is Role.READER:
        async with checked_app(engine, clock) as http:
            yield http
    else:
        async with client_as(engine, clock, await token_for(engine, role)) as http:
            yield http


async def write(engine: AsyncEngine, *records: ArticleRecord) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await write_articles(session, list(records), actor="test", now=NOW)


def published(title: str, tags: list[str], hours_ago: int = 1, **fields: Any) -> ArticleRecord:
    return ArticleRecord(
        title=title,
        body=f"{title}.",
        status="PUBLISHED",
        published_at=NOW - timedelta(hours=hours_ago),
        tags=tags,
        **fields,
    )


async def _hidden(engine: AsyncEngine) -> None:
    """A draft and a scheduled article: only PREVIEW and above see them, and their tags."""
    await write(
        engine,
        ArticleRecord(title="Embargoed draft", body="Soon.", tags=["culture", "Embargoed"]),
        published("Scheduled piece", ["culture", "heritage"], hours_ago=-5),
    )


@pytest.mark.parametrize("role", ROLES)
async def test_tag_counts_are_the_articles_the_caller_sees(
    seeded: AsyncEngine, clock: FixedClock, role: Role
) -> None:
    await _hidden(seeded)
    async with as_role(seeded, clock, role) as http:
        seen = (await data(http, EVERY_TAG))["articles"]["nodes"]
        expected = Counter(slugify(tag) for article in seen for tag in article["tags"])
        listed = (await data(http, TAGS, {"first": 100}))["tags"]
        assert {t["slug"]: t["articleCount"] for t in listed["nodes"]} == expected
        assert listed["totalCount"] == len(expected)
        for slug in ("culture", "embargoed"):
            found = (await data(http, TAG, {"slug": slug}))["tag"]
            if expected[slug]:
                assert found["articleCount"] == found["articles"]["totalCount"] == expected[slug]
            else:
                assert found is None
    assert (expected["embargoed"], expected["culture"]) == ((1, 8) if role is not Role.READER else (0, 6))


async def test_a_tag_only_drafts_carry_is_none_until_one_is_published(
    seeded: AsyncEngine, clock: FixedClock, client: httpx.AsyncClient
) -> None:
    await _hidden(seeded)
    assert (await data(client, TAG, {"slug": "embargoed"}))["tag"] is None
    listed = (await data(client, TAGS, {"first": 100, "search": "embargo"}))["tags"]
    assert (listed["totalCount"], listed["nodes"]) == (0, [])
    await write(seeded, published("Embargo lifted", ["embargoed"]))
    found = (await data(client, TAG, {"slug": "embargoed"}))["tag"]
    assert (found["name"], found["articleCount"]) == ("embargoed", 1)


async def test_every_tag_answer_goes_stale_with_any_article_write(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """A tag is a count of articles: found or not, listed or an article's, its answer names the articles
    list, which every article write makes stale (`keys.written`)."""
    documents = [
        (TAG, {"slug": "culture"}),
        (TAG, {"slug": "no-such-tag"}),
        (TAGS, {"first": 3}),
        ('{ article(slug: "caspian-sea-level-decline") { tagList { slug articleCount } } }', {}),
    ]
    for query, variables in documents:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        assert "errors" not in response.json()
        assert keys.ARTICLES in response.headers["surrogate-key"].split(), query
    assert keys.ARTICLES in keys.written([("Article", "art_x")])


ORDERS = {
    "count, most first": (
        {"field": "ARTICLE_COUNT", "direction": "DESC"},
        lambda t: (-t["articleCount"], t["slug"]),
    ),
    "count, fewest first": (
        {"field": "ARTICLE_COUNT", "direction": "ASC"},
        lambda t: (t["articleCount"], t["slug"]),
    ),
    "name a to z": ({"field": "NAME", "direction": "ASC"}, lambda t: t["name"]),
}


@pytest.mark.parametrize("order", list(ORDERS), ids=str)
async def test_tags_walk_page_by_page_in_a_stable_order(
    seeded: AsyncEngine, client: httpx.AsyncClient, order: str
) -> None:
    given, key = ORDERS[order]
    whole = (await data(client, TAGS, {"first": 100, "order": given}))["tags"]["nodes"]
    assert whole == sorted(whole, key=key)
    walked, after = [], None
    while True:
        page = (await data(client, TAGS, {"first": 4, "after": after, "order": given}))["tags"]
        walked += page["nodes"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == whole


async def test_the_default_order_is_the_most_used_first_and_names_sort_both_ways(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    default = (await data(client, TAGS, {"first": 3}))["tags"]["nodes"]
    assert [t["slug"] for t in default] == ["culture", "heritage", "archaeology"]
    down = await data(client, TAGS, {"first": 100, "order": {"field": "NAME", "direction": "DESC"}})
    up = await data(client, TAGS, {"first": 100, "order": {"field": "NAME", "direction": "ASC"}})
    assert down["tags"]["nodes"] == up["tags"]["nodes"][::-1]


async def test_search_finds_names_ignoring_case_and_takes_wildcards_literally(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    found = (await data(client, TAGS, {"first": 10, "search": " CULT "}))["tags"]
    assert ([t["slug"] for t in found["nodes"]], found["totalCount"]) == (["culture"], 1)
    sea = (await data(client, TAGS, {"first": 10, "search": "Sea"}))["tags"]["nodes"]
    assert [t["slug"] for t in sea] == ["caspian-sea"]
    for literal in ("%", "_", "\\"):
        assert (await data(client, TAGS, {"search": literal}))["tags"]["totalCount"] == 0
    everything = (await data(client, TAGS, {"search": "  "}))["tags"]["totalCount"]
    assert everything == (await data(client, TAGS, {}))["tags"]["totalCount"]


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 0},
        {"first": 101},
        {"search": "x" * 51},
        {"after": "not-a-cursor"},
    ],
    ids=["first 0", "first 101", "long search", "bad cursor"],
)
async def test_bad_tag_list_arguments_are_bad_user_input(
    seeded: AsyncEngine, client: httpx.AsyncClient, variables: dict[str, Any]
) -> None:
    assert error_codes(await gql(client, TAGS, variables)) == ["BAD_USER_INPUT"]


async def test_a_cursor_of_another_order_is_refused(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    cursor = (await data(client, TAGS, {"first": 2}))["tags"]["pageInfo"]["endCursor"]
    other = {"first": 2, "after": cursor, "order": {"field": "NAME"}}
    assert error_codes(await gql(client, TAGS, other)) == ["BAD_USER_INPUT"]


async def test_an_article_lists_its_tags_as_items_in_its_order_once_a_slug(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await write(seeded, published("Tagged story", ["Zeta", "alpha", "Caspian-Sea", "caspian sea", "★"]))
    query = """{ article(slug: "tagged-story") { tags tagList { slug name articleCount
      articles(first: 5) { totalCount } } } }"""
    article = (await data(client, query))["article"]
    assert article["tags"] == ["zeta", "alpha", "caspian-sea", "caspian sea", "★"]
    assert [(t["slug"], t["name"], t["articleCount"]) for t in article["tagList"]] == [
        ("zeta", "zeta", 1),
        ("alpha", "alpha", 1),
        ("caspian-sea", "caspian-sea", 3),
    ]
    assert [t["articles"]["totalCount"] for t in article["tagList"]] == [1, 1, 3]
    both_names = (await data(client, TAG, {"slug": "caspian-sea"}))["tag"]
    assert (both_names["name"], both_names["articleCount"]) == ("caspian sea", 3)


async def test_a_tags_articles_take_filters_orders_and_pages(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    query = """query ($filter: ArticleFilter, $order: ArticleOrder, $after: String) {
      tag(slug: "culture") { articles(first: 2, after: $after, filter: $filter, orderBy: $order) {
        totalCount pageInfo { hasNextPage endCursor } nodes { slug language title } } } }"""
    az = (await data(client, query, {"filter": {"language": "az"}}))["tag"]["articles"]
    assert az["totalCount"] == 1
    assert [n["language"] for n in az["nodes"]] == ["az"]
    order = {"field": "TITLE", "direction": "ASC"}
    titles, after = [], None
    while True:
        page = (await data(client, query, {"order": order, "after": after}))["tag"]["articles"]
        titles += [n["title"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert titles == sorted(titles)
    assert len(titles) == page["totalCount"] == 6


async def _likeness(engine: AsyncEngine) -> None:
    """An article and others that share more or less with it (see `test_related_...`)."""
    desk, other = ["Desk"], ["Elsewhere"]
    await write(
        engine,
        published("Source story", ["a", "b", "c"], hours_ago=50, category=desk, slug="source"),
        published("Three tags", ["c", "b", "a"], hours_ago=40, category=other),
        published("Two tags and the desk", ["a", "b"], hours_ago=40, category=desk, language="az"),
        published("One tag and the desk", ["a"], hours_ago=40, category=desk),
        published("One tag newer", ["a"], hours_ago=10, category=other),
        published("One tag older", ["a"], hours_ago=60, category=other),
        published("The desk only", ["z"], hours_ago=40, category=desk),
        published("Nothing shared", ["y"], hours_ago=1, category=["Third"]),
        ArticleRecord(title="Draft with all", body="Soon.", tags=["a", "b", "c"], category=desk),
        published("Source story az", ["a", "b", "c"], language="az", translation_of="source", slug="source"),
    )


RANKED = [
    "three-tags",
    "two-tags-and-the-desk",
    "one-tag-and-the-desk",
    "one-tag-newer",
    "one-tag-older",
    "the-desk-only",
]


@pytest.mark.parametrize("role", ROLES)
async def test_related_ranks_by_shared_tags_then_category_then_language(
    engine: AsyncEngine, clock: FixedClock, role: Role
) -> None:
    """Each shared tag 4, the category 2, the language 1, then newer first; never itself nor its
    translations, never what shares nothing; drafts for those who see drafts."""
    await _likeness(engine)
    async with as_role(engine, clock, role) as http:
        found = (await data(http, RELATED, {"slug": "source", "first": 20}))["article"]["related"]
        first_five = (await data(http, RELATED, {"slug": "source"}))["article"]["related"]
    expected = RANKED if role is Role.READER else ["draft-with-all", *RANKED]
    assert [a["slug"] for a in found] == expected
    assert [a["slug"] for a in first_five] == expected[:5]


@pytest.mark.parametrize("first", [0, 21, -1])
async def test_related_takes_1_to_20(seeded: AsyncEngine, client: httpx.AsyncClient, first: int) -> None:
    body = await gql(client, RELATED, {"slug": "caspian-sea-level-decline", "first": first})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "between 1 and 20" in body["errors"][0]["message"]


async def _tagged_archive(engine: AsyncEngine, count: int) -> None:
    await write(
        engine,
        *(
            published(
                f"Archive {n}",
                [f"t{n % 7}", f"u{n % 3}", "archive"],
                hours_ago=n + 1,
                category=[f"Desk {n % 4}"],
            )
            for n in range(count)
        ),
    )


LISTS = """query ($n: Int!) {
  tags(first: $n) { totalCount nodes { slug name articleCount
    articles(first: 3) { totalCount nodes { slug tagList { slug articleCount }
      related(first: 3) { slug } } } } }
  articles(first: $n) { nodes { slug tagList { slug name articleCount articles(first: 2) { nodes { slug } } }
    related { slug tagList { slug } } } }
}"""


STATEMENTS = 14
"""LISTS' (kept answers off): the content version; tags' page and total, its articles' pages and totals, their
tag lists, those tags' counts, their related articles; the articles page, its tag lists, their counts and
articles, its related articles and their tag lists."""


@pytest.mark.parametrize("planner", ["on", "off"])
async def test_each_new_list_costs_the_same_statements_whatever_its_size(
    engine: AsyncEngine, clock: FixedClock, planner: str
) -> None:
    await _tagged_archive(engine, 60)
    counts = {}
    for n in (2, 30):
        async with checked_app(engine, clock, planner=planner, response_cache_mib=0) as http:
            await data(http, LISTS, {"n": n})  # as a running server: the category tree is kept
            with StatementCounter(engine) as counter:
                result = await data(http, LISTS, {"n": n})
        assert len(result["articles"]["nodes"]) == n
        assert len(result["tags"]["nodes"]) == min(n, 11)
        counts[n] = counter.count
    if planner == "on":
        assert counts[2] == counts[30] == STATEMENTS, counts
    else:  # Strawberry's loaders may batch two branches as one, more or less often
        assert counts[30] <= counts[2] <= STATEMENTS, counts


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW, Role.EDITOR])
async def test_the_planner_answers_every_new_field_as_strawberry_does(
    seeded: AsyncEngine, role: Role
) -> None:
    await _hidden(seeded)
    planner = Planner(schema)
    documents: list[tuple[str, dict[str, Any]]] = [
        (TAGS, {"first": 5, "order": {"field": "NAME"}, "search": "e"}),
        (TAG, {"slug": "culture"}),
        (TAG, {"slug": "embargoed"}),
        ("{ articles(first: 20) { nodes { tagList { slug name articleCount } related { slug } } } }", {}),
        (LISTS, {"n": 5}),
    ]
    for query, variables in documents:
        expected, got = await both(seeded, planner, VIEWERS[role], query, variables)
        assert got == expected
    assert (planner.planned, planner.fallbacks) == (len(documents), Counter())
    expected, got = await both(
        seeded, planner, VIEWERS[role], RELATED, {"slug": "caspian-sea-level-decline", "first": 21}
    )
    assert got is None
    assert "BAD_USER_INPUT" in expected
    assert planner.fallbacks == Counter({"error: BAD_USER_INPUT": 1})


async def test_costs_count_the_new_lists(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    """tags(first:), Tag.articles(first:) and related(first:) multiply what is below them."""
    huge = (
        "{ tags(first: 100) { nodes { articles(first: 100) { nodes { related(first: 20) { title } } } } } }"
    )
    (error,) = (await gql(client, huge))["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"]["requested"] > 100 * 100 * 20
    small = "{ tags(first: 10) { nodes { articles(first: 5) { nodes { related { title } } } } } }"
    assert "errors" not in await gql(client, small)


def test_the_migration_gives_slugs_to_the_tags_written_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = async_database_url(f"sqlite:///{path}")
    upgrade(url, "0013")
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO article (id, slug, language, title, derived_excerpt, body, body_html, body_text,"
            " status, word_count, version, created_at, updated_at, publish_pending) VALUES"
            " ('art_1', 's', 'en', 'T', '', '', '', '', 'DRAFT', 0, 1, '2026-01-01', '2026-01-01', 0)"
        )
        connection.executemany(
            "INSERT INTO article_tag (article_id, tag, position) VALUES ('art_1', ?, ?)",
            [("caspian sea", 0), ("şəki", 1), ("★", 2)],
        )
    upgrade(url)
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT tag, slug FROM article_tag ORDER BY position").fetchall()
    assert rows == [("caspian sea", "caspian-sea"), ("şəki", "seki"), ("★", "")]
