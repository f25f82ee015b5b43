"""The change feed through each role's eyes: drafts never reach the public, an item that stops being visible
is a DELETE, scheduled articles arrive at their instant with no job, and a replay from the start always ends
with exactly the visible items, whatever random edits happened in between."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from tests.conftest import NOW, data, error_codes, gql
from tests.test_article_mutations import ARCHIVE, DELETE, PUBLISH, SUBMIT, UNPUBLISH, UPDATE, create

FEED = """query ($since: String, $first: Int) {
  changes(since: $since, first: $first) {
    cursor hasMore
    events { sequence action typename id occurredAt contentHash node { id ... on Article { title status } } }
  }
}"""
LISTS = {
    "Article": "articles",
    "Author": "authors",
    "Category": "categories",
    "Source": "sources",
}


async def feed(http: httpx.AsyncClient, since: str | None = None, first: int = 500) -> dict[str, Any]:
    """A page of the feed: 500 events of these fields cost 6,501, in the public limit (1,000 would not)."""
    return (await data(http, FEED, {"since": since, "first": first}))["changes"]


async def replay(http: httpx.AsyncClient, state: dict[tuple[str, str], str], since: str | None) -> str | None:
    """Apply every event after `since` to `state` (what a static site holds); return the new cursor."""
    more = True
    while more:
        page = await feed(http, since, first=7)
        for event in page["events"]:
            key = (event["typename"], event["id"])
            if event["action"] == "UPSERT":
                assert event["node"]["id"] == event["id"]
                state[key] = event["contentHash"]
            else:
                assert event["node"] is None
                assert event["contentHash"] is None
                state.pop(key, None)
        since, more = page["cursor"], page["hasMore"]
    return since


async def visible(http: httpx.AsyncClient) -> set[tuple[str, str]]:
    """Every item the caller can list, walked page by page."""
    found = set()
    for typename, field in LISTS.items():
        after = None
        while True:
            query = f"""query ($after: String) {{ {field}(first: 100, after: $after) {{
              nodes {{ id }} pageInfo {{ hasNextPage endCursor }} }} }}"""
            page = (await data(http, query, {"after": after}))[field]
            found |= {(typename, node["id"]) for node in page["nodes"]}
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    return found


async def test_drafts_never_reach_the_public_and_unpublishing_is_a_delete(
    seeded: AsyncEngine, editor: httpx.AsyncClient, preview: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    public_start = (await feed(client))["cursor"]
    preview_start = (await feed(preview))["cursor"]
    article = await create(editor, title="Draft only")
    await data(editor, UPDATE, {"id": article["id"], "input": {"title": "Still a draft"}})
    assert (await feed(client, public_start))["events"] == []
    seen = (await feed(preview, preview_start))["events"]
    assert [(e["action"], e["node"]["title"]) for e in seen] == [("UPSERT", "Still a draft")] * 2

    await data(editor, PUBLISH, {"id": article["id"]})
    published = (await feed(client, public_start))["events"]
    assert [(e["action"], e["id"], e["node"]["status"]) for e in published] == [
        ("UPSERT", article["id"], "PUBLISHED")
    ]
    after_publish = (await feed(client, public_start))["cursor"]
    await data(editor, UNPUBLISH, {"id": article["id"]})
    gone = (await feed(client, after_publish))["events"]
    assert [(e["action"], e["id"], e["node"]) for e in gone] == [("DELETE", article["id"], None)]


@pytest.mark.parametrize("step", ["archive", "delete"])
async def test_archiving_or_deleting_what_was_public_is_a_delete(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, step: str
) -> None:
    article = await create(editor, title="Seen, then gone")
    await data(editor, PUBLISH, {"id": article["id"]})
    cursor = (await feed(client))["cursor"]
    await data(editor, ARCHIVE if step == "archive" else DELETE, {"id": article["id"]})
    assert [(e["action"], e["id"]) for e in (await feed(client, cursor))["events"]] == [
        ("DELETE", article["id"])
    ]


async def test_a_scheduled_article_arrives_at_its_instant_with_no_job(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    article = await create(editor, title="Embargoed")
    at = NOW + timedelta(hours=1)
    await data(editor, PUBLISH, {"id": article["id"], "at": at.isoformat()})
    before = await feed(client)
    assert article["id"] not in {e["id"] for e in before["events"]}
    clock.set(at - timedelta(seconds=1))
    assert (await feed(client, before["cursor"]))["events"] == []
    clock.set(at)
    arrived = (await feed(client, before["cursor"]))["events"]
    assert [(e["action"], e["id"], e["node"]["title"]) for e in arrived] == [
        ("UPSERT", article["id"], "Embargoed")
    ]
    assert (await feed(client, before["cursor"]))["events"] == arrived  # recorded once, however often read


async def test_pages_follow_each_other_in_a_strictly_increasing_sequence(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    everything = await feed(client)
    assert not everything["hasMore"]
    sequences, cursor, more = [], None, True
    while more:
        page = await feed(client, cursor, first=4)
        assert len(page["events"]) <= 4
        sequences += [e["sequence"] for e in page["events"]]
        cursor, more = page["cursor"], page["hasMore"]
    assert sequences == [e["sequence"] for e in everything["events"]]
    assert sequences == sorted(set(sequences))
    assert len(sequences) > 4
    assert (await feed(client, cursor))["events"] == []
    assert (await feed(client, cursor))["cursor"] == cursor


@pytest.mark.parametrize(
    ("since", "first"), [("not-a-cursor", 10), (None, 0), (None, 1001)], ids=["cursor", "zero", "too many"]
)
async def test_bad_arguments_are_bad_user_input(
    seeded: AsyncEngine, client: httpx.AsyncClient, since: str | None, first: int
) -> None:
    assert error_codes(await gql(client, FEED, {"since": since, "first": first})) == ["BAD_USER_INPUT"]


async def test_content_hashes_change_with_the_content_and_hide_what_the_reader_cannot_see(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    author = """mutation ($email: String) {
      createAuthor(input: {name: "Hash Test", email: $email}) { author { id } } }"""
    made = (await data(editor, author, {"email": "a@news.example"}))["createAuthor"]["author"]
    update = (
        "mutation ($id: ID!, $input: AuthorInput!) { updateAuthor(id: $id, input: $input) { author { id } } }"
    )

    async def hashes() -> tuple[str, str]:
        """The author's hash as the public and as an editor see it now."""
        found = []
        for http in (client, editor):
            events = (await feed(http))["events"]
            found.append(next(e["contentHash"] for e in events if e["id"] == made["id"]))
        return found[0], found[1]

    first = await hashes()
    await data(editor, update, {"id": made["id"], "input": {"email": "b@news.example"}})
    second = await hashes()
    await data(editor, update, {"id": made["id"], "input": {"bio": "Reports on hashes."}})
    third = await hashes()
    assert second[0] == first[0]  # the public cannot see emails: its hash does not move with one
    assert second[1] != first[1]  # an editor can
    assert third[0] != second[0]
    assert third[1] != second[1]


OPERATIONS = [
    "create",
    "update",
    "submit",
    "publish",
    "schedule",
    "unpublish",
    "archive",
    "delete",
    "tick",
    "read",
]


@pytest.mark.parametrize("seed", [1, 2])
async def test_replaying_the_feed_ends_with_exactly_the_visible_items(
    seeded: AsyncEngine,
    editor: httpx.AsyncClient,
    preview: httpx.AsyncClient,
    client: httpx.AsyncClient,
    clock: FixedClock,
    seed: int,
) -> None:
    """Random edits, with the clock moving and scheduled articles falling due; each reader replays the
    feed now and then. At the end each holds exactly what it can list."""
    rng = random.Random(seed)
    readers = {"public": client, "preview": preview}
    states: dict[str, dict[tuple[str, str], str]] = {name: {} for name in readers}
    cursors: dict[str, str | None] = dict.fromkeys(readers)
    ids = [
        a["id"]
        for a in (await data(editor, "{ articles(first: 100) { nodes { id } } }"))["articles"]["nodes"]
    ]
    mutations = {
        "submit": SUBMIT,
        "publish": PUBLISH,
        "unpublish": UNPUBLISH,
        "archive": ARCHIVE,
        "delete": DELETE,
    }
    for n in range(70):
        operation = rng.choice(OPERATIONS)
        target = rng.choice(ids) if ids else None
        if operation == "create" or target is None:
            ids.append((await create(editor, title=f"Story {n}", language=rng.choice(["en", "az"])))["id"])
        elif operation == "update":
            await gql(editor, UPDATE, {"id": target, "input": {"title": f"Story {n}, revised"}})
        elif operation == "schedule":
            at = clock.now() + timedelta(minutes=rng.randint(1, 90))
            await gql(editor, PUBLISH, {"id": target, "at": at.isoformat()})
        elif operation == "tick":
            clock.set(clock.now() + timedelta(minutes=rng.randint(1, 60)))
        elif operation == "read":
            name = rng.choice(list(readers))
            cursors[name] = await replay(readers[name], states[name], cursors[name])
        else:
            await gql(editor, mutations[operation], {"id": target})
            if operation == "delete":
                ids.remove(target)
    clock.set(clock.now() + timedelta(hours=2))  # every schedule falls due
    for name, http in readers.items():
        await replay(http, states[name], cursors[name])
        assert set(states[name]) == await visible(http), name
