"""A real Varnish (deploy/varnish/cms.vcl, xkey) in front of `cms serve` (delivery.md, "HTTP caching"): hits,
tokens passed through, and after each write the purge the app sends, so that the next answer is fresh while
unrelated pages stay cached; a scheduled article is shown at its instant, not a cache lifetime later."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.servers import HOST, free_port
from cms.content.roles import Role
from cms.models import ChangeEvent
from tests.conftest import data, token_for
from tests.live import live_cms, required
from tests.test_article_mutations import PUBLISH, UPDATE, create
from tests.varnish import varnish

FRONT = "query Front { articles(first: 5) { totalCount nodes { id slug title } } }"
PAGE = "query Page($slug: String!) { article(slug: $slug) { id title } }"
ON_FRONT = "caspian-stars-youth-centre"  # the latest published seed: first on the front page
ELSEWHERE = "baku-carpet-weaving-festival"  # published in 2021, on no cached list here
PURGE_TIMEOUT = 10  # seconds for the worker (every 0.05 s) to send a committed write's purge


@dataclass(frozen=True)
class Edge:
    cms: str
    """The app itself, where editors send their writes."""
    cache: httpx.AsyncClient
    """Readers' client, through Varnish."""
    engine: AsyncEngine


def _ports() -> tuple[int, int]:
    """The app's port and Varnish's, both known before either starts (each names the other)."""
    cms = free_port()
    cache = free_port()
    while cache == cms:
        cache = free_port()
    return cms, cache


@pytest.fixture
async def edge(seeded: AsyncEngine, tmp_path: Path) -> AsyncIterator[Edge]:
    """Varnish in front of `cms serve`, which purges it after every write."""
    required("varnishd")  # before the app starts
    cms_port, cache_port = _ports()
    settings = {
        "CMS_PURGE_URL": f"http://{HOST}:{cache_port}/",
        "CMS_WEBHOOK_INTERVAL": "0.05",
        "CMS_WEBHOOK_ALLOW_PRIVATE": "1",  # delivery.md: a loopback purge target needs it
    }
    with (
        varnish(cms_port, tmp_path / "varnish", port=cache_port) as cache_url,
        live_cms(seeded, tmp_path, port=cms_port, **settings) as cms,
    ):
        async with httpx.AsyncClient(base_url=cache_url, timeout=10) as cache:
            yield Edge(cms, cache, seeded)


@pytest.fixture
async def editor(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    """An editor's client of the app itself (writes do not go through the cache)."""
    headers = {"Authorization": f"Bearer {await token_for(edge.engine, Role.EDITOR)}"}
    async with httpx.AsyncClient(base_url=edge.cms, headers=headers, timeout=10) as http:
        yield http


async def get(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    params = {"query": query} | ({"variables": json.dumps(variables)} if variables else {})
    response = await http.get("/graphql", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert "xkey" not in response.headers, "Varnish's own index header reached a client"
    return response


async def purged(engine: AsyncEngine) -> None:
    """Until the worker has sent (and Varnish answered) the purge of every committed write: the purge
    cursor at the last change event's sequence."""
    deadline = time.monotonic() + PURGE_TIMEOUT
    while True:
        async with engine.connect() as connection:
            cursor = (await connection.execute(text("SELECT sequence FROM purge_cursor"))).scalar_one()
            last = (await connection.execute(select(func.max(ChangeEvent.sequence)))).scalar_one() or 0
        if cursor is not None and cursor >= last:
            return
        assert time.monotonic() < deadline, f"no purge in {PURGE_TIMEOUT} s: cursor {cursor}, last {last}"
        await asyncio.sleep(0.02)


def _ages(response: httpx.Response) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", response.headers["cache-control"])}


async def test_a_public_answer_is_a_miss_then_a_hit_with_the_same_bytes(edge: Edge) -> None:
    first = await get(edge.cache, FRONT)
    second = await get(edge.cache, FRONT)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, ")
    assert "surrogate-key" in second.headers
    assert len(first.json()["data"]["articles"]["nodes"]) == 5


async def test_answers_to_a_token_are_never_cached_nor_served_from_the_cache(edge: Edge) -> None:
    token = {"Authorization": f"Bearer {await token_for(edge.engine, Role.EDITOR)}"}
    page = {"slug": ELSEWHERE}
    for _ in range(2):
        private = await get(edge.cache, PAGE, page, **token)
        assert private.headers["x-cache"] == "MISS"
        assert private.headers["cache-control"] == "private, no-store"
    public = [await get(edge.cache, PAGE, page) for _ in range(2)]
    kept = [r.headers["x-cache"] for r in public]
    assert kept == ["MISS", "HIT"], "a token's answer was kept for the public"
    assert public[0].headers["cache-control"].startswith("public, ")
    again = await get(edge.cache, PAGE, page, **token)
    assert (again.headers["x-cache"], again.headers["cache-control"]) == ("MISS", "private, no-store")


async def test_an_edit_purges_the_pages_that_show_it_and_leaves_the_others_cached(
    edge: Edge, editor: httpx.AsyncClient
) -> None:
    shown, other = {"slug": ON_FRONT}, {"slug": ELSEWHERE}
    await purged(edge.engine)  # the worker is under way: the edit below is after its cursor
    for query, variables in ((PAGE, shown), (PAGE, other), (FRONT, None)):
        cached = [(await get(edge.cache, query, variables)).headers["x-cache"] for _ in range(2)]
        assert cached == ["MISS", "HIT"], query
    article = (await get(edge.cache, PAGE, shown)).json()["data"]["article"]
    assert article["id"] == (await get(edge.cache, FRONT)).json()["data"]["articles"]["nodes"][0]["id"]

    edited = await data(editor, UPDATE, {"id": article["id"], "input": {"title": "Caspian Stars, renamed"}})
    assert edited["updateArticle"]["userErrors"] == []
    await purged(edge.engine)

    page = await get(edge.cache, PAGE, shown)
    assert page.headers["x-cache"] == "MISS"
    assert page.json()["data"]["article"]["title"] == "Caspian Stars, renamed"
    front = await get(edge.cache, FRONT)
    assert front.headers["x-cache"] == "MISS"
    assert front.json()["data"]["articles"]["nodes"][0]["title"] == "Caspian Stars, renamed"
    assert (await get(edge.cache, PAGE, other)).headers["x-cache"] == "HIT", "an unrelated page was purged"


async def test_a_publish_purges_the_cached_front_page(edge: Edge, editor: httpx.AsyncClient) -> None:
    await purged(edge.engine)
    story = await create(editor, title="Breaking through the cache")
    await purged(edge.engine)  # the draft's own write purged the front page: cache it again below
    before = [await get(edge.cache, FRONT) for _ in range(2)]
    assert [r.headers["x-cache"] for r in before] == ["MISS", "HIT"]
    assert story["id"] not in [n["id"] for n in before[1].json()["data"]["articles"]["nodes"]]

    published = await data(editor, PUBLISH, {"id": story["id"]})
    assert published["publishArticle"]["userErrors"] == []
    await purged(edge.engine)

    after = await get(edge.cache, FRONT)
    assert after.headers["x-cache"] == "MISS"
    articles = after.json()["data"]["articles"]
    assert articles["nodes"][0] == {
        "id": story["id"],
        "slug": story["slug"],
        "title": "Breaking through the cache",
    }
    assert articles["totalCount"] == before[1].json()["data"]["articles"]["totalCount"] + 1


async def test_a_scheduled_article_is_shown_through_varnish_at_its_instant(
    edge: Edge, editor: httpx.AsyncClient
) -> None:
    await purged(edge.engine)
    story = await create(editor, title="On the stroke of its time")
    at = datetime.now(UTC) + timedelta(seconds=5)
    published = await data(editor, PUBLISH, {"id": story["id"], "at": at.isoformat()})
    assert published["publishArticle"]["userErrors"] == []
    instant = datetime.fromisoformat(published["publishArticle"]["article"]["publishedAt"]).timestamp()
    await purged(edge.engine)
    page = {"slug": story["slug"]}

    asked = time.time()
    first = await get(edge.cache, PAGE, page)
    assert first.json()["data"]["article"] is None
    ages = _ages(first)
    assert 1 <= ages["s-maxage"], ages
    assert ages["s-maxage"] + ages["stale-while-revalidate"] <= instant - asked, ages
    assert ages["max-age"] <= instant - asked, ages

    deadline, seen = instant + 10, list[str]()
    while True:  # readers keep asking; until the instant none sees the article, from then on all do
        sent = time.time()
        response = await get(edge.cache, PAGE, page)
        received = time.time()
        article, seen = response.json()["data"]["article"], [*seen, response.headers["x-cache"]]
        if received < instant:
            assert article is None, f"shown {instant - received:.3f} s early ({seen[-1]})"
        elif sent > instant:
            assert article is not None, f"hidden {sent - instant:.3f} s late ({seen[-1]}, after {seen})"
            assert article["title"] == "On the stroke of its time"
            break
        assert received < deadline
        await asyncio.sleep(0.1)
    assert "HIT" in seen, f"the unpublished page was never served from the cache: {seen}"
