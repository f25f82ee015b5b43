"""The benchmark's tools: the archive generator is deterministic and valid, and the raw-SQL baseline answers
exactly as the CMS does (SQLite only), on the seeds and on an imported generated archive."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import run as runner
from bench.baseline import create_app as baseline_app
from bench.generate import TAGS, UNTIL, archive_lines, write_archive
from cms.clock import FixedClock
from cms.content.markdown import render
from cms.files.importer import import_paths
from cms.models import ArticleStatus, SourceKind, SourceRole
from tests.conftest import NOW, ROOT

# The keys, in order, of the example lines of content-files.md section 3.
KEYS = {
    "source": ["type", "id", "slug", "name", "kind", "url"],
    "author": ["type", "id", "slug", "name", "bio", "avatarUrl", "email"],
    "category": ["type", "id", "slug", "name", "description", "parent"],
    "article": [
        "type", "id", "slug", "language", "title", "subtitle", "excerpt", "body", "status", "publishedAt",
        "authors", "category", "tags", "sources", "coverImage", "seo", "translationOf",
    ],
}  # fmt: skip
ATTRIBUTION_KEYS = ["source", "role", "url", "note"]
PREFIXES = {"source": "src", "author": "aut", "category": "cat", "article": "art"}
FRONT_PAGE = (ROOT / "schema" / "examples" / "front_page.graphql").read_text()
ARTICLE_PAGE = (ROOT / "schema" / "examples" / "article_page.graphql").read_text()
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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
async def baseline(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    app = baseline_app(str(engine.url.database), now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def assert_same_answers(
    cms: httpx.AsyncClient, baseline: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The front page at several sizes and the page of every article (visible or not), plus one missing."""
    async with engine.connect() as connection:
        pages = (await connection.execute(text("SELECT slug, language FROM article ORDER BY id"))).all()
    cases = [(FRONT_PAGE, {"first": n}) for n in (1, 20, 100)] + [(FRONT_PAGE, {})]
    cases += [(ARTICLE_PAGE, {"slug": slug, "language": language}) for slug, language in pages]
    cases += [(ARTICLE_PAGE, {"slug": pages[0][0]}), (ARTICLE_PAGE, {"slug": "no-such-article"})]
    answers = []
    for query, variables in cases:
        body = {"query": query, "variables": variables}
        expected, got = (await cms.post("/graphql", json=body)), (await baseline.post("/graphql", json=body))
        assert expected.status_code == got.status_code == 200
        assert "errors" not in expected.json()
        assert json.dumps(got.json()) == json.dumps(expected.json()), variables
        answers.append(expected.json()["data"])
    hidden = sum(answer == {"article": None} for answer in answers)
    assert 0 < hidden < len(cases) / 2


@SQLITE_ONLY
async def test_the_baseline_answers_as_the_cms_on_the_seeds(
    seeded: AsyncEngine, client: httpx.AsyncClient, baseline: httpx.AsyncClient
) -> None:
    await assert_same_answers(client, baseline, seeded)


@SQLITE_ONLY
async def test_the_baseline_answers_as_the_cms_on_a_generated_archive(
    engine: AsyncEngine, client: httpx.AsyncClient, baseline: httpx.AsyncClient, tmp_path: Path
) -> None:
    archive = tmp_path / "archive.ndjson"
    write_archive(archive, 100, seed=5)
    await import_paths(engine, [archive], actor="test", now=NOW)
    await assert_same_answers(client, baseline, engine)


@SQLITE_ONLY
async def test_the_baseline_costs_the_same_statements_whatever_the_page_size(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    app = baseline_app(str(seeded.url.database), now=clock.now)
    counts = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for first in (5, 100):
            before = app.state.database.statements
            await http.post("/graphql", json={"query": FRONT_PAGE, "variables": {"first": first}})
            counts.append(app.state.database.statements - before)
        other = await http.post("/graphql", json={"query": "query Other { viewer { role } }"})
    assert counts == [6, 6]
    assert other.status_code == 400


@SQLITE_ONLY
async def test_the_runner_counts_statements_where_the_baseline_agrees(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """`make bench`'s in-process step, on a small archive: the CMS's reads are counted (its snapshot's
    included), the same at 20 and 100 cards, and the baseline's answers were checked equal to the CMS's."""
    archive = tmp_path / "archive.ndjson"
    write_archive(archive, 150, seed=7)
    await import_paths(engine, [archive], actor="test", now=NOW)
    database = Path(str(engine.url.database))
    found = await runner.count_statements(runner.scenarios(database), database)
    for server in runner.CMS_MODES:
        assert found["front", server] == found["front100", server] > 0
        assert found["article", server] > 0
    assert found["front", "baseline"] == found["front100", "baseline"] > 0
