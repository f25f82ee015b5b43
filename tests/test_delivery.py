"""The delivery edge, over HTTP: CORS for browsers on other origins (preflight and answers), HEAD wherever
GET works, and compressed answers for clients that accept them."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import brotli
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.app import create_app
from cms.clock import FixedClock
from cms.delivery import pipeline
from cms.edge import COMPRESSED_FROM, compressed
from cms.settings import Settings
from tests.conftest import ROOT

FRONT = "{ articles(first: 20) { nodes { slug title excerpt } } }"
SMALL = "{ viewer { role } }"
SITE = "https://news.example"


@pytest.fixture
async def edge(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app with one listed origin."""
    settings = Settings(webhooks=False, cors_origins=(SITE, "http://localhost:4321"))
    app = create_app(settings, engine=engine, clock=clock, examples=ROOT / "schema" / "examples")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


def _preflight(origin: str, headers: str = "content-type, authorization") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": headers,
    }


async def test_a_listed_origin_gets_a_204_preflight_with_what_apollo_sends(edge: httpx.AsyncClient) -> None:
    answer = await edge.options(
        "/graphql", headers=_preflight(SITE, "content-type, apollographql-client-name")
    )
    assert (answer.status_code, answer.content) == (204, b"")
    assert answer.headers["access-control-allow-origin"] == SITE
    assert set(answer.headers["access-control-allow-methods"].split(", ")) >= {"GET", "POST"}
    allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert allowed >= {"content-type", "authorization", "x-request-id", "apollographql-client-name"}
    assert int(answer.headers["access-control-max-age"]) > 0
    assert "origin" in answer.headers["vary"].lower()


async def test_an_origin_not_listed_gets_no_allow_origin(edge: httpx.AsyncClient) -> None:
    preflight = await edge.options("/graphql", headers=_preflight("https://elsewhere.example"))
    assert "access-control-allow-origin" not in preflight.headers
    answer = await edge.post(
        "/graphql", json={"query": SMALL}, headers={"origin": "https://elsewhere.example"}
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


async def test_an_answer_to_a_listed_origin_exposes_etag_and_request_id(edge: httpx.AsyncClient) -> None:
    answer = await edge.post("/graphql", json={"query": SMALL}, headers={"origin": SITE})
    assert answer.headers["access-control-allow-origin"] == SITE
    exposed = {h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert exposed >= {"etag", "x-request-id", "ratelimit", "ratelimit-policy", "retry-after"}
    assert "origin" in answer.headers["vary"].lower()


async def test_any_origin_by_default(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    """The default `*`: tokens are headers, never cookies, so an origin gains no ambient authority."""
    preflight = await client.options("/graphql", headers=_preflight("http://localhost:5173"))
    assert (preflight.status_code, preflight.headers["access-control-allow-origin"]) == (204, "*")
    answer = await client.get(
        "/graphql", params={"query": SMALL}, headers={"origin": "http://localhost:5173"}
    )
    assert answer.headers["access-control-allow-origin"] == "*"


def test_an_origin_setting_must_name_origins() -> None:
    with pytest.raises(ValueError, match="CMS_CORS_ORIGINS"):
        Settings(cors_origins=("news.example/path",))
    assert Settings.from_env({"CMS_CORS_ORIGINS": f"{SITE}, http://localhost:4321"}).cors_origins == (
        SITE,
        "http://localhost:4321",
    )


async def test_head_answers_as_get_does_with_no_body(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    got = await client.get("/graphql", params={"query": FRONT})
    head = await client.head("/graphql", params={"query": FRONT})
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]


@pytest.mark.parametrize(
    ("accepted", "coding"),
    [("gzip", "gzip"), ("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip"), ("br", "br")],
)
async def test_large_answers_are_compressed_for_clients_that_accept_it(
    seeded: AsyncEngine, client: httpx.AsyncClient, accepted: str, coding: str
) -> None:
    plain = await client.post("/graphql", json={"query": FRONT}, headers={"accept-encoding": "identity"})
    assert len(plain.content) >= COMPRESSED_FROM
    assert "content-encoding" not in plain.headers
    request = client.build_request(
        "POST", "/graphql", json={"query": FRONT}, headers={"accept-encoding": accepted}
    )
    raw = await client.send(request, stream=True)
    wire = b"".join([chunk async for chunk in raw.aiter_raw()])  # as sent, not decoded
    assert raw.headers["content-encoding"] == coding
    assert raw.headers["vary"].count("Accept-Encoding") == 1
    assert int(raw.headers["content-length"]) == len(wire) < len(plain.content)
    body = brotli.decompress(wire) if coding == "br" else gzip.decompress(wire)
    assert json.loads(body) == plain.json()


async def test_a_kept_answer_is_compressed_once_per_coding(
    seeded: AsyncEngine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Browsers always ask for br or gzip: a hit sends the body compressed when it was first asked for,
    weighed with the answer it belongs to."""
    made: list[str] = []

    def counted(body: bytes, coding: str) -> bytes:
        made.append(coding)
        return compressed(body, coding)

    monkeypatch.setattr(pipeline, "compressed", counted)
    app = create_app(
        Settings(webhooks=False), engine=seeded, clock=clock, examples=ROOT / "schema" / "examples"
    )
    answers = app.state.graphql.answers
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        plain = await client.post("/graphql", json={"query": FRONT}, headers={"accept-encoding": "identity"})
        weight = answers.weight
        for coding in ("br", "br", "gzip", "br", "gzip"):
            request = client.build_request(
                "POST", "/graphql", json={"query": FRONT}, headers={"accept-encoding": coding}
            )
            raw = await client.send(request, stream=True)
            wire = b"".join([chunk async for chunk in raw.aiter_raw()])
            assert raw.headers["content-encoding"] == coding
            assert (brotli.decompress(wire) if coding == "br" else gzip.decompress(wire)) == plain.content
    assert made == ["br", "gzip"]
    assert answers.weight > weight


async def test_small_answers_are_not_compressed(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    answer = await client.post("/graphql", json={"query": SMALL}, headers={"accept-encoding": "gzip"})
    assert len(answer.content) < COMPRESSED_FROM
    assert "content-encoding" not in answer.headers
