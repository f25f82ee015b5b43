"""The HTTP edge: GraphQL over HTTP status codes, masked failures, health, and the offline playground."""

from __future__ import annotations

import gc
import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms import collector
from cms.app import create_app
from cms.clock import FixedClock
from cms.content import articles
from cms.delivery.pipeline import GraphQLEndpoint
from cms.settings import Settings
from tests.conftest import ROOT, checked_app, data, error_codes, gql


async def test_malformed_json_is_a_400_with_a_message(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Unable to parse request body as JSON"


@pytest.mark.parametrize(
    ("query", "code"),
    [("{ articles(first: ", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED")],
)
async def test_malformed_or_invalid_graphql_is_a_400(
    engine: AsyncEngine, client: httpx.AsyncClient, query: str, code: str
) -> None:
    """For a client that accepts application/graphql-response+json; a plain JSON one gets 200
    (tests/test_caching.py)."""
    accept = {"accept": "application/graphql-response+json"}
    response = await client.post("/graphql", json={"query": query}, headers=accept)
    assert response.status_code == 400
    assert error_codes(response.json()) == [code]


async def test_a_request_without_a_query_is_a_400(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"variables": {}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_reads_work_over_get_for_caching(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ articles(first: 1) { totalCount } }"})
    assert response.status_code == 200
    assert response.json()["data"]["articles"]["totalCount"] == 11


async def test_unknown_slugs_and_ids_give_null(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    query = """{ a: article(slug: "no-such") { id } b: author(slug: "nobody") { id }
        c: category(slug: "x") { id } d: source(slug: "y") { id }
        e: node(id: "art_nothing") { id } f: node(id: "garbage") { id }
        g: article(id: "cat_123") { id } }"""
    assert set((await data(client, query)).values()) == {None}


@pytest.mark.parametrize(
    "query",
    [
        "{ article { id } }",
        '{ article(id: "x", slug: "y") { id } }',
        "{ author { id } }",
        "{ source { id } }",
    ],
)
async def test_lookups_need_exactly_one_of_id_or_slug(
    seeded: AsyncEngine, client: httpx.AsyncClient, query: str
) -> None:
    assert error_codes(await gql(client, query)) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("planner", ["on", "off"])
async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    seeded: AsyncEngine,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    planner: str,
) -> None:
    def broken(**_: object) -> str:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(articles, "page_statement", broken)
    with caplog.at_level(logging.ERROR):
        async with checked_app(seeded, clock, planner=planner) as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ articles { nodes { slug } } }"},
                headers={"x-request-id": "req-42"},
            )
    body = response.json()
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "secret internals" not in response.text
    assert any("req-42" in record.getMessage() for record in caplog.records)


async def test_every_request_gets_an_id_of_its_own(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    """32 hex digits, never the same twice in a process, nor across processes (the first 16 are drawn for
    the process)."""
    ids = [(await client.get("/healthz")).headers["x-request-id"] for _ in range(3)]
    ids.append(
        (await client.post("/graphql", json={"query": "{ articles { totalCount } }"})).headers["x-request-id"]
    )
    assert len(set(ids)) == 4
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    other = create_app(Settings(webhooks=False), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://test") as second:
        theirs = (await second.get("/healthz")).headers["x-request-id"]
    assert theirs[:16] != ids[0][:16]


async def test_mutations_need_a_token(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    body = await gql(client, 'mutation { createArticle(input: {title: "x"}) { userErrors { code } } }')
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_viewer_is_the_public_reader(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    assert await data(client, "{ viewer { role tokenName } }") == {
        "viewer": {"role": "READER", "tokenName": None}
    }


async def test_healthz_reports_the_database(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_reports_an_unreachable_database(tmp_path: object) -> None:
    from cms.db import create_engine

    engine = create_engine("sqlite+aiosqlite:////nonexistent-folder/x.db")
    app = create_app(Settings(), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/healthz")
    await engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_graphiql_is_served_with_local_assets_and_the_examples(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Newsroom CMS" in page.text
    assert "https://" not in page.text
    assert "http://" not in page.text
    assert "query FrontPage" in page.text
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ):
        assert f"/graphiql/static/{asset}" in page.text
        response = await client.get(f"/graphiql/static/{asset}")
        assert response.status_code == 200
        assert len(response.content) > 5000


REQUESTS = [
    {"query": (ROOT / "schema" / "examples" / f"{name}.graphql").read_text(), "variables": variables}
    for name, variables in (
        ("front_page", {"first": 3}),
        ("article_page", {"slug": "unesco-mission-nagorno-karabakh", "language": "en"}),
        ("category_page", {"slug": "world", "first": 2}),
    )
] + [
    {"query": "{ articles(first: 0) { totalCount } }"},  # an error: Strawberry answers
    {"query": "{ viewer { role } }", "operationName": "Missing"},
    {"query": "query A { viewer { role } } query B { articles { totalCount } }", "operationName": "B"},
    {"query": "{ viewer { role } }", "variables": "not an object"},
    {"query": 'mutation { deleteArticle(id: "x") { userErrors { code } } }'},
]


@pytest.mark.parametrize("body", REQUESTS)
async def test_planned_answers_are_the_same_http_responses_as_strawberrys(
    seeded: AsyncEngine, clock: FixedClock, body: dict[str, object]
) -> None:
    """The planner answers POSTed queries before Strawberry's view: status, type and bytes must not tell."""
    responses = []
    for planner in ("on", "off"):
        async with checked_app(seeded, clock, planner=planner) as client:
            responses.append(await client.post("/graphql", json=body))
    planned, resolved = responses
    assert (planned.status_code, planned.headers["content-type"]) == (
        resolved.status_code,
        resolved.headers["content-type"],
    )
    assert planned.content == resolved.content
    if body in REQUESTS[:3]:  # the example pages find what they look for
        assert all(planned.json()["data"].values())


async def test_the_server_freezes_what_starting_made_and_sets_the_collector(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """At Python's settings a walk would set off a full collection every few pages (cms.collector)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(700)  # not ours, whatever an earlier test's app left
    gc.unfreeze()
    try:
        app = create_app(
            Settings(webhooks=False), engine=engine, clock=clock, examples=ROOT / "schema/examples"
        )
        async with app.router.lifespan_context(app):
            assert gc.get_threshold()[0] == collector.YOUNG_OBJECTS
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*thresholds)


async def test_other_methods_and_get_mutations_are_405s_that_say_what_is_allowed(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    put = await client.put("/graphql", json={"query": "{ viewer { role } }"})
    assert (put.status_code, put.headers["allow"]) == (405, "GET, HEAD, POST")
    assert error_codes(put.json()) == ["METHOD_NOT_ALLOWED"]
    mutation = await client.get(
        "/graphql", params={"query": 'mutation { deleteArticle(id: "x") { deletedId } }'}
    )
    assert (mutation.status_code, mutation.headers["allow"]) == (405, "POST")
    assert error_codes(mutation.json()) == ["METHOD_NOT_ALLOWED"]


async def test_a_failure_of_the_pipeline_itself_is_a_json_500_without_internals(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:

    async def broken(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(GraphQLEndpoint, "answer", broken)
    response = await client.post("/graphql", json={"query": "{ viewer { role } }"})
    assert response.status_code == 500
    assert error_codes(response.json()) == ["INTERNAL_SERVER_ERROR"]
    assert "secret" not in response.text
    assert "secret internals" in caplog.text
