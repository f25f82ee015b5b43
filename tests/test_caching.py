"""HTTP caching and the response cache (delivery.md): who may keep an answer and how long, ETags and 304s,
surrogate keys, media types, and zero stale answers after every kind of write and at a scheduled instant."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content import keys
from cms.content.roles import Role
from cms.db import StatementCounter
from tests.conftest import NOW, checked_app, data, token_for
from tests.test_article_mutations import ARCHIVE, DELETE, PUBLISH, UNPUBLISH, UPDATE, create

FRONT = "query Front { articles(first: 5) { totalCount nodes { id slug title authors { name } } } }"
PAGE = """query Page($slug: String!) {
  article(slug: $slug) { title authors { slug name } category { slug name } } }"""
CATEGORY_IDS = "{ categories(first: 100) { nodes { id slug } } }"
SLUG = "baku-carpet-weaving-festival"
GRAPHQL_RESPONSE = "application/graphql-response+json"
AUTHOR_IDS = "{ authors(first: 50) { nodes { id slug } } }"
RENAME_AUTHOR = """mutation ($id: ID!, $name: String!) { updateAuthor(id: $id, input: {name: $name}) {
  userErrors { code } } }"""
RENAME_CATEGORY = """mutation ($id: ID!, $name: String!) { updateCategory(id: $id, input: {name: $name}) {
  userErrors { code } } }"""


async def get(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    """A GET, as a CDN or a browser sends one (headers given with underscores: if_none_match)."""
    params = {"query": query} | ({"variables": json.dumps(variables)} if variables else {})
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return await http.get("/graphql", params=params, headers=named)


@pytest.fixture
async def reader(seeded: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    async with checked_app(seeded, clock) as http:
        yield http


def _ages(response: httpx.Response) -> dict[str, int]:
    return {
        name: int(value) for name, value in re.findall(r"([a-z-]+)=(\d+)", response.headers["cache-control"])
    }


async def test_a_public_answer_is_cacheable_by_everyone_with_a_strong_etag(reader: httpx.AsyncClient) -> None:
    response = await get(reader, FRONT)
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public, ")
    assert _ages(response) == {"max-age": 10, "s-maxage": 60, "stale-while-revalidate": 30}
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert response.headers["vary"] == "Authorization, Accept, Accept-Encoding"
    surrogate = response.headers["surrogate-key"].split()
    ids = [node["id"] for node in response.json()["data"]["articles"]["nodes"]]
    assert {keys.item("Article", i) for i in ids} | {"articles", "all"} <= set(surrogate)


async def test_a_matching_if_none_match_is_a_304_that_runs_only_the_version_read(
    seeded: AsyncEngine, reader: httpx.AsyncClient
) -> None:
    first = await get(reader, FRONT)
    with StatementCounter(seeded) as counter:
        again = await get(reader, FRONT, if_none_match=first.headers["etag"])
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert counter.count == 1
    other = await get(reader, FRONT, if_none_match='"something-else"')
    assert other.status_code == 200


async def test_a_kept_answer_costs_one_statement_and_the_same_bytes(
    seeded: AsyncEngine, reader: httpx.AsyncClient
) -> None:
    first = await get(reader, FRONT)
    with StatementCounter(seeded) as counter:
        again = await get(reader, FRONT)
    assert counter.count == 1
    assert again.content == first.content
    assert again.headers["surrogate-key"] == first.headers["surrogate-key"]


async def test_hits_waiting_together_share_one_version_read(
    seeded: AsyncEngine, reader: httpx.AsyncClient
) -> None:
    """Requests ready in the same turn of the loop are all answered by a version read that began after
    they arrived (cms/delivery/shared.py): a burst of hits costs one statement. On SQLite each reads it in
    place, on the loop (`db.read_in_place`), and not again while the file has had no commit."""
    first = await get(reader, FRONT)
    await asyncio.sleep(0)
    with StatementCounter(seeded) as counter:
        burst = await asyncio.gather(*(get(reader, FRONT) for _ in range(10)))
    assert counter.count == 1
    assert {response.content for response in burst} == {first.content}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_hit_reads_the_version_again_only_after_a_commit_by_anyone(
    seeded: AsyncEngine, reader: httpx.AsyncClient
) -> None:
    """A commit by another connection (as another process would make it), of any table, is seen by the very
    next hit: an unrelated one costs the version read again, a new version makes the answer anew."""
    first = await get(reader, FRONT)
    await get(reader, FRONT)
    with StatementCounter(seeded) as counter:
        kept = await get(reader, FRONT)
    assert (counter.count, kept.content) == (0, first.content)
    other = sqlite3.connect(str(seeded.url.database), isolation_level=None)
    try:
        other.execute("CREATE TABLE unrelated (x INTEGER)")
        with StatementCounter(seeded) as counter:
            unchanged = await get(reader, FRONT)
        assert (counter.count, unchanged.headers["etag"]) == (1, first.headers["etag"])
        other.execute("UPDATE content_version SET token = 'from-elsewhere'")
        with StatementCounter(seeded) as counter:
            anew = await get(reader, FRONT)
    finally:
        other.close()
    assert counter.count > 1
    assert anew.headers["etag"] != first.headers["etag"]


async def test_token_answers_are_private_and_never_kept_for_the_public(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient
) -> None:
    draft = await create(editor, title="An unpublished draft")
    query = "{ articles(first: 50) { totalCount nodes { slug } } }"
    async with checked_app(seeded, clock) as public:
        for caller in (editor, public, editor, public):
            response = await get(caller, query)
            slugs = [n["slug"] for n in response.json()["data"]["articles"]["nodes"]]
            if caller is editor:
                assert response.headers["cache-control"] == "private, no-store"
                assert "etag" not in response.headers
                assert "surrogate-key" not in response.headers
                assert draft["slug"] in slugs
            else:
                assert response.headers["cache-control"].startswith("public")
                assert draft["slug"] not in slugs


async def test_mutations_are_never_stored(seeded: AsyncEngine, editor: httpx.AsyncClient) -> None:
    response = await editor.post(
        "/graphql", json={"query": 'mutation { deleteArticle(id: "x") { deletedId } }'}
    )
    assert response.headers["cache-control"] == "no-store"


async def test_ages_are_capped_at_the_next_scheduled_instant(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    story = await create(editor, title="Due in twenty seconds")
    await data(editor, PUBLISH, {"id": story["id"], "at": (NOW + timedelta(seconds=20)).isoformat()})
    response = await get(reader, FRONT)
    ages = _ages(response)
    assert ages["max-age"] == 10
    assert ages["s-maxage"] == 20
    assert ages["stale-while-revalidate"] == 0
    clock.set(NOW + timedelta(seconds=15))
    assert _ages(await get(reader, FRONT)) == {"max-age": 5, "s-maxage": 5, "stale-while-revalidate": 0}


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
async def test_plain_json_clients_get_200_for_documents_that_cannot_run(
    reader: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"accept": accept} if accept else {}
    for query in ("{ articles(first: ", "{ nope }"):
        response = await reader.post("/graphql", json={"query": query}, headers=headers)
        assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
        assert "data" not in response.json()
        assert response.json()["errors"]


async def test_graphql_response_json_clients_get_400_and_no_data(reader: httpx.AsyncClient) -> None:
    headers = {"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    bad = await reader.post("/graphql", json={"query": "{ nope }"}, headers=headers)
    assert (bad.status_code, bad.headers["content-type"]) == (400, GRAPHQL_RESPONSE)
    assert "data" not in bad.json()
    good = await reader.post("/graphql", json={"query": FRONT}, headers=headers)
    assert (good.status_code, good.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    assert good.json()["data"]["articles"]["totalCount"] == 11


async def test_an_accept_naming_nothing_we_answer_in_is_a_406(reader: httpx.AsyncClient) -> None:
    response = await reader.post("/graphql", json={"query": FRONT}, headers={"accept": "text/csv"})
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_article_page_names_its_items_and_no_article_list(reader: httpx.AsyncClient) -> None:
    found = await get(reader, PAGE, {"slug": SLUG})
    page = found.json()["data"]["article"]
    named = set(found.headers["surrogate-key"].split())
    assert "articles" not in named
    assert "all" in named
    assert len([k for k in named if k.startswith("art-")]) == 1
    assert len([k for k in named if k.startswith("aut-")]) == len(page["authors"])
    assert len([k for k in named if k.startswith("cat-")]) == 1
    missing = await get(reader, PAGE, {"slug": "no-such-story"})
    assert missing.json()["data"]["article"] is None
    assert "articles" in missing.headers["surrogate-key"].split()


async def _fresh(reader: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The answer through the response cache, checked against the one an ETag revalidation gives."""
    kept = await get(reader, query, variables)
    revalidated = await get(reader, query, variables, if_none_match=kept.headers["etag"])
    assert revalidated.status_code == 304, "the kept answer and its ETag disagree"
    return kept.json()["data"]


async def test_no_stale_answer_after_any_kind_of_write(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    """Each write is followed by a read through the response cache and the ETag: each sees the write."""
    story = await create(editor, title="Cached story")
    slug = story["slug"]
    page = {"slug": slug}
    assert (await _fresh(reader, PAGE, page))["article"] is None
    await data(editor, PUBLISH, {"id": story["id"]})
    assert (await _fresh(reader, PAGE, page))["article"]["title"] == "Cached story"
    total = (await _fresh(reader, FRONT))["articles"]["totalCount"]
    await data(editor, UPDATE, {"id": story["id"], "input": {"title": "Edited story"}})
    assert (await _fresh(reader, PAGE, page))["article"]["title"] == "Edited story"
    await data(editor, UNPUBLISH, {"id": story["id"]})
    assert (await _fresh(reader, PAGE, page))["article"] is None
    assert (await _fresh(reader, FRONT))["articles"]["totalCount"] == total - 1
    await data(editor, PUBLISH, {"id": story["id"]})
    await data(editor, ARCHIVE, {"id": story["id"]})
    assert (await _fresh(reader, FRONT))["articles"]["totalCount"] == total - 1
    await data(editor, DELETE, {"id": story["id"]})
    assert (await _fresh(reader, PAGE, page))["article"] is None
    before = (await _fresh(reader, PAGE, {"slug": SLUG}))["article"]
    author = before["authors"][0]
    ids = {a["slug"]: a["id"] for a in (await data(reader, AUTHOR_IDS))["authors"]["nodes"]}
    await data(editor, RENAME_AUTHOR, {"id": ids[author["slug"]], "name": "Renamed Author"})
    after = (await _fresh(reader, PAGE, {"slug": SLUG}))["article"]
    assert after["authors"][0]["name"] == "Renamed Author"
    category = before["category"]["slug"]
    listed = (await data(reader, CATEGORY_IDS))["categories"]["nodes"]
    await data(
        editor, RENAME_CATEGORY, {"id": {c["slug"]: c["id"] for c in listed}[category], "name": "Renamed"}
    )
    assert (await _fresh(reader, PAGE, {"slug": SLUG}))["article"]["category"]["name"] == "Renamed"


async def test_a_scheduled_article_appears_at_its_instant_through_the_caches(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, reader: httpx.AsyncClient
) -> None:
    story = await create(editor, title="Scheduled story")
    await data(editor, PUBLISH, {"id": story["id"], "at": (NOW + timedelta(minutes=5)).isoformat()})
    page = {"slug": story["slug"]}
    assert (await _fresh(reader, PAGE, page))["article"] is None
    clock.set(NOW + timedelta(minutes=5) - timedelta(microseconds=1))
    assert (await _fresh(reader, PAGE, page))["article"] is None
    clock.set(NOW + timedelta(minutes=5))
    assert (await _fresh(reader, PAGE, page))["article"]["title"] == "Scheduled story"


async def test_two_apps_on_one_database_never_serve_each_others_stale_answers(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient
) -> None:
    """Two processes' response caches: a write through one is seen by the other's next request."""
    story = await create(editor, title="Seen everywhere")
    await data(editor, PUBLISH, {"id": story["id"]})
    page = {"slug": story["slug"]}
    async with checked_app(seeded, clock) as one, checked_app(seeded, clock) as two:
        for http in (one, two):
            assert (await _fresh(http, PAGE, page))["article"]["title"] == "Seen everywhere"
        await data(editor, UPDATE, {"id": story["id"], "input": {"title": "Seen again"}})
        for http in (two, one):
            assert (await _fresh(http, PAGE, page))["article"]["title"] == "Seen again"


async def test_a_reader_token_is_private_too(seeded: AsyncEngine, clock: FixedClock) -> None:
    """A token of the lowest role sees what the public sees, and still is never kept for it."""
    token = await token_for(seeded, Role.READER)
    async with checked_app(seeded, clock, {"Authorization": f"Bearer {token}"}) as http:
        response = await get(http, FRONT)
    assert response.headers["cache-control"] == "private, no-store"
    assert "etag" not in response.headers
