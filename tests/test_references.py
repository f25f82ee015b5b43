"""Authors, categories and sources written over the API: one transaction each, userErrors with nothing
written, slugs, the category tree, what is in use, change events, and writers racing each other."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel, col

from cms.clock import FixedClock
from cms.content import references
from cms.content.errors import InvalidInput
from cms.content.references import CATEGORY, update_item
from cms.models import Author, Category, ChangeEvent, Source, table_of
from tests.conftest import NOW, data, error_codes, gql

SELECTIONS = {
    "Author": "id slug name bio avatarUrl email",
    "Category": "id slug name description parent { slug } children { slug } path { slug }",
    "Source": "id slug name kind url",
}
PAYLOAD = {
    name: f"{name.lower()} {{ {fields} }} userErrors {{ field code message }}"
    for name, fields in SELECTIONS.items()
}
CREATE = {
    name: f"mutation ($input: {name}Input!) {{ create{name}(input: $input) {{ {payload} }} }}"
    for name, payload in PAYLOAD.items()
}
UPDATE = {
    name: f"mutation ($id: ID!, $input: {name}Input!) "
    f"{{ update{name}(id: $id, input: $input) {{ {payload} }} }}"
    for name, payload in PAYLOAD.items()
}
DELETE = {
    name: f"mutation ($id: ID!) {{ delete{name}(id: $id) "
    f"{{ deletedId userErrors {{ field code message }} }} }}"
    for name in SELECTIONS
}
READ = {
    name: f"query ($slug: String!) {{ {name.lower()}(slug: $slug) {{ {fields} }} }}"
    for name, fields in SELECTIONS.items()
}
TABLES: dict[str, type[SQLModel]] = {"Author": Author, "Category": Category, "Source": Source}


async def create(http: httpx.AsyncClient, typename: str, input: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = (await data(http, CREATE[typename], {"input": input}))[f"create{typename}"]
    return payload


async def update(http: httpx.AsyncClient, typename: str, id: str, input: dict[str, Any]) -> dict[str, Any]:
    variables = {"id": id, "input": input}
    payload: dict[str, Any] = (await data(http, UPDATE[typename], variables))[f"update{typename}"]
    return payload


async def delete(http: httpx.AsyncClient, typename: str, id: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await data(http, DELETE[typename], {"id": id}))[f"delete{typename}"]
    return payload


async def read(http: httpx.AsyncClient, typename: str, slug: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (await data(http, READ[typename], {"slug": slug}))[typename.lower()]
    return item


async def created(http: httpx.AsyncClient, typename: str, input: dict[str, Any]) -> dict[str, Any]:
    """The item a create that must succeed made."""
    payload = await create(http, typename, input)
    assert payload["userErrors"] == []
    item: dict[str, Any] = payload[typename.lower()]
    return item


async def id_of(engine: AsyncEngine, typename: str, slug: str) -> str:
    table = table_of(TABLES[typename])
    async with engine.connect() as connection:
        return str((await connection.execute(select(table.c.id).where(table.c.slug == slug))).scalar_one())


async def stored(engine: AsyncEngine) -> dict[str, list[Any]]:
    """Every row of the three tables and the change log: what "nothing written" compares."""
    tables = [table_of(model) for model in TABLES.values()] + [table_of(ChangeEvent)]
    async with engine.connect() as connection:
        return {
            table.name: sorted((await connection.execute(select(table))).all(), key=str) for table in tables
        }


async def events(engine: AsyncEngine, after: int = 0) -> list[tuple[str, str, str, str, bool]]:
    """(action, typename, id, actor, public) of the change events past sequence `after`."""
    statement = (
        select(
            col(ChangeEvent.action),
            col(ChangeEvent.typename),
            col(ChangeEvent.entity_id),
            col(ChangeEvent.actor),
            col(ChangeEvent.public),
        )
        .where(col(ChangeEvent.sequence) > after)
        .order_by(col(ChangeEvent.sequence))
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [(action, typename, id_, actor, public) for action, typename, id_, actor, public in rows]


async def last_sequence(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        statement = text("SELECT COALESCE(MAX(sequence), 0) FROM change_event")
        return int((await connection.execute(statement)).scalar_one())


# ---------------------------------------------------------------- creating


async def test_create_author_reads_back_with_the_email_for_editors_only(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    input = {
        "name": "  Aysel Mammadli ",
        "bio": "Covers culture.",
        "avatarUrl": "https://img.example.org/a.jpg",
        "email": "aysel@example.org",
    }
    author = await created(editor, "Author", input)
    expected = {
        "id": author["id"],
        "slug": "aysel-mammadli",
        "name": "Aysel Mammadli",
        "bio": "Covers culture.",
        "avatarUrl": "https://img.example.org/a.jpg",
        "email": "aysel@example.org",
    }
    assert author == expected
    assert await read(editor, "Author", "aysel-mammadli") == expected
    assert await read(client, "Author", "aysel-mammadli") == expected | {"email": None}


async def test_create_category_under_a_parent_joins_the_tree(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    category = await created(
        editor, "Category", {"name": "Regions", "description": "Outside Baku", "parent": "azerbaijan"}
    )
    assert category["slug"] == "regions"
    assert category["parent"] == {"slug": "azerbaijan"}
    assert category["path"] == [{"slug": "azerbaijan"}, {"slug": "regions"}]
    assert await read(client, "Category", "regions") == category
    parent = await read(client, "Category", "azerbaijan")
    assert parent is not None
    assert {"slug": "regions"} in parent["children"]


async def test_create_source_kind_is_other_unless_given(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    plain = await created(editor, "Source", {"name": "Azertac"})
    assert (plain["kind"], plain["url"]) == ("OTHER", None)
    agency = await created(
        editor, "Source", {"name": "Report", "kind": "NEWS_AGENCY", "url": "https://report.az"}
    )
    assert await read(editor, "Source", "report") == agency
    assert (agency["kind"], agency["url"]) == ("NEWS_AGENCY", "https://report.az")


@pytest.mark.parametrize("typename", ["Author", "Category", "Source"])
@pytest.mark.parametrize(
    ("name", "slug"), [("Şəki xəbərləri", "seki-xeberleri"), ("Новости Баку", "novosti-baku")]
)
async def test_slugs_are_transliterated_from_azerbaijani_and_russian(
    engine: AsyncEngine, editor: httpx.AsyncClient, typename: str, name: str, slug: str
) -> None:
    item = await created(editor, typename, {"name": name})
    assert (item["slug"], item["name"]) == (slug, name)
    assert await read(editor, typename, slug) == item


async def test_a_derived_slug_that_is_taken_gets_a_numeric_suffix(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    assert [(await created(editor, "Source", {"name": "Trend"}))["slug"] for _ in range(3)] == [
        "trend-2",
        "trend-3",
        "trend-4",
    ]
    long_name = "a" * 200
    first, second = [(await created(editor, "Author", {"name": long_name}))["slug"] for _ in range(2)]
    assert (first, second) == (long_name, "a" * 198 + "-2")


LONG_NAME = ("Şəhriyar Щербаков-Шахназаров " * 8)[:200]
"""The longest name there may be (200 characters), whose transliteration is longer still."""


@pytest.mark.parametrize("typename", ["Author", "Category", "Source"])
async def test_a_long_name_taken_again_gets_a_numbered_slug_within_the_limit(
    engine: AsyncEngine, editor: httpx.AsyncClient, typename: str
) -> None:
    assert len(LONG_NAME) == 200
    first, second, third = [(await created(editor, typename, {"name": LONG_NAME}))["slug"] for _ in range(3)]
    assert len(first) == 200
    assert (second, third) == (first[:198] + "-2", first[:198] + "-3")
    for slug in (first, second, third):
        assert (await read(editor, typename, slug) or {})["name"] == LONG_NAME
    refused = await create(editor, typename, {"name": LONG_NAME + " " + "x" * 99})
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "name"], "TOO_LONG")]


async def test_an_admin_may_write_too(engine: AsyncEngine, admin: httpx.AsyncClient) -> None:
    author = await created(admin, "Author", {"name": "Admin Writer"})
    assert (await update(admin, "Author", author["id"], {"bio": "x"}))["author"]["bio"] == "x"
    assert (await delete(admin, "Author", author["id"]))["deletedId"] == author["id"]


# ---------------------------------------------------------------- updating


async def test_update_changes_only_the_fields_given(seeded: AsyncEngine, editor: httpx.AsyncClient) -> None:
    author = await created(
        editor, "Author", {"name": "Elnur Aliyev", "bio": "Sports desk", "email": "elnur@example.org"}
    )
    renamed = (await update(editor, "Author", author["id"], {"name": "Elnur Aliyev Jr."}))["author"]
    assert renamed == author | {"name": "Elnur Aliyev Jr."}, "the slug stays: it is a URL"
    cleared = (await update(editor, "Author", author["id"], {"bio": "", "email": ""}))["author"]
    assert cleared == renamed | {"bio": None, "email": None}
    assert await read(editor, "Author", author["slug"]) == cleared


async def test_update_sets_a_slug_or_derives_it_again_from_an_empty_one(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    trend = await id_of(seeded, "Source", "trend")
    moved = await update(editor, "Source", trend, {"slug": "trend-news-agency", "url": "https://trend.az"})
    assert (moved["source"]["slug"], moved["source"]["url"], moved["userErrors"]) == (
        "trend-news-agency",
        "https://trend.az",
        [],
    )
    assert await read(editor, "Source", "trend") is None
    renamed = await update(
        editor, "Source", trend, {"name": "Trend Agency", "slug": "", "kind": "PUBLICATION"}
    )
    assert (renamed["source"]["slug"], renamed["source"]["kind"]) == ("trend-agency", "PUBLICATION")
    same = (await update(editor, "Source", trend, {"slug": "trend-agency"}))["source"]
    assert same == renamed["source"], "an item's own slug is not taken"


async def test_update_moves_a_category_and_makes_it_a_root(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    football = await id_of(seeded, "Category", "football")
    moved = (await update(editor, "Category", football, {"parent": "europe"}))["category"]
    assert moved["path"] == [{"slug": "world"}, {"slug": "europe"}, {"slug": "football"}]
    assert {"slug": "football"} in (await read(client, "Category", "europe") or {})["children"]
    assert (await read(client, "Category", "sports") or {})["children"] == []
    root = (await update(editor, "Category", football, {"parent": ""}))["category"]
    assert (root["parent"], root["path"]) == (None, [{"slug": "football"}])


async def test_an_update_that_changes_nothing_writes_nothing(
    seeded: AsyncEngine, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    category = await id_of(seeded, "Category", "culture")
    clock.set(NOW + timedelta(hours=1))
    before = await stored(seeded)
    same = {"name": "Culture", "slug": "culture", "parent": "azerbaijan"}
    payload = await update(editor, "Category", category, same)
    assert (payload["category"]["slug"], payload["userErrors"]) == ("culture", [])
    assert await stored(seeded) == before


# ---------------------------------------------------------------- change events


async def test_every_change_appends_one_event(
    engine: AsyncEngine, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    start = await last_sequence(engine)
    ids = {
        typename: (await created(editor, typename, {"name": f"New {typename}"}))["id"] for typename in TABLES
    }
    clock.set(NOW + timedelta(hours=1))
    for typename, item in ids.items():
        await update(editor, typename, item, {"name": f"Renamed {typename}"})
        await delete(editor, typename, item)
    assert await events(engine, start) == [
        ("UPSERT", typename, ids[typename], "editor", True) for typename in TABLES
    ] + [
        (action, typename, ids[typename], "editor", True)
        for typename in TABLES
        for action in ("UPSERT", "DELETE")
    ]
    async with engine.connect() as connection:
        statement = select(col(ChangeEvent.occurred_at)).where(col(ChangeEvent.sequence) > start)
        occurred = (await connection.execute(statement.order_by(col(ChangeEvent.sequence)))).scalars().all()
    assert occurred == [NOW] * 3 + [NOW + timedelta(hours=1)] * 6


async def test_an_update_bumps_updated_at_and_keeps_created_at(
    engine: AsyncEngine, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    author = await created(editor, "Author", {"name": "Kamala Rzayeva"})
    clock.set(NOW + timedelta(days=1))
    await update(editor, "Author", author["id"], {"bio": "Economy"})
    async with engine.connect() as connection:
        row = (await connection.execute(select(col(Author.created_at), col(Author.updated_at)))).one()
    assert tuple(row) == (NOW, NOW + timedelta(days=1))


# ---------------------------------------------------------------- userErrors, with nothing written

TOO_LONG_URL = "https://example.org/" + "a" * 1981
INVALID_CREATES = [
    ("Author", {}, [("name", "REQUIRED")]),
    ("Author", {"name": "   "}, [("name", "REQUIRED")]),
    ("Author", {"name": "x" * 201}, [("name", "TOO_LONG")]),
    ("Author", {"name": "A", "slug": "a" * 201}, [("slug", "TOO_LONG")]),
    ("Author", {"name": "A", "bio": "x" * 10_001}, [("bio", "TOO_LONG")]),
    ("Author", {"name": "A", "avatarUrl": TOO_LONG_URL}, [("avatarUrl", "TOO_LONG")]),
    ("Author", {"name": "A", "email": "a@" + "b" * 315 + ".org"}, [("email", "TOO_LONG")]),
    ("Author", {"name": "A", "slug": "Not A Slug"}, [("slug", "INVALID")]),
    ("Author", {"name": "A", "slug": "double--hyphen"}, [("slug", "INVALID")]),
    ("Author", {"name": "!!!"}, [("slug", "INVALID")]),
    ("Author", {"name": "A", "avatarUrl": "javascript:alert(1)"}, [("avatarUrl", "INVALID")]),
    ("Author", {"name": "A", "email": "not-an-email"}, [("email", "INVALID")]),
    ("Author", {"name": "A", "slug": "fidan-abdullayeva"}, [("slug", "SLUG_TAKEN")]),
    (
        "Author",
        {"name": "", "slug": "Bad Slug", "avatarUrl": "ftp://x.org", "email": "nope", "bio": "x" * 10_001},
        [
            ("name", "REQUIRED"),
            ("bio", "TOO_LONG"),
            ("avatarUrl", "INVALID"),
            ("email", "INVALID"),
            ("slug", "INVALID"),
        ],
    ),
    ("Category", {"name": "C", "description": "x" * 10_001}, [("description", "TOO_LONG")]),
    ("Category", {"name": "C", "parent": "no-such-category"}, [("parent", "NOT_FOUND")]),
    ("Category", {"name": "C", "slug": "culture"}, [("slug", "SLUG_TAKEN")]),
    ("Category", {"parent": "nowhere"}, [("name", "REQUIRED"), ("parent", "NOT_FOUND")]),
    ("Source", {"name": "S", "url": "ftp://files.example.org"}, [("url", "INVALID")]),
    ("Source", {"name": "S", "url": "https://"}, [("url", "INVALID")]),
    ("Source", {"name": "S", "url": TOO_LONG_URL}, [("url", "TOO_LONG")]),
    ("Source", {"name": "S", "slug": "trend"}, [("slug", "SLUG_TAKEN")]),
]


@pytest.mark.parametrize(("typename", "input", "expected"), INVALID_CREATES)
async def test_an_invalid_create_reports_every_problem_and_writes_nothing(
    seeded: AsyncEngine,
    editor: httpx.AsyncClient,
    typename: str,
    input: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    before = await stored(seeded)
    payload = await create(editor, typename, input)
    assert payload[typename.lower()] is None
    assert [(tuple(e["field"]), e["code"]) for e in payload["userErrors"]] == [
        (("input", field), code) for field, code in expected
    ]
    assert all(e["message"] for e in payload["userErrors"])
    assert await stored(seeded) == before


INVALID_UPDATES = [
    ("Author", "rashad-mammadov", {"name": ""}, [("name", "REQUIRED")]),
    ("Author", "rashad-mammadov", {"slug": "leyla-huseynova"}, [("slug", "SLUG_TAKEN")]),
    ("Author", "rashad-mammadov", {"name": "R", "email": "rashad@"}, [("email", "INVALID")]),
    (
        "Category",
        "football",
        {"slug": "Foot Ball", "parent": "nowhere"},
        [("slug", "INVALID"), ("parent", "NOT_FOUND")],
    ),
    ("Category", "football", {"slug": "europe"}, [("slug", "SLUG_TAKEN")]),
    ("Source", "trend", {"url": "mailto:desk@trend.az"}, [("url", "INVALID")]),
    (
        "Source",
        "trend",
        {"slug": "unesco", "name": "x" * 201},
        [("name", "TOO_LONG"), ("slug", "SLUG_TAKEN")],
    ),
]


@pytest.mark.parametrize(("typename", "slug", "input", "expected"), INVALID_UPDATES)
async def test_an_invalid_update_reports_every_problem_and_writes_nothing(
    seeded: AsyncEngine,
    editor: httpx.AsyncClient,
    typename: str,
    slug: str,
    input: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    item = await id_of(seeded, typename, slug)
    before = await stored(seeded)
    payload = await update(editor, typename, item, input)
    assert payload[typename.lower()] is None
    assert [(tuple(e["field"]), e["code"]) for e in payload["userErrors"]] == [
        (("input", field), code) for field, code in expected
    ]
    assert await stored(seeded) == before


OF_ANOTHER_KIND = {
    "Author": ("Category", "culture"),
    "Category": ("Source", "trend"),
    "Source": ("Author", "rashad-mammadov"),
}


@pytest.mark.parametrize("typename", ["Author", "Category", "Source"])
async def test_an_unknown_id_is_not_found(
    seeded: AsyncEngine, editor: httpx.AsyncClient, typename: str
) -> None:
    other = await id_of(seeded, *OF_ANOTHER_KIND[typename])
    before = await stored(seeded)
    for item in (f"{typename.lower()}_missing", other):
        payloads = [await update(editor, typename, item, {"name": "X"}), await delete(editor, typename, item)]
        for payload in payloads:
            assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["id"], "NOT_FOUND")]
        assert (payloads[0][typename.lower()], payloads[1]["deletedId"]) == (None, None)
    assert await stored(seeded) == before


async def test_a_category_cannot_become_its_own_ancestor(
    engine: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    parent = None
    chain = {}
    for name in ("Alpha", "Beta", "Gamma", "Delta"):
        chain[name] = await created(
            editor, "Category", {"name": name} | ({"parent": parent} if parent else {})
        )
        parent = chain[name]["slug"]
    before = await stored(engine)
    for parent in ("alpha", "beta", "gamma", "delta"):
        payload = await update(
            editor, "Category", chain["Alpha"]["id"], {"parent": parent, "name": "Renamed"}
        )
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "parent"], "CYCLE")]
    payload = await update(editor, "Category", chain["Gamma"]["id"], {"parent": "gamma"})
    assert [e["code"] for e in payload["userErrors"]] == ["CYCLE"]
    assert await stored(engine) == before
    moved = (await update(editor, "Category", chain["Delta"]["id"], {"parent": "alpha"}))["category"]
    assert moved["path"] == [{"slug": "alpha"}, {"slug": "delta"}], "a move down a branch is no cycle"
    assert (await update(editor, "Category", chain["Beta"]["id"], {"parent": "delta"}))["userErrors"] == []


# ---------------------------------------------------------------- deleting


@pytest.mark.parametrize(
    ("typename", "slug", "message"),
    [
        ("Author", "fidan-abdullayeva", "in use: articles that name this author: 7"),
        ("Source", "trend", "in use: articles that cite this source: 7"),
        ("Category", "culture", "in use: articles in this category: 6"),
        ("Category", "azerbaijan", "in use: categories inside this one: 2"),
    ],
)
async def test_what_is_in_use_cannot_be_deleted(
    seeded: AsyncEngine, editor: httpx.AsyncClient, typename: str, slug: str, message: str
) -> None:
    before = await stored(seeded)
    payload = await delete(editor, typename, await id_of(seeded, typename, slug))
    assert payload == {
        "deletedId": None,
        "userErrors": [{"field": ["id"], "code": "IN_USE", "message": message}],
    }
    assert await stored(seeded) == before


@pytest.mark.parametrize("typename", ["Author", "Category", "Source"])
async def test_delete_removes_what_nothing_uses(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, typename: str
) -> None:
    item = await created(
        editor, typename, {"name": "Short Lived"} | ({"parent": "world"} if typename == "Category" else {})
    )
    assert await delete(editor, typename, item["id"]) == {"deletedId": item["id"], "userErrors": []}
    assert await read(client, typename, "short-lived") is None
    assert (await events(seeded))[-1] == ("DELETE", typename, item["id"], "editor", True)


async def test_a_category_is_deletable_once_its_children_are_gone(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    science, climate = [await id_of(seeded, "Category", slug) for slug in ("science", "climate")]
    assert (await update(editor, "Category", climate, {"parent": "world"}))["userErrors"] == []
    assert await delete(editor, "Category", science) == {"deletedId": science, "userErrors": []}


# ---------------------------------------------------------------- who may write

EVERY_MUTATION = [
    *[(CREATE[name], {"input": {"name": "Nobody"}}) for name in SELECTIONS],
    *[(UPDATE[name], {"id": "x", "input": {"name": "Nobody"}}) for name in SELECTIONS],
    *[(DELETE[name], {"id": "x"}) for name in SELECTIONS],
]


async def refused(
    engine: AsyncEngine, http: httpx.AsyncClient, document: str, variables: dict[str, Any]
) -> str:
    """The one error code of a mutation that must write nothing."""
    before = await stored(engine)
    body = await gql(http, document, variables)
    assert body["data"] is None
    assert await stored(engine) == before
    (code,) = error_codes(body)
    return code


@pytest.mark.parametrize(("document", "variables"), EVERY_MUTATION)
async def test_preview_may_not_write(
    engine: AsyncEngine, preview: httpx.AsyncClient, document: str, variables: dict[str, Any]
) -> None:
    assert await refused(engine, preview, document, variables) == "FORBIDDEN"


@pytest.mark.parametrize(("document", "variables"), EVERY_MUTATION)
async def test_no_token_may_not_write(
    engine: AsyncEngine, client: httpx.AsyncClient, document: str, variables: dict[str, Any]
) -> None:
    assert await refused(engine, client, document, variables) == "UNAUTHENTICATED"


# ---------------------------------------------------------------- racing writers


def stale_once(monkeypatch: pytest.MonkeyPatch, name: str, answer: Any) -> None:
    """The first call of `references.<name>` answers as if a concurrent commit had not happened yet."""
    real = getattr(references, name)
    calls = []

    async def stale(*args: Any) -> Any:
        calls.append(args)
        return answer if len(calls) == 1 else await real(*args)

    monkeypatch.setattr(references, name, stale)


async def test_a_slug_taken_between_check_and_write_is_a_user_error(
    seeded: AsyncEngine, editor: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_once(monkeypatch, "_taken", set())
    before = await stored(seeded)
    payload = await create(editor, "Source", {"name": "Trend again", "slug": "trend"})
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "slug"], "SLUG_TAKEN")]
    assert await stored(seeded) == before


async def test_a_derived_slug_taken_between_check_and_write_takes_the_next(
    seeded: AsyncEngine, editor: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_once(monkeypatch, "_taken", set())
    assert (await created(editor, "Source", {"name": "Trend"}))["slug"] == "trend-2"


async def test_a_use_found_between_check_and_delete_is_in_use(
    seeded: AsyncEngine, editor: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_once(monkeypatch, "_in_use", [])
    before = await stored(seeded)
    payload = await delete(editor, "Author", await id_of(seeded, "Author", "dmitry-volkov"))
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["id"], "IN_USE")]
    assert await stored(seeded) == before


async def waiting(engine: AsyncEngine, count: int) -> None:
    """Return once `count` PostgreSQL backends wait for a lock (no sleeping: each poll is a round trip)."""
    async with asyncio.timeout(10), engine.connect() as connection:
        statement = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
        while (await connection.execute(statement)).scalar_one() < count:
            pass


async def in_transaction(engine: AsyncEngine, change: Any) -> Any:
    async with AsyncSession(engine) as session, session.begin():
        return await change(session)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_creates_of_one_slug_on_postgresql(engine: AsyncEngine) -> None:
    """SQLite writers take turns from BEGIN; on PostgreSQL two creates check at once and the unique index
    decides: the derived slug moves on to `-2`, the hand-given one is SLUG_TAKEN."""

    def creating(values: dict[str, str]) -> Any:
        return lambda session: references.create_item(
            session, entity=references.SOURCE, values=values, now=NOW, actor="test"
        )

    async with AsyncSession(engine) as first, first.begin():
        await creating({"name": "Same Name"})(first)
        derived = asyncio.create_task(in_transaction(engine, creating({"name": "Same Name"})))
        given = asyncio.create_task(in_transaction(engine, creating({"name": "Other", "slug": "same-name"})))
        await waiting(engine, 2)
    assert (await derived).slug == "same-name-2"
    with pytest.raises(InvalidInput) as refused:
        await given
    assert [(e.field, e.code) for e in refused.value.errors] == [(("input", "slug"), "SLUG_TAKEN")]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_moves_cannot_make_a_cycle_on_postgresql(engine: AsyncEngine) -> None:
    """Each move alone is fine (a under b, b under a); together they would be a cycle: the second waits for
    the first and then sees it."""

    def creating(name: str) -> Any:
        return lambda session: references.create_item(
            session, entity=CATEGORY, values={"name": name}, now=NOW, actor="test"
        )

    def moving(item: str, parent: str) -> Any:
        return lambda session: update_item(
            session, entity=CATEGORY, id=item, values={"parent": parent}, now=NOW, actor="test"
        )

    a, b = [(await in_transaction(engine, creating(name))).id for name in ("a", "b")]
    async with AsyncSession(engine) as first, first.begin():
        await moving(a, "b")(first)
        second = asyncio.create_task(in_transaction(engine, moving(b, "a")))
        await waiting(engine, 1)
    with pytest.raises(InvalidInput) as refused:
        await second
    assert [(e.field, e.code) for e in refused.value.errors] == [(("input", "parent"), "CYCLE")]
