"""Two `cms serve` processes on one database (delivery.md, "The response cache"): each keeps answers in its
own memory, and neither serves an answer, nor a 304 for an ETag, that a write through the other made stale."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.content.roles import Role
from tests.conftest import data, token_for
from tests.live import live_cms
from tests.test_article_mutations import UPDATE

PAGE = "query Page($slug: String!) { article(slug: $slug) { id title } }"
SLUG = "baku-carpet-weaving-festival"


@pytest.fixture
async def processes(seeded: AsyncEngine, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Public clients of two processes A and B on `seeded`'s database."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with live_cms(seeded, tmp_path / "a") as a, live_cms(seeded, tmp_path / "b") as b:
        async with httpx.AsyncClient(base_url=a) as one, httpx.AsyncClient(base_url=b) as two:
            yield one, two


async def page(http: httpx.AsyncClient, if_none_match: str | None = None) -> httpx.Response:
    params = {"query": PAGE, "variables": json.dumps({"slug": SLUG})}
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    return await http.get("/graphql", params=params, headers=headers)


async def test_a_write_through_one_process_is_seen_by_the_other_at_once(
    seeded: AsyncEngine, processes: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    a, b = processes
    first, kept = await page(b), await page(b)
    assert (first.status_code, kept.status_code) == (200, 200)
    assert kept.content == first.content, "B's second answer (its response cache's) differs from its first"
    old = first.headers["etag"]
    assert kept.headers["etag"] == old
    assert (await page(a)).headers["etag"] == old, "the two processes name one answer differently"
    article = first.json()["data"]["article"]

    token = await token_for(seeded, Role.EDITOR)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=str(a.base_url), headers=headers) as editor:
        edited = await data(editor, UPDATE, {"id": article["id"], "input": {"title": "Carpets, renamed"}})
    assert edited["updateArticle"]["userErrors"] == []

    for http in (b, a):
        fresh = await page(http)
        assert fresh.json()["data"]["article"]["title"] == "Carpets, renamed"
        new = fresh.headers["etag"]
        assert new != old
        revalidated = await page(http, if_none_match=old)
        assert revalidated.status_code == 200, f"{http.base_url} took the stale ETag for the current one"
        assert revalidated.content == fresh.content
        assert revalidated.headers["etag"] == new
        assert (await page(http, if_none_match=new)).status_code == 304
