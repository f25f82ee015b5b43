"""Guards of the public endpoint (delivery.md, issue 15): what a hostile caller sends is refused before it
costs anything, with a 4xx and a JSON body carrying `extensions.code`, never a 500."""

from __future__ import annotations

import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from cms.app import create_app
from cms.clock import FixedClock
from cms.content.roles import Role
from cms.db import StatementCounter
from cms.delivery.ratelimit import RateLimiter, SharedCounts, shared_counts
from cms.models import ApiToken
from cms.settings import Settings
from tests.conftest import NOW, ROOT, error_codes, token_for
from tests.live import live_cms

GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}
HUGE = """{ articles(first: 100) { nodes { authors { articles(first: 100) { nodes { authors {
  articles(first: 100) { nodes { slug body(format: TEXT) } } } } } } } } }"""
FRONT = (ROOT / "schema" / "examples" / "front_page.graphql").read_text()


@asynccontextmanager
async def _app(
    engine: AsyncEngine, clock: FixedClock, token: str | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(webhooks=False, planner="check", **settings),
        engine=engine,
        clock=clock,
        examples=ROOT / "schema" / "examples",
    )
    headers = {"authorization": f"Bearer {token}"} if token else None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
        yield http
    assert app.state.graphql.mismatches == []


@pytest.fixture
async def public(seeded: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    async with _app(seeded, clock) as http:
        yield http


async def test_a_query_over_the_cost_limit_runs_nothing(
    seeded: AsyncEngine, public: httpx.AsyncClient
) -> None:
    with StatementCounter(seeded) as counter:
        response = await public.post("/graphql", json={"query": HUGE}, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"]["limit"] == 10_000
    assert error["extensions"]["cost"]["requested"] > 1_000_000
    assert counter.count == 0


async def test_lists_are_sized_by_their_variables(public: httpx.AsyncClient) -> None:
    query = """query ($n: Int) {
      articles(first: $n) { nodes { authors { articles(first: $n) { nodes { slug } } } } } }"""
    small = await public.post("/graphql", json={"query": query, "variables": {"n": 5}})
    assert "errors" not in small.json()
    large = await public.post("/graphql", json={"query": query, "variables": {"n": 100}})
    assert error_codes(large.json()) == ["QUERY_TOO_COMPLEX"]


async def test_the_front_page_costs_a_few_hundred_and_tokens_may_ask_more(
    seeded: AsyncEngine, clock: FixedClock, public: httpx.AsyncClient
) -> None:
    front = await public.post("/graphql", json={"query": FRONT, "variables": {"first": 20}})
    assert "errors" not in front.json()
    tight = await _post_cost(seeded, clock, FRONT, {"first": 20}, max_cost=100)
    assert 100 < tight["extensions"]["cost"]["requested"] < 1_000
    editor = await token_for(seeded, Role.EDITOR)
    medium = "{ articles(first: 100) { nodes { authors { articles(first: 100) { nodes { slug } } } } } }"
    async with _app(seeded, clock, token=editor) as http:
        assert "errors" not in (await http.post("/graphql", json={"query": medium})).json()
    refused = await public.post("/graphql", json={"query": medium})
    assert error_codes(refused.json()) == ["QUERY_TOO_COMPLEX"]


async def _post_cost(
    engine: AsyncEngine, clock: FixedClock, query: str, variables: dict[str, Any], **settings: Any
) -> dict[str, Any]:
    async with _app(engine, clock, **settings) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    (error,) = response.json()["errors"]
    return dict(error)


@pytest.mark.parametrize(
    "body", [b"null", b"123", b'"query"', b"[]", b'{"query": "{ a }", "operationName": {}}']
)
async def test_a_body_that_is_not_a_request_object_is_a_400(public: httpx.AsyncClient, body: bytes) -> None:
    response = await public.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]


async def test_a_body_over_the_limit_is_a_413(seeded: AsyncEngine, clock: FixedClock) -> None:
    padding = " " * 2048
    async with _app(seeded, clock, max_body_kib=1) as http:
        response = await http.post("/graphql", json={"query": "{ viewer { role } }" + padding})
        assert response.status_code == 413
        assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            yield b'{"query": "{ viewer { role } }'
            yield padding.encode()
            yield b'"}'

        streamed = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        {"query": "query ($s: String!) { article(slug: $s) { id } }", "variables": {"s": "a\x00b"}},
        {"query": '{ article(slug: "a\\u0000b") { id } }'},
        {"query": "{ articles(filter: {search: $q}) { totalCount } }".replace("$q", '"x\\u0000"')},
    ],
)
async def test_nul_in_any_string_is_bad_user_input(public: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await public.post("/graphql", json=body, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]


async def test_introspection_can_be_turned_off_for_callers_below_editor(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    introspect = {"query": "{ __schema { types { name } } }"}
    typo = {"query": '{ articel(slug: "x") { id } }'}
    async with _app(seeded, clock, introspection=False) as closed:
        refused = (await closed.post("/graphql", json=introspect)).json()
        assert set(error_codes(refused)) == {"INTROSPECTION_DISABLED"}
        (error,) = (await closed.post("/graphql", json=typo)).json()["errors"]
        assert "Did you mean" not in error["message"]
        assert "articel" in error["message"]
    editor = await token_for(seeded, Role.EDITOR)
    async with _app(seeded, clock, token=editor, introspection=False) as graphiql:
        assert (await graphiql.post("/graphql", json=introspect)).json()["data"]["__schema"]["types"]
    async with _app(seeded, clock) as open_:
        assert (await open_.post("/graphql", json=introspect)).json()["data"]["__schema"]["types"]
        (error,) = (await open_.post("/graphql", json=typo)).json()["errors"]
        assert "Did you mean 'article' or 'articles'?" in error["message"]


async def test_a_field_asked_hundreds_of_times_is_refused_before_validation(
    public: httpx.AsyncClient,
) -> None:
    query = "{ articles { nodes { " + "title " * 800 + "} } }"
    response = await public.post("/graphql", json={"query": query})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "'title' is asked 800 times" in error["message"]
    fragments = (
        "{ articles { nodes { ...A ...B } } } fragment A on Article { title } fragment B on Article { title }"
    )
    assert "errors" not in (await public.post("/graphql", json={"query": fragments})).json()
    kinds = " ".join(f"... on {kind} {{ slug }}" for kind in ("Article", "Author", "Category", "Source"))
    polymorphic = f'{{ node(id: "art_{"0" * 32}") {{ id {kinds} }} }}'  # one slug per type: no repeat
    assert "errors" not in (await public.post("/graphql", json={"query": polymorphic})).json()


async def test_an_unknown_fragment_is_a_validation_error(public: httpx.AsyncClient) -> None:
    response = await public.post(
        "/graphql", json={"query": "{ articles { ...Nope } }"}, headers=GRAPHQL_RESPONSE
    )
    assert response.status_code == 400
    assert error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]


def _nested(levels: int) -> str:
    """A query of `levels` fields, each inside the one before (the leaf counts)."""
    inner = "slug"
    for _ in range(levels - 2):
        inner = f"parent {{ {inner} }}"
    return f'{{ category(slug: "culture") {{ {inner} }} }}'


async def test_the_depth_limit_means_what_it_says(public: httpx.AsyncClient) -> None:
    assert "errors" not in (await public.post("/graphql", json={"query": _nested(12)})).json()
    deep = (await public.post("/graphql", json={"query": _nested(13)})).json()
    assert error_codes(deep) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "maximum operation depth" in deep["errors"][0]["message"]


async def test_a_refused_token_says_nothing_of_why(seeded: AsyncEngine, clock: FixedClock) -> None:
    revoked, expired = (
        await token_for(seeded, Role.READER, "revoked"),
        await token_for(seeded, Role.READER, "old"),
    )
    named = col(ApiToken.name)
    async with seeded.begin() as connection:
        await connection.execute(update(ApiToken).where(named == "revoked").values(revoked_at=NOW))
        await connection.execute(update(ApiToken).where(named == "old").values(expires_at=NOW - timedelta(1)))
    messages = set()
    for token in (revoked, expired, "cms_" + "0" * 40):
        async with _app(seeded, clock, token=token) as http:
            response = await http.post("/graphql", json={"query": "{ viewer { role } }"})
        assert response.status_code == 401
        messages.add(response.json()["errors"][0]["message"])
    assert len(messages) == 1


async def test_a_caller_over_the_rate_limit_is_told_when_to_come_back(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    query = {"query": "{ viewer { role } }"}
    async with _app(seeded, clock, rate_limit="3/minute", trusted_proxies=("127.0.0.0/8",)) as http:
        answers = [await http.post("/graphql", json=query) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["ratelimit-policy"] == '"default";q=3;w=60'
        assert answers[2].headers["ratelimit"].startswith('"default";r=0;')
        refused = answers[3]
        assert error_codes(refused.json()) == ["RATE_LIMITED"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        behind = {"x-forwarded-for": "203.0.113.9"}  # another reader, behind the trusted proxy
        assert (await http.post("/graphql", json=query, headers=behind)).status_code == 200
        token = await token_for(seeded, Role.READER)
        own = {"authorization": f"Bearer {token}"}  # a token has its own count
        assert (await http.post("/graphql", json=query, headers=own)).status_code == 200
    async with _app(seeded, clock, rate_limit="3/minute") as http:
        spoofed = [
            await http.post("/graphql", json=query, headers={"x-forwarded-for": f"198.51.100.{n}"})
            for n in range(4)
        ]
        assert spoofed[-1].status_code == 429, "X-Forwarded-For from an untrusted peer is not believed"


ADDS = 20_000
"""Requests each of three processes counts at once: enough for them to overlap."""


def _scope(address: str) -> dict[str, Any]:
    return {"type": "http", "headers": [], "client": (address, 40000)}


def _count(path: str, caller: str, window: int, start: Any) -> None:
    """`ADDS` requests of `caller`, counted in the file, once every process is ready (`start`, a barrier)."""
    counts = SharedCounts(path)
    start.wait()
    for _ in range(ADDS):
        counts.add(caller, window)


def test_processes_count_a_caller_together_in_the_shared_file() -> None:
    """The workers of one `cms serve` share a caller's count (each maps the file `shared_counts` makes):
    the limit is the caller's, whichever worker answers; a window starts afresh; callers count apart; and
    two processes adding at once lose no request."""
    with shared_counts() as path:
        workers = [RateLimiter("3/minute", (), SharedCounts(path)) for _ in range(2)]
        reader, other = _scope("192.0.2.1"), _scope("192.0.2.2")
        allowed = [workers[n % 2].decide(reader, 120.0 + n).allowed for n in range(5)]
        assert allowed == [True, True, True, False, False]
        assert workers[1].decide(other, 125.0).allowed, "another caller has its own count"
        assert workers[0].decide(reader, 180.0).allowed, "the next minute starts afresh"
        spawned = multiprocessing.get_context("spawn")
        start = spawned.Barrier(3)
        adders = [spawned.Process(target=_count, args=(path, "c", 9, start)) for _ in range(2)]
        for adder in adders:
            adder.start()
        _count(path, "c", 9, start)
        for adder in adders:
            adder.join(timeout=60)
            assert adder.exitcode == 0
        assert SharedCounts(path).add("c", 9) == 3 * ADDS + 1
    assert not Path(path).exists()


def test_cms_serve_believes_no_forwarded_address_but_its_trusted_proxies(
    seeded: AsyncEngine, tmp_path: Path
) -> None:
    """Served as `cms serve` serves (uvicorn would otherwise take X-Forwarded-For from any loopback peer as
    the client): a reader on loopback cannot change who it is by naming another address."""
    query = {"query": "{ viewer { role } }"}
    with live_cms(seeded, tmp_path, CMS_RATE_LIMIT="3/minute") as base, httpx.Client(base_url=base) as http:
        spoofed = [
            http.post("/graphql", json=query, headers={"x-forwarded-for": f"198.51.100.{n}"}).status_code
            for n in range(4)
        ]
    assert spoofed == [200, 200, 200, 429]


async def test_a_refused_request_carries_the_rate_limit_headers_too(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    """It was counted: a client that sends malformed requests sees its allowance go down as well."""
    async with _app(seeded, clock, rate_limit="3/minute") as http:
        malformed = await http.post(
            "/graphql", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert malformed.status_code == 400
    assert malformed.headers["ratelimit"].startswith('"default";r=2;')


@pytest.mark.parametrize(
    "given",
    ["2026-11-27T12:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-12:00", "soon"],
)
async def test_a_datetime_that_names_no_instant_in_utc_is_bad_user_input(
    public: httpx.AsyncClient, given: str
) -> None:
    """Found by the fuzz suite: a time with no zone, or one outside the years 1-9999 once in UTC, was an
    internal error in filters and writes."""
    in_variables = "query ($at: DateTime) { articles(filter: {publishedAt: {lt: $at}}) { totalCount } }"
    assert error_codes(await _body(public, in_variables, {"at": given})) == ["BAD_USER_INPUT"]
    literal = f'{{ articles(filter: {{publishedAt: {{gt: "{given}"}}}}) {{ totalCount }} }}'
    assert error_codes(await _body(public, literal, {})) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_variables_that_do_not_fit_their_types_are_coded(public: httpx.AsyncClient) -> None:
    query = "query ($n: Int) { articles(first: $n) { totalCount } }"
    assert error_codes(await _body(public, query, {"n": "abc"})) == ["BAD_USER_INPUT"]


async def _body(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body
