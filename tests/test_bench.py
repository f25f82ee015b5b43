"""The benchmark's tools: the archive generator is deterministic and valid, and the raw-SQL baseline answers
exactly as the CMS does, on SQLite and PostgreSQL, on the seeds and on an imported generated archive: the same
JSON for the GraphQL pages, the same feeds as their readers read them."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import run as runner
from bench.baseline import create_app as baseline_app
from bench.generate import TAGS, UNTIL, archive_lines, write_archive
from cms.clock import FixedClock
from cms.content.markdown import render
from cms.files.importer import import_paths
from cms.models import ArticleStatus, SourceKind, SourceRole, UTCDateTime
from cms.settings import Settings
from tests.conftest import NOW, ROOT, checked_app, data
from tests.test_article_mutations import PUBLISH, UNPUBLISH, create

# The keys, in order, of the example lines of content-files.md section 3.
KEYS = {
    "source": "type id slug name kind url".split(),
    "author": "type id slug name bio avatarUrl email".split(),
    "category": "type id slug name description parent".split(),
    "article": (
        "type id slug language title subtitle excerpt body status publishedAt "
        "authors category tags sources coverImage seo translationOf"
    ).split(),
}
ATTRIBUTION_KEYS = ["source", "role", "url", "note"]
PREFIXES = {"source": "src", "author": "aut", "category": "cat", "article": "art"}
FRONT_PAGE = (ROOT / "schema" / "examples" / "front_page.graphql").read_text()
ARTICLE_PAGE = (ROOT / "schema" / "examples" / "article_page.graphql").read_text()
CATEGORY_PAGE = (ROOT / "schema" / "examples" / "category_page.graphql").read_text()
TAG_PAGE = (ROOT / "schema" / "examples" / "tag_page.graphql").read_text()
# Searches in the contract's syntax (phrases, prefixes, OR, exclusions), and "the", in most English articles.
SEARCHES = ["the", '"cultural heritage"', "herit*", "baku OR caspian", "baku -carpet", "NOT baku the"]
FEEDS = ("/feeds/articles.xml", "/feeds/articles.json")
SERVED = Settings(article_url=runner.ARTICLE_URL)  # the baseline's settings as the benchmark serves it
LATEST = "{ articles(first: 50) { nodes { id publishedAt } } }"  # the public's newest: the feeds' oracle


@pytest.fixture(scope="module")
def archive() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in archive_lines(1000, seed=3)]


def of_type(archive: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in archive if item["type"] == kind]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    first = b"".join(archive_lines(120, seed=7))
    assert first == b"".join(archive_lines(120, seed=7))
    assert first != b"".join(archive_lines(120, seed=8))


def test_lines_have_the_formats_keys_in_order_and_types_in_order(archive: list[dict[str, Any]]) -> None:
    order = list(KEYS)
    ranks = [order.index(item["type"]) for item in archive]
    assert ranks == sorted(ranks)
    for item in archive:
        assert list(item) == KEYS[item["type"]]
        assert re.fullmatch(rf"{PREFIXES[item['type']]}_[0-9a-f]{{32}}", item["id"])
        for attribution in item.get("sources") or []:
            assert list(attribution) == ATTRIBUTION_KEYS
    assert len({item["id"] for item in archive}) == len(archive)


def test_counts_and_proportions_are_those_of_a_newsroom(archive: list[dict[str, Any]]) -> None:
    articles = of_type(archive, "article")
    assert len(articles) == 1000
    assert len(of_type(archive, "author")) == 40
    assert 55 <= len(of_type(archive, "category")) <= 70
    assert 35 <= len(of_type(archive, "source")) <= 45
    statuses = Counter(a["status"] for a in articles)
    assert 0.85 <= statuses["PUBLISHED"] / len(articles) <= 0.95
    assert all(statuses[s] for s in ("DRAFT", "IN_REVIEW", "ARCHIVED"))
    dates = [datetime.fromisoformat(a["publishedAt"]) for a in articles if a["publishedAt"]]
    assert all(a["publishedAt"].endswith("+00:00") for a in articles if a["publishedAt"])
    assert all(a["publishedAt"] for a in articles if a["status"] in ("PUBLISHED", "ARCHIVED"))
    assert any(
        a["status"] == "PUBLISHED" and datetime.fromisoformat(a["publishedAt"]) > NOW for a in articles
    )
    assert (max(d for d in dates if d <= UNTIL) - min(dates)).days > 9 * 365
    languages = Counter(a["language"] for a in articles)
    assert languages["en"] > 0.6 * len(articles)
    assert min(languages["az"], languages["ru"]) > 50
    assert len({(a["slug"], a["language"]) for a in articles}) == len(articles)
    assert all(1 <= len(a["authors"]) <= 3 and 1 <= len(a["tags"]) <= 4 for a in articles)
    assert all(len(a["sources"]) <= 3 and set(a["tags"]) <= set(TAGS) for a in articles)


def test_bodies_are_markdown_of_400_to_900_words_in_their_language(archive: list[dict[str, Any]]) -> None:
    articles = of_type(archive, "article")
    assert all(400 <= render(a["body"]).word_count <= 900 for a in articles)
    bodies = "\n".join(a["body"] for a in articles)
    assert all(mark in bodies for mark in ("\n## ", "\n- ", "](https://", " *", " **"))
    by_language = {
        code: " ".join(a["body"] for a in articles if a["language"] == code) for code in ("az", "ru")
    }
    assert {"mədəniyyət", "xalça", "həmçinin"} <= set(re.findall(r"\w+", by_language["az"]))
    assert {"культура", "наследие", "также"} <= set(re.findall(r"\w+", by_language["ru"]))


def test_every_reference_resolves(archive: list[dict[str, Any]]) -> None:
    sources = {s["slug"]: s for s in of_type(archive, "source")}
    authors = {a["slug"] for a in of_type(archive, "author")}
    categories: dict[str, int] = {}  # slug -> depth, parents first
    for category in of_type(archive, "category"):
        assert category["slug"] not in categories
        parent = category["parent"]
        categories[category["slug"]] = 1 if parent is None else categories[parent] + 1
    assert set(categories.values()) == {1, 2, 3}
    assert {s["kind"] for s in sources.values()} <= set(SourceKind)
    seen: dict[str, set[str]] = {}  # slug -> languages, in file order
    for article in of_type(archive, "article"):
        assert set(article["authors"]) <= authors
        assert article["category"] is None or article["category"] in categories
        for attribution in article["sources"]:
            assert attribution["source"] in sources
            assert attribution["role"] in set(SourceRole)
        assert article["status"] in set(ArticleStatus)
        original = article["translationOf"]
        assert original is None or article["language"] not in seen[original]
        seen.setdefault(article["slug"], set()).add(article["language"])
    translations = [a for a in of_type(archive, "article") if a["translationOf"]]
    assert 0.05 < len(translations) / 1000 < 0.2
    assert any(a["slug"] == a["translationOf"] for a in translations)
    assert any(a["slug"] != a["translationOf"] for a in translations)


@pytest.fixture
async def client(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """The CMS as the benchmark serves it: with article URLs, so that its feeds answer."""
    async with checked_app(engine, clock, article_url=runner.ARTICLE_URL) as http:
        yield http


def where(engine: AsyncEngine) -> str:
    """The baseline's name for the engine's database: a SQLite file's path, a postgresql:// URL."""
    if engine.dialect.name == "sqlite":
        return str(engine.url.database)
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def baseline(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    app = baseline_app(where(engine), now=clock.now, settings=SERVED)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http
    await app.state.database.close()


async def assert_same_answers(
    cms: httpx.AsyncClient, baseline: httpx.AsyncClient, engine: AsyncEngine
) -> dict[str, list[dict[str, Any]]]:
    """The front page at several sizes; the page of every article (visible or not); every category's page at
    20 cards and in pages of 2 (the second one after the first's cursor); the walk, every cursor followed;
    searches for the words of the titles and in every syntax; a missing article and category. The answers,
    by query."""
    async with engine.connect() as connection:
        pages = (await connection.execute(text("SELECT slug, language FROM article ORDER BY id"))).all()
        categories = (await connection.execute(text("SELECT slug FROM category ORDER BY slug"))).scalars()
        titles = (await connection.execute(text("SELECT title FROM article ORDER BY id"))).scalars().all()
    answers: dict[str, list[dict[str, Any]]] = defaultdict(list)

    async def same(name: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = {"query": query, "variables": variables}
        expected, got = (await cms.post("/graphql", json=body)), (await baseline.post("/graphql", json=body))
        assert expected.status_code == got.status_code == 200
        assert "errors" not in expected.json()
        assert json.dumps(got.json()) == json.dumps(expected.json()), variables
        answers[name].append(expected.json()["data"])
        return answers[name][-1]

    for variables in [{"first": 1}, {"first": 20}, {"first": 100}, {}]:
        await same("front", FRONT_PAGE, variables)
    for slug, language in pages:
        await same("article", ARTICLE_PAGE, {"slug": slug, "language": language})
    await same("article", ARTICLE_PAGE, {"slug": pages[0][0]})
    await same("article", ARTICLE_PAGE, {"slug": "no-such-article"})
    for slug in [*categories, "no-such-category"]:
        await same("category", CATEGORY_PAGE, {"slug": slug})
        first = (await same("category", CATEGORY_PAGE, {"slug": slug, "first": 2}))["category"]
        if first and first["articles"]["pageInfo"]["hasNextPage"]:
            after = first["articles"]["pageInfo"]["endCursor"]
            await same("category", CATEGORY_PAGE, {"slug": slug, "first": 2, "after": after})
    async with engine.connect() as connection:
        tags = (
            await connection.execute(text("SELECT DISTINCT slug FROM article_tag ORDER BY slug"))
        ).scalars()
    for slug in [*tags, "no-such-tag"]:
        await same("tag", TAG_PAGE, {"slug": slug})
        first = (await same("tag", TAG_PAGE, {"slug": slug, "first": 2}))["tag"]
        if first and first["articles"]["pageInfo"]["hasNextPage"]:
            after = first["articles"]["pageInfo"]["endCursor"]
            await same("tag", TAG_PAGE, {"slug": slug, "first": 2, "after": after})
    after, walked = None, 0
    while True:  # the whole archive, a page of 7 after another, as the walk reads it 100 a page
        page = (await same("walk", runner.WALK, {"first": 7, "after": after}))["articles"]
        walked += len(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked > 7, "the walk followed no cursor"
    words = sorted({word.lower() for title in titles for word in re.findall(r"[^\W\d_]{4,}", title)})
    for q in [*words[:40], *SEARCHES]:
        await same("search", runner.SEARCH, {"q": q})
    hidden = sum(answer == {"article": None} for answer in answers["article"])
    assert 0 < hidden < len(answers["article"]) / 2
    assert any(
        edge["node"]["category"]["slug"] != answer["category"]["slug"]
        for answer in answers["category"]
        if answer["category"]
        for edge in answer["category"]["articles"]["edges"]
    ), "no category page lists the articles of a subcategory"
    return answers


async def assert_same_feeds(
    cms: httpx.AsyncClient, baseline: httpx.AsyncClient, engine: AsyncEngine
) -> list[str]:
    """Both feeds of both servers as their readers read them (`runner.seen`: feedparser's whole reading of
    the RSS, the JSON Feed's JSON): the same channel, the same items in order, every field; the items the
    newest the public sees, past at least one newer article it does not. The items' ids."""
    read = {}
    for path in FEEDS:
        expected, got = await cms.get(path), await baseline.get(path)
        assert expected.status_code == got.status_code == 200, path
        assert got.headers["content-type"] == expected.headers["content-type"]
        read[path] = runner.seen(path, got.content)
        assert read[path] == runner.seen(path, expected.content), path
    rss, feed = read[FEEDS[0]], read[FEEDS[1]]
    latest = (await data(cms, LATEST))["articles"]["nodes"]
    ids = [item["id"] for item in feed["items"]]
    assert ids == [entry["id"] for entry in rss["entries"]] == [node["id"] for node in latest]
    for entry in rss["entries"]:  # the fields compared are there to compare
        assert {"title", "link", "published_parsed", "summary", "content"} <= set(entry)
    assert any("authors" in entry for entry in rss["entries"])
    assert any("tags" in entry for entry in rss["entries"])
    assert {"title", "link", "subtitle", "updated_parsed", "links"} <= set(rss["feed"])
    hidden = text(
        "SELECT count(*) FROM article WHERE published_at >= :oldest "
        "AND NOT (status = 'PUBLISHED' AND published_at <= :now)"
    ).bindparams(bindparam("oldest", type_=UTCDateTime), bindparam("now", type_=UTCDateTime))
    oldest = datetime.fromisoformat(latest[-1]["publishedAt"])
    async with engine.connect() as connection:
        assert (await connection.execute(hidden, {"oldest": oldest, "now": NOW})).scalar_one() > 0
    return ids


async def test_the_baseline_answers_as_the_cms_on_the_seeds(
    seeded: AsyncEngine, client: httpx.AsyncClient, baseline: httpx.AsyncClient
) -> None:
    await assert_same_answers(client, baseline, seeded)
    await assert_same_feeds(client, baseline, seeded)


# SQLite only: on PostgreSQL the seeds' test compares the same pages, in a fraction of this one's time.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_baseline_answers_as_the_cms_on_a_generated_archive(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    baseline: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    """Then the feeds again after the newest article is unpublished, the next one rescheduled for later,
    and a new one published with a control character XML cannot hold in its title."""
    archive = tmp_path / "archive.ndjson"
    write_archive(archive, 100, seed=5)
    await import_paths(engine, [archive], actor="test", now=NOW)
    answers = await assert_same_answers(client, baseline, engine)
    assert any(answer["articles"]["pageInfo"]["hasNextPage"] for answer in answers["search"])
    listed = await assert_same_feeds(client, baseline, engine)
    assert len(listed) == 50
    await data(editor, UNPUBLISH, {"id": listed[0]})
    await data(editor, PUBLISH, {"id": listed[1], "at": (NOW + timedelta(days=1)).isoformat()})
    story = await create(editor, title="Bells\x07 ring in Sheki", body="The *bells* ring.")
    await data(editor, PUBLISH, {"id": story["id"]})
    now = await assert_same_feeds(client, baseline, engine)
    assert now[:49] == [story["id"], *listed[2:]]
    assert len(now) == 50


async def test_the_baseline_costs_the_same_statements_whatever_the_page_size(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    """Six statements a card page (cards, count, bylines, sources, tags, categories), at any size; what the
    CMS refuses, the baseline refuses."""
    app = baseline_app(where(seeded), now=clock.now)
    bodies = [
        {"query": query, "variables": {**variables, "first": first}}
        for query, variables in [(FRONT_PAGE, {}), (CATEGORY_PAGE, {"slug": "azerbaijan"})]
        for first in (5, 100)
    ] + [{"query": runner.SEARCH, "variables": {"q": "baku"}}]
    counts = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for body in bodies:
            before = app.state.database.tally.statements
            answer = await http.post("/graphql", json=body)
            assert answer.status_code == 200
            assert "errors" not in answer.json()
            counts.append(app.state.database.tally.statements - before)
        refused = [
            await http.post("/graphql", json=body)
            for body in [
                {"query": "query Other { viewer { role } }"},
                {"query": runner.SEARCH, "variables": {"q": "-baku"}},
                {"query": CATEGORY_PAGE, "variables": {"slug": "azerbaijan", "after": "not-a-cursor"}},
            ]
        ]
    await app.state.database.close()
    assert counts == [6] * len(bodies)
    assert [answer.status_code for answer in refused] == [400] * len(refused)


async def test_the_baseline_feeds_cost_two_statements_whatever_the_archive(
    engine: AsyncEngine, clock: FixedClock, tmp_path: Path
) -> None:
    """The articles with their categories' names, then their bylines: two statements, with no article and
    with more than a feed holds. Without CMS_ARTICLE_URL both servers answer the feeds 404."""
    app = baseline_app(where(engine), now=clock.now, settings=SERVED)
    archive = tmp_path / "archive.ndjson"
    write_archive(archive, 100, seed=5)
    counts, sizes = [], []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for imported in (False, True):
            if imported:
                await import_paths(engine, [archive], actor="test", now=NOW)
            for path in FEEDS:
                before = app.state.database.tally.statements
                answer = await http.get(path)
                assert answer.status_code == 200
                counts.append(app.state.database.tally.statements - before)
            sizes.append(len(answer.json()["items"]))
    await app.state.database.close()
    assert counts == [2] * 4
    assert sizes == [0, 50]
    bare_app = baseline_app(where(engine), now=clock.now)
    unset = httpx.ASGITransport(app=bare_app)
    async with (
        checked_app(engine, clock) as cms,
        httpx.AsyncClient(transport=unset, base_url="http://t") as bare,
    ):
        for path in FEEDS:
            assert (await cms.get(path)).status_code == (await bare.get(path)).status_code == 404
    await bare_app.state.database.close()


async def test_the_runner_counts_statements_where_the_baseline_agrees(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """`make bench`'s in-process step, on a small archive: the CMS's reads are counted (its snapshot's
    included), the same at 20 and 100 cards, and the baseline's answers in every scenario, the feeds'
    included, were checked equal to the CMS's."""
    archive = tmp_path / "archive.ndjson"
    write_archive(archive, 150, seed=7)
    await import_paths(engine, [archive], actor="test", now=NOW)
    cases = runner.scenarios(where(engine))
    found = await runner.count_statements(cases, where(engine))
    for server in runner.CMS_MODES:
        assert found["front", server] == found["front100", server] > 0
        assert found["article", server] > 0
    assert found["front", "baseline"] == found["front100", "baseline"] > 0
    assert all(found[case.name, "baseline"] > 0 for case in cases)
    assert found["rss", "baseline"] == found["jsonfeed", "baseline"] == 2
    assert found["rss", "CMS"] == found["jsonfeed", "CMS"] > 0
