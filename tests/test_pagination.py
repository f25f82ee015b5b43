"""Keyset pagination: walk every list forwards and backwards and agree with totalCount."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import data, error_codes, gql

WALK = """
query ($first: Int, $after: String, $last: Int, $before: String, $order: ArticleOrder) {
  articles(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def _walk(
    client: httpx.AsyncClient, order: dict[str, str], forward: bool, size: int
) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor: str | None = None
    total = -1
    for _ in range(50):
        variables: dict[str, Any] = {"order": order}
        variables.update({"first": size, "after": cursor} if forward else {"last": size, "before": cursor})
        page = (await data(client, WALK, variables))["articles"]
        total = page["totalCount"]
        chunk = [edge["node"]["id"] for edge in page["edges"]]
        ids = ids + chunk if forward else chunk + ids
        info = page["pageInfo"]
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        more = info["hasNextPage"] if forward else info["hasPreviousPage"]
        if not more:
            return ids, total
        cursor = info["endCursor"] if forward else info["startCursor"]
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize(
    "order",
    [
        {"field": "PUBLISHED_AT", "direction": "DESC"},
        {"field": "PUBLISHED_AT", "direction": "ASC"},
        {"field": "TITLE", "direction": "ASC"},
        {"field": "UPDATED_AT", "direction": "DESC"},
        {"field": "CREATED_AT", "direction": "ASC"},
    ],
)
async def test_walking_forwards_and_backwards_meets_every_item_once(
    seeded: AsyncEngine, client: httpx.AsyncClient, order: dict[str, str]
) -> None:
    listed = (await data(client, WALK, {"first": 100, "order": order}))["articles"]
    everything = [edge["node"]["id"] for edge in listed["edges"]]
    forwards, total = await _walk(client, order, forward=True, size=3)
    backwards, _ = await _walk(client, order, forward=False, size=4)
    assert total == len(everything) == 11
    assert forwards == backwards == everything
    assert len(set(forwards)) == total


async def test_published_at_order_is_newest_first(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    query = "{ articles(first: 100) { nodes { publishedAt } } }"
    dates = [n["publishedAt"] for n in (await data(client, query))["articles"]["nodes"]]
    assert dates == sorted(dates, reverse=True)


async def test_nested_lists_paginate_with_their_own_cursors(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    query = """query ($after: String) { category(slug: "azerbaijan") { articles(first: 4, after: $after) {
        totalCount edges { cursor node { id } } pageInfo { hasNextPage } } } }"""
    first = (await data(client, query))["category"]["articles"]
    second = (await data(client, query, {"after": first["edges"][-1]["cursor"]}))["category"]["articles"]
    ids = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False
    assert len(ids) == len(set(ids)) == first["totalCount"] == 7


@pytest.mark.parametrize(
    "arguments",
    [
        "first: 0",
        "first: 101",
        "last: -1",
        "last: 101",
        "first: 2, last: 2",
        'after: "not-a-cursor"',
        'after: "WyJBdXRob3I6TkFNRTpBU0MiLCJ4IiwieCJd"',  # a cursor of the authors list
        "orderBy: {field: RELEVANCE}",
    ],
)
async def test_bad_pagination_arguments_are_bad_user_input(
    seeded: AsyncEngine, client: httpx.AsyncClient, arguments: str
) -> None:
    body = await gql(client, f"{{ articles({arguments}) {{ totalCount }} }}")
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_a_cursor_of_another_order_is_refused(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    page = (await data(client, WALK, {"first": 2}))["articles"]
    body = await gql(
        client, WALK, {"first": 2, "after": page["pageInfo"]["endCursor"], "order": {"field": "TITLE"}}
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("field", ["authors", "categories", "sources"])
async def test_other_lists_walk_to_their_total(
    seeded: AsyncEngine, client: httpx.AsyncClient, field: str
) -> None:
    query = f"""query ($after: String) {{ {field}(first: 2, after: $after) {{
        totalCount nodes {{ slug }} pageInfo {{ hasNextPage endCursor }} }} }}"""
    slugs: list[str] = []
    cursor = None
    while True:
        page = (await data(client, query, {"after": cursor}))[field]
        slugs += [n["slug"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert len(slugs) == len(set(slugs)) == page["totalCount"] > 2
