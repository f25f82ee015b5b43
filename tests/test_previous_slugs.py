"""Slug history through the real app on SQLite and PostgreSQL: an article's or a category's earlier slugs
keep resolving to it (with its current slug, for a redirect) after two renames, for every role that sees
it; no other item may take one (SLUG_TAKEN), by the API or by an import; a derived slug passes them by; an
item takes back its own; they go with the item; export -> import -> export keeps them byte for byte."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content.roles import Role
from cms.db import StatementCounter
from cms.files.errors import ContentFileError
from cms.files.importer import import_paths
from cms.graphql.plan.planner import Planner
from cms.graphql.schema import schema
from cms.models import ArticlePreviousSlug, CategoryPreviousSlug, table_of
from tests import test_import_export
from tests.conftest import NOW, checked_app, data
from tests.test_article_mutations import DELETE, PUBLISH, UNPUBLISH, UPDATE, create
from tests.test_feeds import TEMPLATE
from tests.test_import_export import Fresh, _export, _history, _round_trip
from tests.test_planner import VIEWERS, both
from tests.test_tags import ROLES, as_role

fresh = test_import_export.fresh
FOUND = """query ($slug: String!, $language: String, $fallbacks: [String!]) {
  article(slug: $slug, language: $language, fallbackLanguages: $fallbacks) {
    id slug language previousSlugs } }"""
RENAME = """mutation ($id: ID!, $slug: String!) {
  updateArticle(id: $id, input: {slug: $slug}) {
    article { slug previousSlugs } userErrors { field code } } }"""
CATEGORY = """query ($slug: String!) {
  category(slug: $slug) { id slug previousSlugs articles { totalCount } }
  articles(filter: {category: $slug}) { totalCount } }"""
RENAME_CATEGORY = """mutation ($id: ID!, $input: CategoryInput!) {
  updateCategory(id: $id, input: $input) { category { slug previousSlugs } userErrors { field code } } }"""
CREATE_CATEGORY = """mutation ($input: CategoryInput!) {
  createCategory(input: $input) { category { slug } userErrors { field code } } }"""


async def rename(editor: httpx.AsyncClient, id_: str, slug: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await data(editor, RENAME, {"id": id_, "slug": slug}))["updateArticle"]
    return payload


async def renamed_twice(editor: httpx.AsyncClient, **fields: Any) -> str:
    """A published article made as `first-slug`, renamed to `second-slug`, then to `third-slug`."""
    article = await create(editor, slug="first-slug", **fields)
    await data(editor, PUBLISH, {"id": article["id"]})
    for slug in ("second-slug", "third-slug"):
        assert (await rename(editor, article["id"], slug))["userErrors"] == []
    return str(article["id"])


async def held(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        tables = (ArticlePreviousSlug, CategoryPreviousSlug)
        counts = [await connection.scalar(select(func.count()).select_from(table_of(t))) for t in tables]
    return sum(count or 0 for count in counts)


@pytest.mark.parametrize("role", ROLES)
async def test_old_slugs_resolve_after_two_renames_with_the_current_slug(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, role: Role
) -> None:
    id_ = await renamed_twice(editor)
    expected = {
        "id": id_,
        "slug": "third-slug",
        "language": "en",
        "previousSlugs": ["first-slug", "second-slug"],
    }
    async with as_role(seeded, clock, role) as http:
        for slug in ("first-slug", "second-slug", "third-slug"):
            for variables in ({}, {"language": "EN"}, {"language": "az", "fallbacks": ["en"]}):
                found = await data(http, FOUND, {"slug": slug, **variables})
                assert found["article"] == expected, (slug, variables)
        assert (await data(http, FOUND, {"slug": "first-slug", "language": "ru"}))["article"] is None


async def test_an_old_slug_finds_only_what_the_caller_may_see(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    id_ = await renamed_twice(editor)
    await data(editor, UNPUBLISH, {"id": id_})
    assert (await data(client, FOUND, {"slug": "first-slug"}))["article"] is None
    assert (await data(editor, FOUND, {"slug": "first-slug"}))["article"]["id"] == id_


async def test_an_old_slug_finds_the_story_whose_first_language_in_the_chain_answers(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    id_ = await renamed_twice(editor)
    translation = await create(editor, slug="ikinci", language="az", translationOf="third-slug")
    await data(editor, PUBLISH, {"id": translation["id"]})
    found = await data(client, FOUND, {"slug": "first-slug", "language": "az", "fallbacks": ["en"]})
    assert found["article"]["id"] == translation["id"]  # an en slug finds the story, whose az version answers
    found = await data(client, FOUND, {"slug": "first-slug", "language": "ru", "fallbacks": ["en"]})
    assert found["article"]["id"] == id_


async def test_no_other_article_may_take_an_earlier_slug(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    await renamed_twice(editor)
    other = await create(editor, slug="other-slug")
    history = await _history(seeded)
    created = await data(
        editor,
        'mutation { createArticle(input: {title: "X", slug: "first-slug"}) { userErrors { field code } } }',
    )
    assert created["createArticle"]["userErrors"] == [{"field": ["input", "slug"], "code": "SLUG_TAKEN"}]
    assert (await rename(editor, other["id"], "second-slug"))["userErrors"] == [
        {"field": ["input", "slug"], "code": "SLUG_TAKEN"}
    ]
    assert await _history(seeded) == history
    assert (await rename(editor, other["id"], "first-slug-2"))["userErrors"] == []


async def test_in_another_language_the_slug_is_free(seeded: AsyncEngine, editor: httpx.AsyncClient) -> None:
    await renamed_twice(editor)
    assert (await create(editor, slug="first-slug", language="az"))["slug"] == "first-slug"


async def test_a_derived_slug_passes_earlier_ones_by(seeded: AsyncEngine, editor: httpx.AsyncClient) -> None:
    id_ = (await create(editor, title="Floods in Baku"))["id"]
    assert (await rename(editor, id_, "floods-in-baku-city"))["userErrors"] == []
    assert (await create(editor, title="Floods in Baku"))["slug"] == "floods-in-baku-2"


async def test_an_article_takes_back_its_own_earlier_slug(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    id_ = await renamed_twice(editor)
    assert await rename(editor, id_, "first-slug") == {
        "article": {"slug": "first-slug", "previousSlugs": ["second-slug", "third-slug"]},
        "userErrors": [],
    }


async def test_earlier_slugs_follow_a_change_of_language(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    id_ = await renamed_twice(editor)
    changed = await data(editor, UPDATE, {"id": id_, "input": {"language": "az"}})
    assert changed["updateArticle"]["userErrors"] == []
    assert (await data(client, FOUND, {"slug": "first-slug", "language": "az"}))["article"]["id"] == id_
    assert (await data(client, FOUND, {"slug": "first-slug"}))["article"] is None
    assert (await create(editor, slug="first-slug"))["slug"] == "first-slug"


async def test_deleting_an_article_frees_its_earlier_slugs(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    id_ = await renamed_twice(editor)
    before = await held(seeded)
    assert (await data(editor, DELETE, {"id": id_}))["deleteArticle"]["userErrors"] == []
    assert await held(seeded) == before - 2
    assert (await create(editor, slug="first-slug"))["slug"] == "first-slug"


async def test_an_edit_keeps_them_and_a_rename_is_a_new_version(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    id_ = await renamed_twice(editor)
    edited = await data(editor, UPDATE, {"id": id_, "input": {"title": "Retitled"}})
    assert edited["updateArticle"]["article"]["slug"] == "third-slug"
    assert (await data(editor, FOUND, {"slug": "first-slug"}))["article"]["previousSlugs"] == [
        "first-slug",
        "second-slug",
    ]
    revisions = await data(
        editor,
        "query ($id: ID!) { node(id: $id) { ... on Article { version revisions { totalCount } } } }",
        {"id": id_},
    )
    assert revisions["node"] == {"version": 5, "revisions": {"totalCount": 5}}


async def test_export_import_export_keeps_them_byte_for_byte(
    seeded: AsyncEngine, editor: httpx.AsyncClient, fresh: Fresh, tmp_path: Path
) -> None:
    await renamed_twice(editor)
    exported = await _round_trip(seeded, fresh, tmp_path)
    lines = [orjson.loads(line) for line in exported.splitlines()]
    (renamed,) = [line for line in lines if "previousSlugs" in line and line["type"] == "article"]
    assert renamed["previousSlugs"] == ["first-slug", "second-slug"]
    keys = list(renamed)
    assert keys[keys.index("slug") + 1] == "previousSlugs"
    history = await _history(seeded)
    (tmp_path / "again.ndjson").write_bytes(exported)
    await import_paths(seeded, [tmp_path / "again.ndjson"], actor="test", now=NOW)
    assert await _history(seeded) == history


@pytest.mark.parametrize("claimed", ["held as an earlier slug", "another's slug", "twice in the file"])
async def test_an_import_claiming_a_held_slug_names_its_line_and_writes_nothing(
    seeded: AsyncEngine, editor: httpx.AsyncClient, tmp_path: Path, claimed: str
) -> None:
    await renamed_twice(editor)
    lines = (await _export(seeded)).splitlines()
    index = max(n for n, line in enumerate(lines) if b'"slug":"unesco-mission-nagorno-karabakh"' in line)
    seed = orjson.loads(lines[index])
    change = {
        "held as an earlier slug": {"id": "new-story", "slug": "second-slug"},
        "another's slug": {"previousSlugs": ["third-slug"]},
        "twice in the file": {"id": "new-story", "slug": "new-story", "previousSlugs": ["fresh-slug"]},
    }[claimed]
    lines[index] = orjson.dumps(seed | change)
    if claimed == "twice in the file":
        lines.append(
            orjson.dumps(seed | {"id": "newer-story", "slug": "newer-story", "previousSlugs": ["fresh-slug"]})
        )
    path = tmp_path / "import.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    before, history = await _export(seeded), await _history(seeded)
    with pytest.raises(ContentFileError) as caught:
        await import_paths(seeded, [path], actor="test", now=NOW)
    bad = len(lines) if claimed == "twice in the file" else index + 1
    assert (caught.value.path, caught.value.line) == (path, bad)
    assert "is held by" in str(caught.value)
    assert (await _export(seeded), await _history(seeded)) == (before, history)


async def test_a_file_may_give_earlier_slugs_and_they_resolve(
    engine: AsyncEngine, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "story.md").write_text(
        "---\ntitle: Moved\nslug: moved-story\npreviousSlugs: [old-story, older-story]\nstatus: PUBLISHED\n"
        "publishedAt: 2020-01-01\n---\nBody.\n"
    )
    await import_paths(engine, [tmp_path], actor="test", now=NOW)
    found = await data(client, FOUND, {"slug": "older-story"})
    assert found["article"]["slug"] == "moved-story"
    assert found["article"]["previousSlugs"] == ["old-story", "older-story"]
    (tmp_path / "story.md").write_text(
        "---\ntitle: Moved\nslug: moved-story\npreviousSlugs: [Not A Slug]\n---\n"
    )
    with pytest.raises(ContentFileError, match="not a valid slug"):
        await import_paths(engine, [tmp_path], actor="test", now=NOW)


LEVEL = "query ($n: Int!) { articles(first: $n) { nodes { slug previousSlugs } } }"


@pytest.mark.parametrize("planner", ["on", "off"])
async def test_they_cost_one_statement_a_level_whatever_its_size(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, planner: str
) -> None:
    listed = await data(editor, "{ articles(first: 100) { nodes { id slug } } }")
    for node in listed["articles"]["nodes"]:
        assert (await rename(editor, node["id"], node["slug"] + "-moved"))["userErrors"] == []
    counts = {}
    for n in (2, 10):
        async with checked_app(seeded, clock, planner=planner, response_cache_mib=0) as http:
            await data(http, LEVEL, {"n": n})
            with StatementCounter(seeded) as counter:
                result = await data(http, LEVEL, {"n": n})
        assert len(result["articles"]["nodes"]) == n
        assert all(len(node["previousSlugs"]) == 1 for node in result["articles"]["nodes"])
        counts[n] = counter.count
    assert counts[10] == counts[2], counts


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW, Role.EDITOR])
async def test_the_planner_answers_them_as_strawberry_does(
    seeded: AsyncEngine, editor: httpx.AsyncClient, role: Role
) -> None:
    await renamed_twice(editor)
    planner = Planner(schema)
    documents: list[tuple[str, dict[str, Any]]] = [
        (FOUND, {"slug": "first-slug"}),
        (FOUND, {"slug": "second-slug", "language": "az", "fallbacks": ["en"]}),
        (LEVEL, {"n": 20}),
        (CATEGORY, {"slug": "culture"}),
    ]
    for query, variables in documents:
        expected, got = await both(seeded, planner, VIEWERS[role], query, variables)
        assert got == expected
    assert (planner.planned, planner.fallbacks) == (len(documents), Counter())


async def rename_category(editor: httpx.AsyncClient, id_: str, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = await data(editor, RENAME_CATEGORY, {"id": id_, "input": input})
    return payload["updateCategory"]


async def culture_renamed_twice(editor: httpx.AsyncClient) -> str:
    """The seeds' Culture category, renamed to `arts`, then to `arts-and-culture`."""
    id_ = str((await data(editor, CATEGORY, {"slug": "culture"}))["category"]["id"])
    for slug in ("arts", "arts-and-culture"):
        assert (await rename_category(editor, id_, slug=slug))["userErrors"] == []
    return id_


@pytest.mark.parametrize("role", ROLES)
async def test_a_categorys_old_slugs_resolve_after_two_renames(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, role: Role
) -> None:
    async with as_role(seeded, clock, role) as http:
        before = await data(http, CATEGORY, {"slug": "culture"})
    id_ = await culture_renamed_twice(editor)
    async with as_role(seeded, clock, role) as http:
        for slug in ("culture", "arts", "arts-and-culture"):
            found = await data(http, CATEGORY, {"slug": slug})
            assert found["category"] == {
                "id": id_,
                "slug": "arts-and-culture",
                "previousSlugs": ["culture", "arts"],
                "articles": before["category"]["articles"],
            }
            assert found["articles"] == before["articles"]
        assert before["articles"]["totalCount"] > 0


async def test_a_categorys_feed_answers_at_its_earlier_slugs(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient
) -> None:
    await culture_renamed_twice(editor)
    async with checked_app(seeded, clock, article_url=TEMPLATE) as http:
        current = await http.get("/feeds/categories/arts-and-culture.json")
        for slug in ("culture", "arts"):
            earlier = await http.get(f"/feeds/categories/{slug}.json")
            assert earlier.status_code == current.status_code == 200
            assert earlier.json()["items"] == current.json()["items"] != []
        assert (await http.get("/feeds/categories/nowhere.json")).status_code == 404


async def test_no_other_category_may_take_an_earlier_slug(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    await culture_renamed_twice(editor)
    history = await _history(seeded)
    taken = await data(editor, CREATE_CATEGORY, {"input": {"name": "Arts", "slug": "arts"}})
    assert taken["createCategory"]["userErrors"] == [{"field": ["input", "slug"], "code": "SLUG_TAKEN"}]
    politics = (await data(editor, CATEGORY, {"slug": "politics"}))["category"]["id"]
    assert (await rename_category(editor, politics, slug="culture"))["userErrors"] == [
        {"field": ["input", "slug"], "code": "SLUG_TAKEN"}
    ]
    assert await _history(seeded) == history
    derived = await data(editor, CREATE_CATEGORY, {"input": {"name": "Culture"}})
    assert derived["createCategory"] == {"category": {"slug": "culture-2"}, "userErrors": []}


async def test_a_category_takes_back_its_own_slug_and_a_rename_of_its_name_keeps_them(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    id_ = await culture_renamed_twice(editor)
    named = await rename_category(editor, id_, name="Arts")
    assert named["category"] == {"slug": "arts-and-culture", "previousSlugs": ["culture", "arts"]}
    back = await rename_category(editor, id_, slug="culture")
    assert back["category"] == {"slug": "culture", "previousSlugs": ["arts", "arts-and-culture"]}


async def test_deleting_a_category_frees_its_earlier_slugs(
    engine: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    made = await data(editor, CREATE_CATEGORY, {"input": {"name": "Weather"}})
    id_ = (await data(editor, CATEGORY, {"slug": "weather"}))["category"]["id"]
    assert made["createCategory"]["userErrors"] == []
    assert (await rename_category(editor, id_, slug="forecasts"))["userErrors"] == []
    assert await held(engine) == 1
    deleted = await data(editor, "mutation ($id: ID!) { deleteCategory(id: $id) { deletedId } }", {"id": id_})
    assert deleted["deleteCategory"]["deletedId"] == id_
    assert await held(engine) == 0
    again = await data(editor, CREATE_CATEGORY, {"input": {"name": "Weather"}})
    assert again["createCategory"] == {"category": {"slug": "weather"}, "userErrors": []}


async def test_an_import_finds_a_category_by_an_earlier_slug_and_keeps_them_through_a_round_trip(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, fresh: Fresh, tmp_path: Path
) -> None:
    id_ = await culture_renamed_twice(editor)
    (tmp_path / "story.md").write_text(
        "---\ntitle: Filed under an old slug\ncategory: Azerbaijan/arts\n---\nBody.\n"
    )
    await import_paths(seeded, [tmp_path / "story.md"], actor="test", now=NOW)
    filed = await data(editor, FOUND, {"slug": "filed-under-an-old-slug"})
    assert filed["article"] is not None
    path = await data(editor, '{ article(slug: "filed-under-an-old-slug") { category { id slug } } }')
    assert path["article"]["category"] == {"id": id_, "slug": "arts-and-culture"}
    exported = await _round_trip(seeded, fresh, tmp_path)
    (culture,) = [
        line for line in map(orjson.loads, exported.splitlines()) if line.get("slug") == "arts-and-culture"
    ]
    assert culture["previousSlugs"] == ["culture", "arts"]
    keys = list(culture)
    assert keys[keys.index("slug") + 1] == "previousSlugs"


@pytest.mark.parametrize("claimed", ["a new category", "an earlier slug given"])
async def test_an_import_line_claiming_a_held_category_slug_names_its_line_and_writes_nothing(
    seeded: AsyncEngine, editor: httpx.AsyncClient, tmp_path: Path, claimed: str
) -> None:
    await culture_renamed_twice(editor)
    line = {
        "a new category": {
            "type": "category",
            "slug": "arts",
            "name": "Arts",
            "description": None,
            "parent": None,
        },
        "an earlier slug given": {
            "type": "category",
            "slug": "regions",
            "previousSlugs": ["politics"],
            "name": "Regions",
            "description": None,
            "parent": None,
        },
    }[claimed]
    path = tmp_path / "import.ndjson"
    path.write_bytes(orjson.dumps(line) + b"\n")
    before, history = await _export(seeded), await _history(seeded)
    with pytest.raises(ContentFileError, match="belongs to another category") as caught:
        await import_paths(seeded, [path], actor="test", now=NOW)
    assert (caught.value.path, caught.value.line) == (path, 1)
    assert (await _export(seeded), await _history(seeded)) == (before, history)


async def test_an_import_renaming_a_category_by_its_id_keeps_the_old_slug(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    lines = (await _export(seeded)).splitlines()
    (index,) = [n for n, line in enumerate(lines) if b'"slug":"culture"' in line and b'"category"' in line]
    lines[index] = orjson.dumps(orjson.loads(lines[index]) | {"slug": "arts"})
    path = tmp_path / "import.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    await import_paths(seeded, [path], actor="test", now=NOW)
    found = await data(client, CATEGORY, {"slug": "culture"})
    assert (found["category"]["slug"], found["category"]["previousSlugs"]) == ("arts", ["culture"])
