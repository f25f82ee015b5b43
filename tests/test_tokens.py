"""API tokens over HTTP: who a token speaks for, and every way a token is refused on the very next request."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col
from typer.testing import CliRunner, Result

from cms.cli import FIRST_ADMIN_HINT, app
from cms.clock import FixedClock
from cms.content import tokens
from cms.content.roles import Role
from cms.db import StatementCounter, create_engine
from cms.models import ApiToken
from cms.settings import async_database_url
from tests.conftest import NOW, client_as, data, error_codes, gql, token_for

VIEWER = "{ viewer { role tokenName } }"


@pytest.mark.parametrize("role", list(Role))
async def test_viewer_reports_the_role_and_name_of_the_token(
    engine: AsyncEngine, clock: FixedClock, role: Role
) -> None:
    token = await token_for(engine, role, name=f"desk {role.value}")
    async with client_as(engine, clock, token) as http:
        assert (await data(http, VIEWER))["viewer"] == {"role": role.value, "tokenName": f"desk {role.value}"}


async def test_no_token_is_the_public_reader(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    assert (await data(client, VIEWER))["viewer"] == {"role": "READER", "tokenName": None}


async def test_the_role_fixtures_speak_for_their_roles(
    engine: AsyncEngine, preview: httpx.AsyncClient, editor: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    for http, role in ((preview, "PREVIEW"), (editor, "EDITOR"), (admin, "ADMIN")):
        assert (await data(http, VIEWER))["viewer"] == {"role": role, "tokenName": role.lower()}


async def test_the_bearer_scheme_is_case_insensitive(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    token = await token_for(engine, Role.PREVIEW)
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer  {token} "}
    )
    assert response.json()["data"]["viewer"] == {"role": "PREVIEW", "tokenName": "preview"}


def _typo(token: str) -> str:
    """The token with one character of its secret changed: the checksum no longer matches."""
    changed = "b" if token[10] == "a" else "a"
    return token[:10] + changed + token[11:]


@pytest.mark.parametrize(
    ("header", "lookups"),
    [
        pytest.param(lambda t: f"Bearer {_typo(t)}", 0, id="bad-checksum"),
        pytest.param(lambda t: f"Bearer {t[:-1]}", 0, id="truncated"),
        pytest.param(lambda t: f"Bearer {t}x", 0, id="too-long"),
        pytest.param(lambda t: "Bearer " + t.replace("cms_", "xyz_"), 0, id="wrong-prefix"),
        pytest.param(lambda t: "Bearer not-a-token", 0, id="garbage"),
        pytest.param(lambda t: "Bearer ", 0, id="empty"),
        pytest.param(lambda t: f"Basic {t}", 0, id="wrong-scheme"),
        pytest.param(lambda t: t, 0, id="no-scheme"),
        pytest.param(lambda t: f"Bearer {tokens.generate()}", 1, id="unknown"),
    ],
)
async def test_a_bad_authorization_header_is_a_401_unauthenticated(
    engine: AsyncEngine, client: httpx.AsyncClient, header: Callable[[str], str], lookups: int
) -> None:
    """Only a well-formed token (prefix, length, alphabet, checksum) is looked up in the database."""
    token = await token_for(engine, Role.ADMIN)
    with StatementCounter(engine) as counter:
        response = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": header(token)}
        )
    assert counter.count == lookups
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    good = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    assert good.json()["data"]["viewer"]["role"] == "ADMIN"


CREATE = """
mutation ($name: String!, $role: Role!, $expiresAt: DateTime) {
  createApiToken(name: $name, role: $role, expiresAt: $expiresAt) {
    token
    apiToken { id name role createdAt expiresAt lastUsedAt }
    userErrors { field code message }
  }
}
"""
REVOKE = "mutation ($id: ID!) { revokeApiToken(id: $id) { deletedId userErrors { field code message } } }"


async def _rows(engine: AsyncEngine) -> list[ApiToken]:
    async with AsyncSession(engine) as session:
        return list(await tokens.list_tokens(session))


async def _row(engine: AsyncEngine, name: str) -> ApiToken:
    (row,) = [row for row in await _rows(engine) if row.name == name]
    return row


async def test_an_admin_creates_a_token_that_works_at_once_and_is_stored_only_as_a_hash(
    engine: AsyncEngine, clock: FixedClock, admin: httpx.AsyncClient
) -> None:
    expires = NOW + timedelta(days=30)
    variables = {"name": "desk", "role": "EDITOR", "expiresAt": expires.isoformat()}
    created = (await data(admin, CREATE, variables))["createApiToken"]
    token = created["token"]
    assert created["userErrors"] == []
    assert created["apiToken"] == {
        "id": created["apiToken"]["id"],
        "name": "desk",
        "role": "EDITOR",
        "createdAt": NOW.isoformat(),
        "expiresAt": expires.isoformat(),
        "lastUsedAt": None,
    }
    assert re.fullmatch(r"cms_[0-9A-Za-z]{36}", token)
    assert tokens.well_formed(token)
    row = await _row(engine, "desk")
    assert row.id == created["apiToken"]["id"]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token[4:-6] in str(value) for value in row.model_dump().values())
    async with client_as(engine, clock, token) as desk:
        assert (await data(desk, VIEWER))["viewer"] == {"role": "EDITOR", "tokenName": "desk"}


async def test_each_token_is_new(engine: AsyncEngine, admin: httpx.AsyncClient) -> None:
    made = [
        (await data(admin, CREATE, {"name": "same", "role": "READER"}))["createApiToken"] for _ in range(2)
    ]
    assert made[0]["token"] != made[1]["token"]
    assert made[0]["apiToken"]["id"] != made[1]["apiToken"]["id"]


async def test_a_revoked_token_fails_on_the_very_next_request(
    engine: AsyncEngine, clock: FixedClock, admin: httpx.AsyncClient
) -> None:
    created = (await data(admin, CREATE, {"name": "gone", "role": "PREVIEW"}))["createApiToken"]
    async with client_as(engine, clock, created["token"]) as gone:
        assert (await data(gone, VIEWER))["viewer"]["tokenName"] == "gone"
        revoked = (await data(admin, REVOKE, {"id": created["apiToken"]["id"]}))["revokeApiToken"]
        assert revoked == {"deletedId": created["apiToken"]["id"], "userErrors": []}
        response = await gone.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert (await _row(engine, "gone")).revoked_at == NOW
    assert (await data(admin, VIEWER))["viewer"]["role"] == "ADMIN"


async def test_an_admin_may_revoke_its_own_token(
    engine: AsyncEngine, clock: FixedClock, admin: httpx.AsyncClient
) -> None:
    created = (await data(admin, CREATE, {"name": "myself", "role": "ADMIN"}))["createApiToken"]
    async with client_as(engine, clock, created["token"]) as myself:
        revoked = (await data(myself, REVOKE, {"id": created["apiToken"]["id"]}))["revokeApiToken"]
        assert revoked["deletedId"] == created["apiToken"]["id"]
        response = await myself.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_revoking_twice_keeps_the_first_revocation(
    engine: AsyncEngine, clock: FixedClock, admin: httpx.AsyncClient
) -> None:
    created = (await data(admin, CREATE, {"name": "twice", "role": "READER"}))["createApiToken"]
    await data(admin, REVOKE, {"id": created["apiToken"]["id"]})
    clock.set(NOW + timedelta(hours=1))
    again = (await data(admin, REVOKE, {"id": created["apiToken"]["id"]}))["revokeApiToken"]
    assert again == {"deletedId": created["apiToken"]["id"], "userErrors": []}
    assert (await _row(engine, "twice")).revoked_at == NOW


async def test_revoking_an_unknown_token_is_a_not_found_user_error(
    engine: AsyncEngine, admin: httpx.AsyncClient
) -> None:
    result = (await data(admin, REVOKE, {"id": "tok_nothing"}))["revokeApiToken"]
    assert result["deletedId"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["id"], "NOT_FOUND")]


async def test_an_expired_token_fails_from_the_instant_it_expires(
    engine: AsyncEngine, clock: FixedClock, admin: httpx.AsyncClient
) -> None:
    expires = NOW + timedelta(hours=1)
    variables = {"name": "brief", "role": "PREVIEW", "expiresAt": expires.isoformat()}
    created = (await data(admin, CREATE, variables))["createApiToken"]
    async with client_as(engine, clock, created["token"]) as brief:
        clock.set(expires - timedelta(seconds=1))
        assert (await data(brief, VIEWER))["viewer"]["role"] == "PREVIEW"
        clock.set(expires)
        response = await brief.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("variables", "errors"),
    [
        ({"name": ""}, [(["name"], "REQUIRED")]),
        ({"name": "   "}, [(["name"], "REQUIRED")]),
        ({"name": "x" * 201}, [(["name"], "TOO_LONG")]),
        ({"expiresAt": NOW.isoformat()}, [(["expiresAt"], "INVALID")]),
        ({"expiresAt": (NOW - timedelta(days=1)).isoformat()}, [(["expiresAt"], "INVALID")]),
        (
            {"name": "", "expiresAt": "2001-01-01T00:00:00Z"},
            [(["name"], "REQUIRED"), (["expiresAt"], "INVALID")],
        ),
    ],
)
async def test_bad_token_input_is_user_errors_and_writes_nothing(
    engine: AsyncEngine,
    admin: httpx.AsyncClient,
    variables: dict[str, str],
    errors: list[tuple[list[str], str]],
) -> None:
    result = (await data(admin, CREATE, {"name": "ok", "role": "EDITOR", **variables}))["createApiToken"]
    assert result["token"] is None
    assert result["apiToken"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == errors
    assert [row.name for row in await _rows(engine)] == ["admin"]


async def test_a_time_without_a_zone_is_refused_before_anything_runs(
    engine: AsyncEngine, admin: httpx.AsyncClient
) -> None:
    """Every DateTime argument names an instant (cms.graphql.schema.parse_datetime)."""
    body = await gql(admin, CREATE, {"name": "ok", "role": "EDITOR", "expiresAt": "2030-01-01T00:00:00"})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "give a time zone" in body["errors"][0]["message"]
    assert [row.name for row in await _rows(engine)] == ["admin"]


@pytest.mark.parametrize("mutation", [CREATE, REVOKE])
async def test_only_an_admin_may_manage_tokens(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    preview: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    mutation: str,
) -> None:
    variables = {"name": "sneaky", "role": "ADMIN", "id": (await _row(engine, "editor")).id}
    for http, code in ((client, "UNAUTHENTICATED"), (preview, "FORBIDDEN"), (editor, "FORBIDDEN")):
        body = await gql(http, mutation, variables)
        assert body["data"] is None
        assert error_codes(body) == [code]
    assert sorted(row.name for row in await _rows(engine)) == ["editor", "preview"]
    assert all(row.revoked_at is None for row in await _rows(engine))


async def test_last_used_at_is_recorded_at_most_once_a_minute(
    engine: AsyncEngine, clock: FixedClock, preview: httpx.AsyncClient
) -> None:
    assert (await _row(engine, "preview")).last_used_at is None
    await data(preview, VIEWER)
    assert (await _row(engine, "preview")).last_used_at == NOW
    clock.set(NOW + timedelta(seconds=59))
    await data(preview, VIEWER)
    assert (await _row(engine, "preview")).last_used_at == NOW
    clock.set(NOW + timedelta(seconds=60))
    await data(preview, VIEWER)
    assert (await _row(engine, "preview")).last_used_at == NOW + timedelta(seconds=60)


async def test_a_public_read_costs_no_token_statement_and_a_token_one_short_read(
    engine: AsyncEngine, clock: FixedClock, client: httpx.AsyncClient, preview: httpx.AsyncClient
) -> None:
    """The public's one statement is the content version (the response cache's); a token's request is never
    kept, and costs the token's read."""
    await data(client, VIEWER)  # the first also reads the next scheduled instant
    with StatementCounter(engine) as public:
        await data(client, VIEWER)
    await data(preview, VIEWER)  # records lastUsedAt
    clock.set(NOW + timedelta(seconds=30))
    with StatementCounter(engine) as authenticated:
        await data(preview, VIEWER)
    assert (public.count, authenticated.count) == (1, 1)


runner = CliRunner()


async def _cms(database_url: str, *args: str) -> Result:
    """Run `cms ARGS` on the test's database, in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, list(args), env={"CMS_DATABASE_URL": database_url})


async def test_the_cli_creates_lists_and_revokes_tokens(
    engine: AsyncEngine, database_url: str, clock: FixedClock
) -> None:
    args = ["token", "create", "--name", "night desk", "--role", "editor", "--expires", "2099-01-31"]
    created = await _cms(database_url, *args)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert tokens.well_formed(token)
    assert "will not be shown again" in created.stderr
    row = await _row(engine, "night desk")
    assert (row.role, row.expires_at) == ("EDITOR", datetime(2099, 1, 31, tzinfo=UTC))
    async with client_as(engine, clock, token) as desk:
        assert (await data(desk, VIEWER))["viewer"] == {"role": "EDITOR", "tokenName": "night desk"}
        listed = await _cms(database_url, "token", "list")
        assert listed.exit_code == 0, listed.output
        line = next(line for line in listed.stdout.splitlines() if line.startswith(row.id))
        assert line.split("  ")[1:3] == ["night desk", "EDITOR"]
        assert "2099-01-31 00:00" in line
        assert line.endswith("-")  # not revoked
        assert token[4:-6] not in listed.output
        assert row.token_hash not in listed.output
        revoked = await _cms(database_url, "token", "revoke", row.id)
        assert revoked.exit_code == 0, revoked.output
        response = await desk.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert (await _row(engine, "night desk")).revoked_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--name", "x", "--role", "OWNER"], "unknown role 'OWNER'"),
        (["create", "--name", "x", "--role", "ADMIN", "--expires", "someday"], "not a date"),
        (["create", "--name", "x", "--role", "ADMIN", "--expires", "2001-01-01"], "must be in the future"),
        (["create", "--name", " ", "--role", "ADMIN"], "a token needs a name"),
        (["revoke", "tok_nothing"], "no API token has the id 'tok_nothing'"),
    ],
)
async def test_the_cli_refuses_bad_input_with_status_1_and_writes_nothing(
    engine: AsyncEngine, database_url: str, args: list[str], message: str
) -> None:
    result = await _cms(database_url, "token", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""
    assert await _rows(engine) == []


async def test_serve_says_how_to_create_the_first_admin_token(
    engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    past = datetime(2001, 1, 1, tzinfo=UTC)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await tokens.create_token(
            session, name="old", role=Role.ADMIN, expires_at=past, now=past - timedelta(1)
        )
        gone = await tokens.create_token(session, name="gone", role=Role.ADMIN, expires_at=None, now=NOW)
        await tokens.revoke_token(session, token_id=gone.row.id, now=NOW)
    await token_for(engine, Role.EDITOR)
    without = await _cms(database_url, "serve")
    assert without.exit_code == 0, without.output
    assert FIRST_ADMIN_HINT in without.stdout
    command = FIRST_ADMIN_HINT.split("  ")[1].split()
    assert command[0] == ".venv/bin/cms"
    assert (await _cms(database_url, *command[1:])).exit_code == 0
    with_admin = await _cms(database_url, "serve")
    assert with_admin.exit_code == 0, with_admin.output
    assert FIRST_ADMIN_HINT not in with_admin.stdout
    assert "/graphql" in with_admin.stdout


async def test_a_busy_database_never_fails_a_request_over_its_last_used_at(
    sqlite_template: Path, tmp_path: Path, clock: FixedClock
) -> None:
    """A long import holds SQLite's write lock: the token still works; lastUsedAt waits for a later use."""
    path = tmp_path / "cms.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(async_database_url(f"sqlite:///{path}"))
    event.listen(engine.sync_engine, "connect", _impatient)
    token = await token_for(engine, Role.EDITOR)
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        async with client_as(engine, clock, token) as http:
            assert (await data(http, "{ viewer { role } }")) == {"viewer": {"role": "EDITOR"}}
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    async with AsyncSession(engine) as session:
        assert (await session.execute(select(col(ApiToken.last_used_at)))).scalar_one() is None
    await engine.dispose()


def _impatient(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=50")
    cursor.close()
