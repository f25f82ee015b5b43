"""The planner and Strawberry agree: the same JSON (data and errors, key order included) for every example
operation and for random documents over the whole read schema, as each role, on both databases."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content.roles import Role, Viewer
from cms.graphql.context import Context
from cms.graphql.plan.planner import Planner
from cms.graphql.plan.registry import REGISTRY
from cms.graphql.plan.shapes import Value
from cms.graphql.schema import schema
from tests.conftest import NOW, ROOT, checked_app, data, error_codes, gql, token_for
from tests.documents import Known, random_document

EXAMPLES = sorted((ROOT / "schema" / "examples").glob("*.graphql"))
VIEWERS = {role: Viewer(role, None if role is Role.READER else role.value.lower()) for role in Role}
RANDOM_DOCUMENTS = 200  # per role and database: 1,200 a run


async def both(
    engine: AsyncEngine, planner: Planner, viewer: Viewer, query: str, variables: dict[str, Any]
) -> tuple[str, str | None]:
    """Strawberry's answer and the planner's (None when it let Strawberry answer), as JSON text."""
    reference = Context(engine=engine, viewer=viewer, now=NOW, request_id="reference")
    try:
        expected = await schema.execute(query, variable_values=variables, context_value=reference)
    finally:
        await reference.close()
    planned = Context(engine=engine, viewer=viewer, now=NOW, request_id="planned")
    try:
        got = await planner.run(query, None, variables, planned)
    finally:
        await planned.close()
    body = {"data": expected.data, "errors": [e.formatted for e in expected.errors or []]}
    return json.dumps(body), None if got is None else json.dumps({"data": got.data, "errors": []})


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW, Role.EDITOR])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
async def test_every_example_is_planned_and_answered_alike(
    seeded: AsyncEngine, example: Any, role: Role
) -> None:
    planner = Planner(schema)
    variables = json.loads(example.with_suffix(".json").read_text())
    expected, got = await both(seeded, planner, VIEWERS[role], example.read_text(), variables)
    assert got == expected
    assert planner.fallbacks == Counter()


async def known(engine: AsyncEngine) -> Known:
    async with engine.connect() as connection:
        ids, slugs = {}, {}
        for typename, table in (("Article", "article"), ("Author", "author"), ("Category", "category"),
                                ("Source", "source")):  # fmt: skip
            rows = (await connection.execute(text(f"SELECT id, slug FROM {table} ORDER BY id"))).all()
            ids[typename], slugs[typename] = [r.id for r in rows], [r.slug for r in rows]
        tags = list(
            (await connection.execute(text("SELECT DISTINCT tag FROM article_tag ORDER BY tag"))).scalars()
        )
    return Known(ids, slugs, tags)


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW, Role.EDITOR])
async def test_random_documents_are_answered_alike(seeded: AsyncEngine, role: Role) -> None:
    planner = Planner(schema)
    holdings = await known(seeded)
    rng = random.Random(f"{role.value}-{seeded.dialect.name}")
    mismatches, planned = [], 0
    for _ in range(RANDOM_DOCUMENTS):
        document = random_document(schema._schema, holdings, rng)
        expected, got = await both(seeded, planner, VIEWERS[role], document.query, document.variables)
        if got is not None:
            planned += 1
            if got != expected:
                mismatches.append((document.query, document.variables, expected[:400], got[:400]))
    assert mismatches == []
    assert planned >= RANDOM_DOCUMENTS * 0.6, planner.fallbacks


async def test_admins_see_what_was_planned_and_why_the_rest_was_not(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    stats = "{ planner { enabled planned fallbacks { reason count } } }"
    admin_token = await token_for(seeded, Role.ADMIN)
    async with checked_app(seeded, clock, {"Authorization": f"Bearer {admin_token}"}, planner="on") as admin:
        for _ in range(3):
            await data(admin, "{ articles(first: 2) { nodes { slug } } }")
        await gql(admin, "{ articles(first: 0) { nodes { slug } } }")
        await data(admin, '{ article(slug: "unesco-mission-nagorno-karabakh") { revisions { totalCount } } }')
        seen = (await data(admin, stats))["planner"]
    assert seen["enabled"] is True
    assert seen["planned"] == 3
    assert {f["reason"]: f["count"] for f in seen["fallbacks"]} == {
        "error: BAD_USER_INPUT": 1,
        "unplanned field Article.revisions": 1,
        "unplanned field Query.planner": 1,
    }
    async with checked_app(seeded, clock, planner="on") as public:
        assert error_codes(await gql(public, stats)) == ["FORBIDDEN"]
    async with checked_app(seeded, clock, {"Authorization": f"Bearer {admin_token}"}, planner="off") as off:
        assert (await data(off, stats))["planner"] == {"enabled": False, "planned": 0, "fallbacks": []}


@pytest.mark.parametrize(
    ("typename", "field_name", "broken"),
    [
        ("Article", "title", lambda row, run: row.title.upper()),
        ("Author", "name", lambda row, run: None),
        ("PageInfo", "hasNextPage", lambda conn, run: not conn.page.has_next),
    ],
    ids=["title", "name", "hasNextPage"],
)
async def test_a_broken_mapping_is_caught(
    seeded: AsyncEngine, monkeypatch: pytest.MonkeyPatch, typename: str, field_name: str, broken: Any
) -> None:
    """The differential comparison has teeth: one field mapped wrongly makes the example pages differ."""
    monkeypatch.setitem(
        REGISTRY, (typename, field_name), lambda compiler, selected: Value(selected.key, broken)
    )
    planner = Planner(schema)
    differing = []
    for example in EXAMPLES:
        variables = json.loads(example.with_suffix(".json").read_text())
        expected, got = await both(seeded, planner, VIEWERS[Role.READER], example.read_text(), variables)
        differing += [example.stem] if got != expected else []
    assert differing
