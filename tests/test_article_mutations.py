"""Editors write articles over HTTP: each mutation's success and each of its userErrors, nothing written
on an error, the workflow and scheduled publishing on the settable clock, revisions, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from cms.clock import FixedClock
from cms.content.roles import Role
from cms.models import Article, ChangeEvent, Revision
from tests.conftest import NOW, client_as, data, error_codes, gql, token_for

FIELDS = """
  article { id slug title subtitle status version language publishedAt tags
            authors { slug } category { slug } sources { role url source { slug } }
            coverImage { url alt } seo { canonicalUrl } translations { slug language } }
  userErrors { field code message }
"""
CREATE = f"mutation ($input: ArticleInput!) {{ createArticle(input: $input) {{ {FIELDS} }} }}"
UPDATE = f"""mutation ($id: ID!, $input: ArticleInput!, $v: Int) {{
  updateArticle(id: $id, input: $input, expectedVersion: $v) {{ {FIELDS} }} }}"""
SUBMIT = f"mutation ($id: ID!) {{ submitArticleForReview(id: $id) {{ {FIELDS} }} }}"
PUBLISH = f"mutation ($id: ID!, $at: DateTime) {{ publishArticle(id: $id, publishAt: $at) {{ {FIELDS} }} }}"
UNPUBLISH = f"mutation ($id: ID!) {{ unpublishArticle(id: $id) {{ {FIELDS} }} }}"
ARCHIVE = f"mutation ($id: ID!) {{ archiveArticle(id: $id) {{ {FIELDS} }} }}"
DELETE = "mutation ($id: ID!) { deleteArticle(id: $id) { deletedId userErrors { field code message } } }"
RESTORE = f"mutation ($id: ID!, $v: Int!) {{ restoreArticleRevision(id: $id, version: $v) {{ {FIELDS} }} }}"
PUBLIC_READ = "query ($slug: String!) { article(slug: $slug) { id title status } }"
REVISIONS = """query ($id: ID!) {
  node(id: $id) { ... on Article { revisions { nodes { version actor title status } } } } }"""

FULL = {
    "title": "Şəki bazarında yeni sərgi",
    "subtitle": "A craft fair opens",
    "excerpt": "Weavers and potters gather in Sheki.",
    "body": "# Sheki\n\nThe fair opens on **Friday**.",
    "language": "az",
    "authors": ["fidan-abdullayeva", "rashad-mammadov"],
    "category": "culture",
    "tags": ["Crafts", "sheki"],
    "sources": [{"source": "trend", "role": "WIRE", "url": "https://en.trend.az/x", "note": "wire copy"}],
    "coverImage": {"url": "https://img.example/sheki.jpg", "alt": "The fair"},
    "seo": {"canonicalUrl": "https://news.example/az/sheki"},
}


async def create(editor: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    payload = (await data(editor, CREATE, {"input": {"title": "A story", **fields}}))["createArticle"]
    assert payload["userErrors"] == [], payload
    article: dict[str, Any] = payload["article"]
    return article


async def footprint(engine: AsyncEngine) -> tuple[int, int, int]:
    """Articles, revisions and change events: an error must leave all three as they were."""
    async with engine.connect() as connection:
        counts = [
            (await connection.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Article, Revision, ChangeEvent)
        ]
    return counts[0], counts[1], counts[2]


async def test_create_writes_a_draft_with_everything_given(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    article = await create(editor, **FULL)
    assert article["slug"] == "seki-bazarinda-yeni-sergi"
    assert (article["status"], article["version"], article["language"]) == ("DRAFT", 1, "az")
    assert article["publishedAt"] is None
    assert article["tags"] == ["crafts", "sheki"]
    assert [a["slug"] for a in article["authors"]] == ["fidan-abdullayeva", "rashad-mammadov"]
    assert article["category"] == {"slug": "culture"}
    assert article["sources"] == [
        {"role": "WIRE", "url": "https://en.trend.az/x", "source": {"slug": "trend"}}
    ]
    assert article["coverImage"] == {"url": "https://img.example/sheki.jpg", "alt": "The fair"}
    assert article["seo"] == {"canonicalUrl": "https://news.example/az/sheki"}
    revisions = (await data(editor, REVISIONS, {"id": article["id"]}))["node"]["revisions"]["nodes"]
    assert revisions == [{"version": 1, "actor": "editor", "title": FULL["title"], "status": "DRAFT"}]


async def test_slugs_derive_from_titles_in_every_script_and_never_collide(
    engine: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    assert (await create(editor, title="Новости Баку"))["slug"] == "novosti-baku"
    assert (await create(editor, title="Новости Баку"))["slug"] == "novosti-baku-2"
    assert (await create(editor, title="Новости Баку", language="ru"))["slug"] == "novosti-baku"
    assert (await create(editor, title="Xəbərlər: Gəncə"))["slug"] == "xeberler-gence"


LONG_TITLE = ("Bakı. " * 3 + "Şəki bazarında yeni sərgi: ustalar, xalçalar və ipək yolu " * 6)[:290]


async def test_a_long_title_taken_again_gets_a_numbered_slug_within_the_limit(
    engine: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    """A headline of 290 characters gives a slug cut at 200; the second and third stories with it cut the
    slug further so that `-2` and `-3` fit (not a 202-character slug refused as INVALID). Here the cut at
    198 ends on a hyphen, which goes."""
    assert len(LONG_TITLE) == 290
    first, second, third = [(await create(editor, title=LONG_TITLE, language="az"))["slug"] for _ in range(3)]
    assert len(first) == 200
    assert (len(second), len(third)) == (199, 199)
    assert second == first[:197] + "-2"
    assert third == first[:197] + "-3"
    query = 'query ($slug: String!) { article(slug: $slug, language: "az") { slug title } }'
    for slug in (first, second, third):
        assert (await data(editor, query, {"slug": slug}))["article"] == {"slug": slug, "title": LONG_TITLE}
    assert (await create(editor, title=LONG_TITLE, language="ru"))["slug"] == first, "slugs are per language"


INVALID_INPUTS: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "no title": ({"title": None}, ["input", "title"], "REQUIRED"),
    "blank title": ({"title": "   "}, ["input", "title"], "REQUIRED"),
    "long title": ({"title": "t" * 301}, ["input", "title"], "TOO_LONG"),
    "long excerpt": ({"excerpt": "e" * 1001}, ["input", "excerpt"], "TOO_LONG"),
    "long body": ({"body": "b" * 1_000_001}, ["input", "body"], "TOO_LONG"),
    "long tag": ({"tags": ["x" * 51]}, ["input", "tags", "0"], "TOO_LONG"),
    "too many tags": ({"tags": [f"t{i}" for i in range(31)]}, ["input", "tags"], "TOO_MANY"),
    "too many authors": ({"authors": ["fidan-abdullayeva"] * 11}, ["input", "authors"], "TOO_MANY"),
    "too many sources": ({"sources": [{"source": "trend"}] * 21}, ["input", "sources"], "TOO_MANY"),
    "ftp source url": (
        {"sources": [{"source": "trend", "url": "ftp://x"}]},
        ["input", "sources", "0", "url"],
        "INVALID",
    ),
    "javascript image": (
        {"coverImage": {"url": "javascript:alert(1)", "alt": "x"}},
        ["input", "coverImage", "url"],
        "INVALID",
    ),
    "bad canonical url": (
        {"seo": {"canonicalUrl": "news.example"}},
        ["input", "seo", "canonicalUrl"],
        "INVALID",
    ),
    "bad slug": ({"slug": "Not A Slug"}, ["input", "slug"], "INVALID"),
    "taken slug": (
        {"slug": "baku-carpet-weaving-festival", "language": "en"},
        ["input", "slug"],
        "SLUG_TAKEN",
    ),
    "bad language": ({"language": "english!"}, ["input", "language"], "INVALID"),
    "unknown author": ({"authors": ["nobody"]}, ["input", "authors", "0"], "NOT_FOUND"),
    "unknown category": ({"category": "nowhere"}, ["input", "category"], "NOT_FOUND"),
    "unknown source": ({"sources": [{"source": "rumours"}]}, ["input", "sources", "0"], "NOT_FOUND"),
    "unknown original": ({"translationOf": "art_0000"}, ["input", "translationOf"], "NOT_FOUND"),
}


@pytest.mark.parametrize("case", INVALID_INPUTS)
async def test_each_invalid_input_is_a_user_error_and_writes_nothing(
    seeded: AsyncEngine, editor: httpx.AsyncClient, case: str
) -> None:
    given, field, code = INVALID_INPUTS[case]
    before = await footprint(seeded)
    body = await gql(editor, CREATE, {"input": {"title": "A story", **FULL, "slug": None, **given}})
    payload = body["data"]["createArticle"]
    assert payload["article"] is None
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in payload["userErrors"]
    ]
    assert all(e["message"] for e in payload["userErrors"])
    assert await footprint(seeded) == before


async def test_every_problem_of_an_input_is_reported_at_once(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    body = await gql(editor, CREATE, {"input": {"title": "", "tags": ["x" * 51], "authors": ["nobody"]}})
    codes = {(tuple(e["field"]), e["code"]) for e in body["data"]["createArticle"]["userErrors"]}
    assert {(("input", "title"), "REQUIRED"), (("input", "tags", "0"), "TOO_LONG")} <= codes


async def test_server_owned_fields_are_not_writable(seeded: AsyncEngine, editor: httpx.AsyncClient) -> None:
    for field in ("status: PUBLISHED", 'id: "art_x"', "version: 7", 'publishedAt: "2020-01-01T00:00:00Z"'):
        query = f'mutation {{ createArticle(input: {{title: "x", {field}}}) {{ article {{ id }} }} }}'
        accept = {"accept": "application/graphql-response+json"}
        response = await editor.post("/graphql", json={"query": query}, headers=accept)
        assert response.status_code == 400
        assert error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_update_sets_what_is_given_and_keeps_the_rest(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    article = await create(editor, **FULL)
    variables = {"id": article["id"], "input": {"title": "A new headline", "tags": ["one"]}, "v": 1}
    updated = (await data(editor, UPDATE, variables))["updateArticle"]["article"]
    assert (updated["title"], updated["tags"], updated["version"]) == ("A new headline", ["one"], 2)
    assert (updated["subtitle"], updated["slug"]) == (article["subtitle"], article["slug"])
    assert updated["authors"] == article["authors"]
    assert updated["sources"] == article["sources"]
    unchanged = (await data(editor, UPDATE, {**variables, "v": None}))["updateArticle"]["article"]
    assert unchanged["version"] == 2  # the same content again is no change: no new version


async def test_update_user_errors(seeded: AsyncEngine, editor: httpx.AsyncClient) -> None:
    article = await create(editor)
    other = await create(editor, title="Another story")
    before = await footprint(seeded)
    cases = [
        ({"id": article["id"], "input": {"title": "x"}, "v": 5}, ["expectedVersion"], "VERSION_CONFLICT"),
        ({"id": "art_missing", "input": {"title": "x"}}, ["id"], "NOT_FOUND"),
        ({"id": "aut_not_an_article", "input": {"title": "x"}}, ["id"], "NOT_FOUND"),
        ({"id": article["id"], "input": {"slug": other["slug"]}}, ["input", "slug"], "SLUG_TAKEN"),
        ({"id": article["id"], "input": {"title": "t" * 301}}, ["input", "title"], "TOO_LONG"),
    ]
    for variables, field, code in cases:
        payload = (await data(editor, UPDATE, variables))["updateArticle"]
        assert payload["article"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], variables
    assert await footprint(seeded) == before


async def test_the_workflow_from_draft_to_archive(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    article = await create(editor, title="Workflow story")
    slug, id_ = article["slug"], article["id"]
    assert (await data(client, PUBLIC_READ, {"slug": slug}))["article"] is None
    steps = [(SUBMIT, "IN_REVIEW"), (PUBLISH, "PUBLISHED"), (ARCHIVE, "ARCHIVED"), (UNPUBLISH, "DRAFT")]
    for version, (mutation, status) in enumerate(steps, start=2):
        payload = next(iter((await data(editor, mutation, {"id": id_})).values()))
        assert payload["userErrors"] == []
        assert (payload["article"]["status"], payload["article"]["version"]) == (status, version)
        seen = (await data(client, PUBLIC_READ, {"slug": slug}))["article"]
        assert (seen is not None) == (status == "PUBLISHED")
    assert payload["article"]["publishedAt"] is None
    revisions = (await data(editor, REVISIONS, {"id": id_}))["node"]["revisions"]["nodes"]
    assert [r["status"] for r in revisions] == ["DRAFT", "ARCHIVED", "PUBLISHED", "IN_REVIEW", "DRAFT"]


async def test_steps_from_the_wrong_status_are_user_errors(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    article = await create(editor)
    for mutation in (ARCHIVE, UNPUBLISH):
        payload = next(iter((await data(editor, mutation, {"id": article["id"]})).values()))
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["id"], "INVALID_TRANSITION")]
    await data(editor, PUBLISH, {"id": article["id"]})
    payload = (await data(editor, SUBMIT, {"id": article["id"]}))["submitArticleForReview"]
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_TRANSITION"]


async def test_publishing_ahead_schedules_with_no_job_and_no_restart(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    article = await create(editor, title="Embargoed story")
    at = NOW + timedelta(hours=2)
    published = (await data(editor, PUBLISH, {"id": article["id"], "at": at.isoformat()}))["publishArticle"]
    assert published["article"]["publishedAt"] == at.isoformat()
    list_query = "{ articles(first: 100) { totalCount nodes { slug } } }"
    before = (await data(client, list_query))["articles"]
    clock.set(at - timedelta(microseconds=1))
    assert (await data(client, PUBLIC_READ, {"slug": article["slug"]}))["article"] is None
    assert (await data(client, list_query))["articles"] == before
    clock.set(at)
    assert (await data(client, PUBLIC_READ, {"slug": article["slug"]}))["article"][
        "title"
    ] == "Embargoed story"
    after = (await data(client, list_query))["articles"]
    assert after["totalCount"] == before["totalCount"] + 1
    assert after["nodes"][0]["slug"] == article["slug"]


async def test_delete_removes_the_article_for_everyone(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    article = await create(editor)
    await data(editor, PUBLISH, {"id": article["id"]})
    payload = (await data(editor, DELETE, {"id": article["id"]}))["deleteArticle"]
    assert payload == {"deletedId": article["id"], "userErrors": []}
    assert (await data(editor, "query ($id: ID!) { node(id: $id) { id } }", {"id": article["id"]}))[
        "node"
    ] is None
    assert (await data(client, PUBLIC_READ, {"slug": article["slug"]}))["article"] is None
    again = (await data(editor, DELETE, {"id": article["id"]}))["deleteArticle"]
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(["id"], "NOT_FOUND")]


async def test_deleting_an_original_keeps_its_translations_a_group(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    original = await create(editor, title="Original story")
    first = await create(editor, title="Birinci", language="az", translationOf=original["id"])
    second = await create(editor, title="Второй", language="ru", translationOf=original["id"])
    await data(editor, DELETE, {"id": original["id"]})
    query = "query ($id: ID!) { node(id: $id) { ... on Article { translations { slug language } } } }"
    assert (await data(editor, query, {"id": first["id"]}))["node"]["translations"] == [
        {"slug": second["slug"], "language": "ru"}
    ]


async def test_restore_makes_a_new_version_with_the_old_content(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    article = await create(editor, **FULL)
    await data(editor, UPDATE, {"id": article["id"], "input": {"title": "Rewritten", "tags": ["other"]}})
    await data(editor, PUBLISH, {"id": article["id"]})
    restored = (await data(editor, RESTORE, {"id": article["id"], "v": 1}))["restoreArticleRevision"][
        "article"
    ]
    assert (restored["title"], restored["tags"], restored["version"]) == (
        FULL["title"],
        ["crafts", "sheki"],
        4,
    )
    assert restored["status"] == "PUBLISHED"  # restoring content does not unpublish or publish
    missing = (await data(editor, RESTORE, {"id": article["id"], "v": 99}))["restoreArticleRevision"]
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [(["version"], "NOT_FOUND")]


async def test_only_editors_and_admins_write(
    seeded: AsyncEngine, client: httpx.AsyncClient, preview: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    variables = {"input": {"title": "x"}}
    assert error_codes(await gql(client, CREATE, variables)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(preview, CREATE, variables)) == ["FORBIDDEN"]
    assert (await data(admin, CREATE, variables))["createArticle"]["article"]["title"] == "x"


async def test_of_twenty_concurrent_updates_at_one_version_exactly_one_wins(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    token = await token_for(seeded, Role.EDITOR)
    async with client_as(seeded, clock, token) as editor:
        article = await create(editor)

        async def update(n: int) -> dict[str, Any]:
            variables = {"id": article["id"], "input": {"title": f"Version by writer {n}"}, "v": 1}
            return (await data(editor, UPDATE, variables))["updateArticle"]

        results = await asyncio.gather(*(update(n) for n in range(20)))
    winners = [r for r in results if r["article"]]
    assert len(winners) == 1
    assert winners[0]["article"]["version"] == 2
    losers = [e["code"] for r in results if not r["article"] for e in r["userErrors"]]
    assert losers == ["VERSION_CONFLICT"] * 19
    async with seeded.connect() as connection:
        titles = (
            await connection.execute(select(col(Article.title)).where(col(Article.id) == article["id"]))
        ).scalars()
        assert list(titles) == [winners[0]["article"]["title"]]
