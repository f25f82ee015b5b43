"""The planner and Strawberry agree: the same JSON (data and errors, key order included) for every example
operation and for random documents over the whole read schema, as each role, on both databases."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import httpx
import pytest
from graphql import FieldNode, GraphQLError, GraphQLField, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content import changes, revisions
from cms.content.roles import Role, Viewer
from cms.graphql.context import Context
from cms.graphql.documents import prepare
from cms.graphql.plan.compiler import _read_directly
from cms.graphql.plan.planner import Planner, _leaves
from cms.graphql.plan.shapes import Value
from cms.graphql.schema import schema
from tests.conftest import NOW, ROOT, checked_app, client_as, data, error_codes, gql, token_for
from tests.documents import NODE_TYPES, Known, random_document
from tests.test_article_mutations import ARCHIVE, DELETE, PUBLISH, UPDATE, create
from tests.test_references import DELETE as DELETE_ITEM
from tests.test_references import create as create_item
from tests.test_references import update

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
        got = await planner.run(prepare(schema._schema, query), None, variables, planned)
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


async def test_a_plan_run_again_with_other_variables_answers_for_them(seeded: AsyncEngine) -> None:
    """A plan keeps each field's converted arguments by the values of the variables in them, and a document
    its coerced variables by their values; a later run with other values, a variable left out (which is not
    a null given), an input object or a value of another type gets its own."""
    planner = Planner(schema)
    query = """query ($first: Int, $filter: ArticleFilter, $slug: String!) {
      articles(first: $first, filter: $filter) { nodes { slug } }
      article(slug: $slug) { slug }
    }"""
    slugs = ["unesco-mission-nagorno-karabakh", "no-such-article"]
    runs: list[dict[str, Any]] = [
        {"first": 2, "slug": slugs[0]},
        {"first": 3, "slug": slugs[1]},
        {"first": 2, "slug": slugs[1]},
        {"slug": slugs[0]},
        {"first": None, "slug": slugs[0]},
        {"first": 5, "filter": {"language": "ru"}, "slug": slugs[0]},
        {"first": 5, "filter": {"language": "en"}, "slug": slugs[0]},
    ]
    answers = []
    for variables in runs:
        expected, got = await both(seeded, planner, VIEWERS[Role.READER], query, variables)
        assert got == expected, variables
        answers.append(json.loads(expected)["data"])
    sizes = [len(answer["articles"]["nodes"]) for answer in answers]
    assert sizes[:3] == [2, 3, 2]
    assert sizes[5] != sizes[6]
    assert [answer["article"] is None for answer in answers[:3]] == [False, True, True]
    assert planner.fallbacks == Counter()
    for first in (1, True):  # equal in Python, not in GraphQL: an Int, then a Boolean Strawberry refuses
        _, got = await both(seeded, planner, VIEWERS[Role.READER], query, {"first": first, "slug": slugs[0]})
        assert (got is None) == (first is True)
    assert planner.fallbacks == Counter({"variables": 1})


async def known(engine: AsyncEngine) -> Known:
    async with engine.connect() as connection:
        ids, slugs = {}, {}
        for typename in ("Article", "Author", "Category", "Source"):
            table = typename.lower()
            rows = (await connection.execute(text(f"SELECT id, slug FROM {table} ORDER BY id"))).all()
            ids[typename], slugs[typename] = [r.id for r in rows], [r.slug for r in rows]
        tags = list(
            (await connection.execute(text("SELECT DISTINCT tag FROM article_tag ORDER BY tag"))).scalars()
        )
        sequences = (await connection.execute(text("SELECT sequence FROM change_event"))).scalars()
        versions = (await connection.execute(text("SELECT version, id FROM revision"))).all()
    cursors = {
        ("changes", "since"): [changes.feed_cursor(sequence) for sequence in [0, *sequences]],
        ("revisions", "after"): [revisions.NEWEST_FIRST.cursor(v, id_) for v, id_ in versions],
    }
    return Known(ids, slugs, tags, cursors)


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW, Role.EDITOR])
async def test_random_documents_are_answered_alike(seeded: AsyncEngine, role: Role) -> None:
    planner = Planner(schema)
    holdings = await known(seeded)
    rng = random.Random(f"{role.value}-{seeded.dialect.name}")
    mismatches, planned = [], []
    for _ in range(RANDOM_DOCUMENTS):
        document = random_document(schema._schema, holdings, rng)
        expected, got = await both(seeded, planner, VIEWERS[role], document.query, document.variables)
        if got is not None:
            planned.append(document.query)
            if got != expected:
                mismatches.append((document.query, document.variables, expected[:400], got[:400]))
    assert mismatches == []
    assert len(planned) >= RANDOM_DOCUMENTS * 0.6, planner.fallbacks
    history = ("changes", "revisions") if role is Role.EDITOR else ("changes",)
    assert all(any(f"{name}(" in query or f"{name} " in query for query in planned) for name in history)


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
    assert seen["planned"] == 4
    assert {f["reason"]: f["count"] for f in seen["fallbacks"]} == {
        "error: BAD_USER_INPUT": 1,
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
    planner = Planner(schema)
    monkeypatch.setitem(
        planner.registry, (typename, field_name), lambda compiler, selected: Value(selected.key, broken)
    )
    differing = []
    for example in EXAMPLES:
        variables = json.loads(example.with_suffix(".json").read_text())
        expected, got = await both(seeded, planner, VIEWERS[Role.READER], example.read_text(), variables)
        differing += [example.stem] if got != expected else []
    assert differing


FEED = """query ($since: String, $first: Int) {
  changes(since: $since, first: $first) {
    cursor hasMore
    events {
      sequence action typename id occurredAt contentHash
      node {
        __typename id
        ... on Article { title status authors { name email } category { slug parent { slug } } tags }
        ... on Author { name email articles(first: 2) { totalCount nodes { slug } } }
        ... on Category { name path { slug } }
        ... on Source { name kind url }
      }
    }
  }
}"""


async def edit_everything(engine: AsyncEngine, clock: FixedClock) -> None:
    """A draft, a published article, one archived and one deleted after being seen; an author, a category,
    a source updated or made, and a source deleted: events of every kind, for every type."""
    token = await token_for(engine, Role.EDITOR)
    async with client_as(engine, clock, token) as editor:
        await create(editor, title="Never public")
        fates = {"Published": None, "Archived": ARCHIVE, "Deleted": DELETE}
        for title, fate in fates.items():
            article = await create(editor, title=title, authors=["fidan-abdullayeva"], category="culture")
            await data(editor, PUBLISH, {"id": article["id"]})
            if fate:
                await data(editor, fate, {"id": article["id"]})
        await update(editor, "Author", (await ids(editor, "authors"))[0], {"email": "new@news.example"})
        await create_item(editor, "Category", {"name": "Night trains", "parent": "culture"})
        source = (await create_item(editor, "Source", {"name": "Gone soon", "kind": "OTHER"}))["source"]
        await update(editor, "Source", (await ids(editor, "sources"))[0], {"url": "https://news.example/s"})
        await data(editor, DELETE_ITEM["Source"], {"id": source["id"]})


async def ids(http: httpx.AsyncClient, field_name: str) -> list[str]:
    page = (await data(http, f"{{ {field_name} {{ nodes {{ id }} }} }}"))[field_name]
    return [node["id"] for node in page["nodes"]]


async def feed_cursor_now(engine: AsyncEngine) -> str:
    """The cursor of the feed's last event: what a reader up to date holds."""
    async with engine.connect() as connection:
        last = (await connection.execute(text("SELECT max(sequence) FROM change_event"))).scalar_one()
    return changes.feed_cursor(last)


async def planned_answer(
    engine: AsyncEngine, viewer: Viewer, query: str, variables: dict[str, Any]
) -> tuple[Planner, str | None, int]:
    """Strawberry's and the planner's answers must be equal; returns the planner, its answer and how many
    statements it cost."""
    planner = Planner(schema)
    expected, got = await both(engine, planner, viewer, query, variables)
    assert got is None or got == expected
    context = Context(engine=engine, viewer=viewer, now=NOW, request_id="counted")
    try:
        await Planner(schema).run(prepare(schema._schema, query), None, variables, context)
    finally:
        await context.close()
    return planner, got, context.statements


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW, Role.EDITOR])
async def test_the_change_feed_is_planned_and_answered_alike(
    seeded: AsyncEngine, clock: FixedClock, role: Role
) -> None:
    """After edits of every kind, the feed (from the start, and after a cursor) is planned and equal to
    Strawberry's, its nodes read in one statement per type whatever the number of events."""
    before = await feed_cursor_now(seeded)
    await edit_everything(seeded, clock)
    pages = {}
    for since in (None, before):
        planner, got, statements = await planned_answer(
            seeded, VIEWERS[role], FEED, {"since": since, "first": 1000}
        )
        assert (planner.planned, planner.fallbacks) == (1, Counter())
        assert got is not None
        pages[since] = json.loads(got)["data"]["changes"]["events"]
        assert statements <= 12  # one statement per node type and relation, not one per event
    assert len(pages[None]) > 12
    recent = [(e["action"], e["typename"], (e["node"] or {}).get("title")) for e in pages[before]]
    assert {typename for action, typename, _ in recent if action == "UPSERT"} == set(NODE_TYPES)
    assert ("DELETE", "Source", None) in recent
    assert ("DELETE", "Article", None) in recent
    assert (("UPSERT", "Article", "Never public") in recent) is (role is not Role.READER)
    assert (("UPSERT", "Article", "Archived") in recent) is (role is not Role.READER)
    assert {e["contentHash"] is None for e in pages[before]} == {True, False}


@pytest.mark.parametrize(
    ("since", "first"), [("not-a-cursor", 10), (None, 0), (None, 1001)], ids=["cursor", "zero", "too many"]
)
async def test_bad_feed_arguments_fall_back_to_strawberry(
    seeded: AsyncEngine, since: str | None, first: int
) -> None:
    variables = {"since": since, "first": first}
    planner, got, _ = await planned_answer(seeded, VIEWERS[Role.READER], FEED, variables)
    assert got is None
    assert planner.fallbacks == Counter({"error: BAD_USER_INPUT": 1})


REVISIONS = """query ($id: ID!, $first: Int, $after: String) {
  article(id: $id) {
    id
    revisions(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { version createdAt actor title status snapshot } }
      nodes { version }
    }
  }
}"""
LEVEL_REVISIONS = """query ($after: String) {
  articles(first: 50) {
    nodes {
      id
      revisions(first: 2, after: $after) { totalCount pageInfo { hasNextPage } nodes { version title } }
    }
  }
}"""


async def revised(engine: AsyncEngine, clock: FixedClock, times: int) -> str:
    """The id of a new article updated `times` times: `times + 1` revisions."""
    async with client_as(engine, clock, await token_for(engine, Role.EDITOR)) as editor:
        article = await create(editor, title="Revised")
        for n in range(times):
            await data(editor, UPDATE, {"id": article["id"], "input": {"title": f"Revised {n + 1}"}})
    return str(article["id"])


async def test_revisions_are_planned_page_by_page_for_editors(seeded: AsyncEngine, clock: FixedClock) -> None:
    article_id = await revised(seeded, clock, 4)
    versions, after, more = [], None, True
    while more:
        variables = {"id": article_id, "first": 2, "after": after}
        planner, got, _ = await planned_answer(seeded, VIEWERS[Role.EDITOR], REVISIONS, variables)
        assert (planner.planned, planner.fallbacks) == (1, Counter())
        assert got is not None
        page = json.loads(got)["data"]["article"]["revisions"]
        assert page["totalCount"] == 5
        versions += [node["version"] for node in page["nodes"]]
        after, more = page["pageInfo"]["endCursor"], page["pageInfo"]["hasNextPage"]
    assert versions == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("cursor", [False, True], ids=["first page", "after a cursor"])
async def test_revisions_of_a_whole_level_cost_one_statement(
    seeded: AsyncEngine, clock: FixedClock, cursor: bool
) -> None:
    """Every article of a list, with its own page of revisions (the same `after` for each, as Strawberry
    applies it to each): planned, equal, and a constant number of statements."""
    article_id = await revised(seeded, clock, 3)
    after = revisions.NEWEST_FIRST.cursor(3, 0) if cursor else None
    planner, got, statements = await planned_answer(
        seeded, VIEWERS[Role.EDITOR], LEVEL_REVISIONS, {"after": after}
    )
    assert (planner.planned, planner.fallbacks) == (1, Counter())
    assert got is not None
    nodes = json.loads(got)["data"]["articles"]["nodes"]
    assert len(nodes) > 3
    assert statements == 3  # the page of articles, their revisions, and the revisions' totals
    mine = next(node["revisions"] for node in nodes if node["id"] == article_id)
    assert [r["version"] for r in mine["nodes"]] == ([2, 1] if cursor else [4, 3])
    assert (mine["totalCount"], mine["pageInfo"]["hasNextPage"]) == (4, not cursor)


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW])
async def test_revisions_are_forbidden_below_editor_as_on_strawberry(
    seeded: AsyncEngine, clock: FixedClock, role: Role
) -> None:
    planner = Planner(schema)
    query = '{ article(slug: "unesco-mission-nagorno-karabakh") { title revisions { totalCount } } }'
    expected, got = await both(seeded, planner, VIEWERS[role], query, {})
    assert got is None
    assert planner.fallbacks == Counter({"error: FORBIDDEN": 1})
    answer = json.loads(expected)
    assert answer["data"] == {"article": None}
    assert [error["extensions"]["code"] for error in answer["errors"]] == ["FORBIDDEN"]


ARGUMENTS = [
    ("query($s: String) { article(slug: $s) { id } }", [{"s": "a"}, {"s": None}, {}]),
    ('query($s: String = "d") { article(slug: $s) { id } }', [{}, {"s": "a"}, {"s": None}]),
    ('query($l: [String!]) { article(slug: "a", fallbackLanguages: $l) { id } }', [{"l": ["ru"]}, {}]),
    ("query($n: Int, $q: String) { authors(first: $n, search: $q) { totalCount } }", [{"n": 3}, {"q": None}]),
    ("query($b: Boolean) { categories(rootsOnly: $b) { totalCount } }", [{"b": True}, {"b": None}, {}]),
    ("query($id: ID!) { node(id: $id) { id } }", [{"id": "art_1"}]),
    ('query($id: ID = "art_2") { node(id: $id) { id } }', [{}, {"id": "art_1"}]),
]


def _field(query: str) -> tuple[OperationDefinitionNode, FieldNode, GraphQLField]:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    assert schema._schema.query_type is not None
    return operation, node, schema._schema.query_type.fields[node.name.value]


@pytest.mark.parametrize(("query", "cases"), ARGUMENTS, ids=[query for query, _ in ARGUMENTS])
def test_scalar_arguments_read_from_the_variables_are_graphql_cores(query: str, cases: list[Any]) -> None:
    """The planner reads built-in scalar arguments from the coerced variables itself: it gives what
    graphql-core's `get_argument_values` gives, defaults and nulls included, without asking it; and where
    graphql-core raises (a null where a value is required), it hands the request to it."""
    operation, node, definition = _field(query)
    asked: list[Any] = []

    def graphql_cores(variables: VariableValues | None) -> dict[str, Any]:
        asked.append(variables)
        return get_argument_values(definition, node, variables)

    read = _read_directly(definition, node, {name: name for name in definition.args}, graphql_cores)
    assert read is not None
    for values in cases:
        variables = get_variable_values(schema._schema, operation.variable_definitions or (), values)
        assert isinstance(variables, VariableValues), values
        assert read(variables) == get_argument_values(definition, node, variables), values
    assert asked == []


def test_a_null_where_an_argument_is_required_is_graphql_cores_error() -> None:
    _, node, definition = _field("query($id: ID) { node(id: $id) { id } }")
    read = _read_directly(definition, node, {"id": "id"}, lambda v: get_argument_values(definition, node, v))
    assert read is not None
    with pytest.raises(GraphQLError):
        read(VariableValues({}, {"id": None}))


def test_a_literal_list_holding_variables_is_left_to_graphql_core() -> None:
    listed = 'query($l: String!) { article(slug: "a", fallbackLanguages: [$l, "ru"]) { id } }'
    _, node, definition = _field(listed)
    names = {name: name for name in definition.args}
    assert _read_directly(definition, node, names, lambda v: {}) is None


LEAF_VARIABLES = "query($s: String!, $n: Int = 20, $b: Boolean, $id: ID, $l: [String!], $k: SourceKind) {a}"
LEAF_VALUES: list[dict[str, Any]] = [
    {"s": "x"},
    {"s": "x", "n": None, "b": False, "id": 7, "l": ["en", "ru"], "k": "AGENCY"},
    {"s": "x", "l": "en"},  # a list of one
    {"s": "x", "n": 2**31},
    {"s": "x", "n": True},
    {"s": "x", "n": 1.5},
    {"s": "x", "k": "NOPE"},
    {"s": "x", "l": [None]},
    {"s": None},
    {"s": ["x"]},
    {},
]


@pytest.mark.parametrize("values", LEAF_VALUES, ids=[json.dumps(values) for values in LEAF_VALUES])
def test_leaf_variables_are_coerced_as_graphql_core_coerces_them(values: dict[str, Any]) -> None:
    """The planner coerces scalar and enum variables with their types worked out once: the same values and
    sources as graphql-core's `get_variable_values`, and nothing (graphql-core then says why) where it
    refuses them."""
    operation = parse(LEAF_VARIABLES, no_location=True).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    definitions = operation.variable_definitions or ()
    coerce = _leaves(schema._schema, definitions)
    assert coerce is not None
    expected, got = get_variable_values(schema._schema, definitions, values), coerce(values)
    if not isinstance(expected, VariableValues):
        assert got is None
        return
    assert got is not None
    assert got.coerced == expected.coerced
    assert {name: (source.signature.name, source.value) for name, source in got.sources.items()} == {
        name: (source.signature.name, source.value) for name, source in expected.sources.items()
    }


def test_a_filter_variable_is_coerced_by_graphql_core() -> None:
    operation = parse("query($f: ArticleFilter, $s: String) {a}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    assert _leaves(schema._schema, operation.variable_definitions or ()) is None
