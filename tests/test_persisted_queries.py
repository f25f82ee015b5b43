"""Persisted documents over HTTP (delivery.md): Apollo's automatic persisted queries, and trusted documents
for a site that runs only what its build declared. Apollo Client's own link runs in tests/test_clients.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.app import create_app
from cms.clock import FixedClock
from cms.content import persisted
from cms.content.roles import Role
from cms.settings import Settings
from tests.conftest import NOW, ROOT, error_codes, token_for

QUERY = "query Three { articles(first: 3) { nodes { slug } } }"
HASH = persisted.digest(QUERY)


def _apq(hash_: str = HASH) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hash_}}


@asynccontextmanager
async def _app(
    engine: AsyncEngine, clock: FixedClock, documents: str = "open", token: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(webhooks=False, documents=documents, planner="check")
    app = create_app(settings, engine=engine, clock=clock, examples=ROOT / "schema" / "examples")
    headers = {"authorization": f"Bearer {token}"} if token else None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as http:
        yield http
    assert app.state.graphql.mismatches == []


async def _hash_only(http: httpx.AsyncClient, hash_: str = HASH) -> httpx.Response:
    return await http.get("/graphql", params={"extensions": json.dumps(_apq(hash_))})


async def test_an_unknown_hash_asks_for_the_query_then_every_process_knows_it(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    async with _app(seeded, clock) as first:
        unknown = await _hash_only(first)
        assert unknown.status_code == 200
        assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert error_codes(unknown.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert unknown.headers["cache-control"] == "no-store"
        sent = await first.post("/graphql", json={"query": QUERY, "extensions": _apq()})
        assert len(sent.json()["data"]["articles"]["nodes"]) == 3
    async with _app(seeded, clock) as restarted:
        known = await _hash_only(restarted)
    assert known.status_code == 200
    assert known.json() == sent.json()
    assert known.headers["cache-control"].startswith("public")
    assert (await persisted.find(seeded, HASH)) == persisted.Stored(QUERY, trusted=False)


async def test_a_hash_that_is_not_the_querys_is_a_400_and_stores_nothing(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    wrong = persisted.digest("{ __typename }")
    async with _app(seeded, clock) as http:
        response = await http.post("/graphql", json={"query": QUERY, "extensions": _apq(wrong)})
        assert response.status_code == 400
        assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert await persisted.find(seeded, wrong) is None


async def test_an_invalid_document_is_never_stored(seeded: AsyncEngine, clock: FixedClock) -> None:
    bad = "{ nope }"
    async with _app(seeded, clock) as http:
        response = await http.post("/graphql", json={"query": bad, "extensions": _apq(persisted.digest(bad))})
        assert error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await persisted.find(seeded, persisted.digest(bad)) is None


async def test_a_malformed_persisted_query_is_a_400(seeded: AsyncEngine, clock: FixedClock) -> None:
    async with _app(seeded, clock) as http:
        for extensions in ({"persistedQuery": {"version": 2, "sha256Hash": HASH}}, {"persistedQuery": "x"}):
            response = await http.post("/graphql", json={"query": QUERY, "extensions": extensions})
            assert (response.status_code, error_codes(response.json())) == (400, ["BAD_REQUEST"])


async def test_trusted_mode_runs_only_trusted_documents_below_editor(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    await persisted.store(seeded, HASH, QUERY, trusted=True, now=NOW)
    other = "{ articles(first: 1) { totalCount } }"
    async with _app(seeded, clock, documents="trusted") as public:
        assert (await _hash_only(public)).json()["data"]["articles"]["nodes"]
        by_text = await public.post("/graphql", json={"query": QUERY})
        assert by_text.json()["data"]["articles"]["nodes"]
        for body in ({"query": other}, {"query": other, "extensions": _apq(persisted.digest(other))}):
            refused = await public.post("/graphql", json=body)
            assert (refused.status_code, error_codes(refused.json())) == (
                400,
                ["PERSISTED_QUERY_NOT_ALLOWED"],
            )
    assert await persisted.find(seeded, persisted.digest(other)) is None
    editor = await token_for(seeded, Role.EDITOR)
    async with _app(seeded, clock, documents="trusted", token=editor) as graphiql:
        assert (await graphiql.post("/graphql", json={"query": other})).json()["data"]["articles"][
            "totalCount"
        ]


async def test_trusted_mode_refuses_a_document_only_apq_stored(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    await persisted.store(seeded, HASH, QUERY, trusted=False, now=NOW)
    async with _app(seeded, clock, documents="trusted") as public:
        refused = await _hash_only(public)
    assert (refused.status_code, error_codes(refused.json())) == (400, ["PERSISTED_QUERY_NOT_ALLOWED"])
