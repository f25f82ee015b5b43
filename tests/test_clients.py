"""Real Node clients against `cms serve` (clients/, which .ci/peers installs with npm ci): graphql-http's
GraphQL-over-HTTP audit and Apollo Client 4's automatic persisted queries, as a site's code sends them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import IN_CI, ROOT
from tests.live import live_cms, required

CLIENTS = ROOT / "clients"
TIMEOUT = 120  # seconds for one script: the audit sends about sixty requests


def _node() -> str:
    """Node and the clients' packages: a failure in CI, else a skip (checked before the server starts)."""
    node = required("node")
    if not (CLIENTS / "node_modules").is_dir():
        message = "clients/node_modules is missing (.ci/peers runs npm ci --prefix clients)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return node


async def _run(node: str, script: str, url: str) -> Any:
    """The JSON that clients/`script` prints for `url`; the scripts always exit 0 and leave judging to us."""
    done = await asyncio.to_thread(
        subprocess.run,
        [node, script, url],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stderr}"
    return json.loads(done.stdout)


async def test_graphql_http_audit(engine: AsyncEngine, tmp_path: Path) -> None:
    """delivery.md: graphql-http's auditServer passes with no error, warning or notice."""
    node = _node()
    with live_cms(engine, tmp_path) as base:
        results = await _run(node, "audit.mjs", f"{base}/graphql")
    assert results, "the audit ran nothing"
    failed = [r for r in results if r["status"] != "ok"]
    assert not failed, "\n".join(f"{r['status']} {r['id']} {r['name']}: {r['reason']}" for r in failed)


def _wire(request: dict[str, Any]) -> dict[str, Any]:
    """What one recorded request sent and got back, in the terms of Apollo's protocol."""
    return {
        "method": request["method"],
        "query": request["has_query"],
        "hash": (request["persisted_query"] or {}).get("sha256Hash"),
        "status": request.get("status"),
        "data": request.get("has_data"),
        "errors": [f"{e['message']} ({e['code']})" for e in request.get("errors", [])],
    }


async def test_apollo_persisted_queries(seeded: AsyncEngine, tmp_path: Path) -> None:
    """Apollo's protocol: a GET with the hash alone is PersistedQueryNotFound, the retry with the query stores
    it, and from then on the hash alone, over GET, is answered with the same data as a plain POST."""
    node = _node()
    with live_cms(seeded, tmp_path) as base:
        seen = await _run(node, "apq.mjs", f"{base}/graphql")
    trace = json.dumps(seen["requests"], indent=1)
    wire = {
        p: [_wire(r) for r in seen["requests"] if r["phase"] == p]
        for p in ("apq_first", "apq_second", "plain")
    }
    digest = wire["apq_first"][0]["hash"]
    assert digest, trace

    unknown, *retries = wire["apq_first"]
    not_found = ["PersistedQueryNotFound (PERSISTED_QUERY_NOT_FOUND)"]
    assert unknown == {
        "method": "GET",
        "query": False,
        "hash": digest,
        "status": 200,
        "data": False,
        "errors": not_found,
    }, trace
    # The retry carries the query with the hash; Apollo sends it by POST, though GET would be as good.
    assert [{**r, "method": "any"} for r in retries] == [
        {"method": "any", "query": True, "hash": digest, "status": 200, "data": True, "errors": []}
    ], trace
    assert wire["apq_second"] == [
        {"method": "GET", "query": False, "hash": digest, "status": 200, "data": True, "errors": []}
    ], trace
    assert wire["plain"] == [
        {"method": "POST", "query": True, "hash": None, "status": 200, "data": True, "errors": []}
    ], trace

    assert len(seen["data_plain"]["articles"]["nodes"]) == 3, seen["data_plain"]
    assert seen["data_apq_first"] == seen["data_apq_second"] == seen["data_plain"], seen
