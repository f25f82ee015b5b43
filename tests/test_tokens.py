"""API tokens over HTTP: who a token speaks for, and every way a token is refused on the very next request."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content import tokens
from cms.content.roles import Role
from tests.conftest import client_as, data, error_codes, token_for

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


def _typo(token: str) -> str:
    """The token with one character of its secret changed: the checksum no longer matches."""
    changed = "b" if token[10] == "a" else "a"
    return token[:10] + changed + token[11:]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda t: f"Bearer {_typo(t)}", id="bad-checksum"),
        pytest.param(lambda t: f"Bearer {t[:-1]}", id="truncated"),
        pytest.param(lambda t: f"Bearer {t}x", id="too-long"),
        pytest.param(lambda t: "Bearer " + t.replace("cms_", "xyz_"), id="wrong-prefix"),
        pytest.param(lambda t: "Bearer not-a-token", id="garbage"),
        pytest.param(lambda t: "Bearer ", id="empty"),
        pytest.param(lambda t: f"Basic {t}", id="wrong-scheme"),
        pytest.param(lambda t: t, id="no-scheme"),
        pytest.param(lambda t: f"Bearer {tokens.generate()}", id="unknown"),
    ],
)
async def test_a_bad_authorization_header_is_a_401_unauthenticated(
    engine: AsyncEngine, client: httpx.AsyncClient, header: Callable[[str], str]
) -> None:
    token = await token_for(engine, Role.ADMIN)
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": header(token)})
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    good = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    assert good.json()["data"]["viewer"]["role"] == "ADMIN"
