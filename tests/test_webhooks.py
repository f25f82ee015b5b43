"""Webhooks: created and deleted over HTTP by admins; every change queues its deliveries in its own
transaction; the worker's tick, driven on the settable clock, sends them signed to a real HTTP receiver on
127.0.0.1, retries with backoff, fails after the last attempt, and never sends one twice."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import subprocess
import sys
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.app import create_app
from cms.clock import FixedClock
from cms.content import keys, webhooks, workflow
from cms.content.errors import BadInput
from cms.content.roles import Role
from cms.db import create_engine
from cms.models import Webhook, WebhookDelivery, table_of
from cms.settings import Settings
from tests.conftest import NOW, ROOT, client_as, data, error_codes, gql, token_for
from tests.test_article_mutations import ARCHIVE, DELETE, PUBLISH, SUBMIT, UNPUBLISH, UPDATE, create

CREATE_WEBHOOK = """mutation ($input: WebhookInput!) { createWebhook(input: $input) {
  webhook { id url events active deliveries { id } } secret userErrors { field code message } } }"""
DELETE_WEBHOOK = (
    "mutation ($id: ID!) { deleteWebhook(id: $id) { deletedId userErrors { field code message } } }"
)
CREATE_AUTHOR = "mutation ($name: String!) { createAuthor(input: {name: $name}) { author { id } } }"
FEED = "{ changes(since: null) { events { id } } }"
EVERY_EVENT = [event.value for event in webhooks.Event]
WEBHOOK = table_of(Webhook)
DELIVERY = table_of(WebhookDelivery)
HANG_UP = 0
"""An answer the receiver can be told to give: close the connection without answering."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """A real HTTP endpoint: records every request, answers each with the next of `answers` (200 once they
    run out; HANG_UP closes the connection), or holds its answer while `holding` is set."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    holding: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = (line.partition(":") for line in head[1:] if line)
            headers = {name.strip().lower(): value.strip() for name, _, value in fields}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(head[0].split(" ")[1], headers, body))
            self.arrived.set()
            if self.holding:
                await self.released.wait()
            answer = self.answers.popleft() if self.answers else 200
            if answer != HANG_UP:
                writer.write(
                    f"HTTP/1.1 {answer} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
                )
                with contextlib.suppress(ConnectionError):  # the sender may have given up
                    await writer.drain()
        finally:
            writer.close()

    def ids(self) -> list[str]:
        return [request.json()["deliveryId"] for request in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/cms"
    async with server:
        yield receiver
        receiver.released.set()
        await asyncio.gather(*receiver.handlers)


@pytest.fixture
async def admin(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """An ADMIN's client of an app letting webhooks name the receiver on 127.0.0.1 (CMS_WEBHOOK_ALLOW_PRIVATE;
    the rule itself: tests/test_webhook_targets.py)."""
    token = await token_for(engine, Role.ADMIN)
    async with client_as(engine, clock, token, webhook_allow_private=True) as http:
        yield http


@pytest.fixture
async def outbound() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def create_webhook(
    admin: httpx.AsyncClient, url: str, events: list[str] = EVERY_EVENT
) -> tuple[str, str]:
    """A webhook's id and secret."""
    payload = (await data(admin, CREATE_WEBHOOK, {"input": {"url": url, "events": events}}))["createWebhook"]
    assert payload["userErrors"] == [], payload
    return payload["webhook"]["id"], payload["secret"]


async def tick(engine: AsyncEngine, clock: FixedClock, outbound: httpx.AsyncClient, **options: int) -> int:
    """One tick of the worker, sending to the receiver on 127.0.0.1 (`allow_private`)."""
    return await webhooks.deliver_due(engine, clock=clock, client=outbound, allow_private=True, **options)


async def outbox(engine: AsyncEngine, webhook_id: str | None = None) -> list[Any]:
    statement = select(DELIVERY).order_by(DELIVERY.c.created_at, DELIVERY.c.id)
    if webhook_id:
        statement = statement.where(DELIVERY.c.webhook_id == webhook_id)
    async with engine.connect() as connection:
        return list((await connection.execute(statement)).all())


class Queued:
    """The events queued for one webhook since the last look, with the typename and id they are about."""

    def __init__(self, engine: AsyncEngine, webhook_id: str) -> None:
        self.engine, self.webhook_id, self.seen = engine, webhook_id, set[str]()

    async def new(self) -> list[tuple[str, str, str]]:
        rows = [row for row in await outbox(self.engine, self.webhook_id) if row.id not in self.seen]
        self.seen |= {row.id for row in rows}
        bodies = [orjson.loads(row.body) for row in rows]
        return sorted((body["event"], body["typename"], body["id"]) for body in bodies)


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_create_shows_the_secret_once_and_keeps_what_signing_needs(
    engine: AsyncEngine, admin: httpx.AsyncClient, receiver: Receiver
) -> None:
    events = ["ARTICLE_PUBLISHED", "ARTICLE_PUBLISHED"]
    variables = {"input": {"url": receiver.url, "events": events, "description": "  the static site  "}}
    payload = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
    webhook = payload["webhook"]
    assert webhook["id"].startswith("whk_")
    assert [webhook[name] for name in ("url", "events", "active")] == [
        receiver.url,
        ["ARTICLE_PUBLISHED"],
        True,
    ]
    assert webhook["deliveries"] == []
    assert payload["secret"].startswith("whsec_")
    assert len(payload["secret"]) >= 40
    async with engine.connect() as connection:
        row = (await connection.execute(select(WEBHOOK))).one()
    assert (row.secret, row.description) == (payload["secret"], "the static site")
    other = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
    assert other["secret"] != payload["secret"]


INVALID: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "no url": ({"url": ""}, ["input", "url"], "REQUIRED"),
    "blank url": ({"url": "   "}, ["input", "url"], "REQUIRED"),
    "ftp url": ({"url": "ftp://example.com/hook"}, ["input", "url"], "INVALID"),
    "no scheme": ({"url": "example.com/hook"}, ["input", "url"], "INVALID"),
    "no host": ({"url": "https:///hook"}, ["input", "url"], "INVALID"),
    "bad port": ({"url": "http://example.com:port/hook"}, ["input", "url"], "INVALID"),
    "javascript": ({"url": "javascript:alert(1)"}, ["input", "url"], "INVALID"),
    "long url": ({"url": "https://example.com/" + "a" * 2000}, ["input", "url"], "TOO_LONG"),
    "no events": ({"events": []}, ["input", "events"], "REQUIRED"),
    "long description": ({"description": "d" * 1001}, ["input", "description"], "TOO_LONG"),
}


@pytest.mark.parametrize("case", INVALID)
async def test_each_invalid_input_is_a_user_error_and_writes_nothing(
    engine: AsyncEngine, admin: httpx.AsyncClient, case: str
) -> None:
    given, path, code = INVALID[case]
    variables = {"input": {"url": "https://example.com/hook", "events": ["CONTENT_CHANGED"], **given}}
    payload = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
    assert (payload["webhook"], payload["secret"]) == (None, None)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(path, code)]
    assert all(e["message"] for e in payload["userErrors"])
    async with engine.connect() as connection:
        count = select(func.count()).select_from(WEBHOOK)
        assert (await connection.execute(count)).scalar_one() == 0


async def test_every_problem_is_reported_at_once(engine: AsyncEngine, admin: httpx.AsyncClient) -> None:
    variables = {"input": {"url": "ftp://x", "events": [], "description": "d" * 1001}}
    payload = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID", "REQUIRED", "TOO_LONG"]


async def test_only_admins_manage_webhooks(
    engine: AsyncEngine, client: httpx.AsyncClient, editor: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    webhook_id, _ = await create_webhook(admin, "https://example.com/hook")
    create = {"input": {"url": "https://example.com/other", "events": ["CONTENT_CHANGED"]}}
    for caller, code in ((client, "UNAUTHENTICATED"), (editor, "FORBIDDEN")):
        assert error_codes(await gql(caller, CREATE_WEBHOOK, create)) == [code]
        assert error_codes(await gql(caller, DELETE_WEBHOOK, {"id": webhook_id})) == [code]
    async with engine.connect() as connection:
        ids = (await connection.execute(select(WEBHOOK.c.id))).scalars().all()
    assert ids == [webhook_id]


async def test_delete_removes_a_webhook_once(engine: AsyncEngine, admin: httpx.AsyncClient) -> None:
    webhook_id, _ = await create_webhook(admin, "https://example.com/hook")
    deleted = (await data(admin, DELETE_WEBHOOK, {"id": webhook_id}))["deleteWebhook"]
    assert deleted == {"deletedId": webhook_id, "userErrors": []}
    for missing in (webhook_id, "whk_unknown", "art_not_a_webhook"):
        payload = (await data(admin, DELETE_WEBHOOK, {"id": missing}))["deleteWebhook"]
        assert payload["deletedId"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["id"], "NOT_FOUND")]


async def test_each_article_change_queues_exactly_its_events(
    seeded: AsyncEngine, admin: httpx.AsyncClient, editor: httpx.AsyncClient
) -> None:
    everything = Queued(seeded, (await create_webhook(admin, "https://example.com/all"))[0])
    published_only = Queued(
        seeded, (await create_webhook(admin, "https://example.com/p", ["ARTICLE_PUBLISHED"]))[0]
    )
    article = await create(editor, title="A story with webhooks")
    id_ = article["id"]
    steps: list[tuple[str, dict[str, Any], list[str] | None]] = [
        (UPDATE, {"input": {"title": "A draft's edit"}}, []),
        (UPDATE, {"input": {"title": "A draft's edit"}}, None),  # no change: no event at all
        (SUBMIT, {}, []),
        (PUBLISH, {}, ["ARTICLE_PUBLISHED"]),
        (UPDATE, {"input": {"title": "A correction"}}, ["ARTICLE_UPDATED"]),
        (ARCHIVE, {}, ["ARTICLE_UNPUBLISHED"]),
        (UNPUBLISH, {}, []),  # archived -> draft: never in sight
        (PUBLISH, {}, ["ARTICLE_PUBLISHED"]),
        (UNPUBLISH, {}, ["ARTICLE_UNPUBLISHED"]),
        (DELETE, {}, ["ARTICLE_DELETED"]),
    ]
    assert await everything.new() == [("CONTENT_CHANGED", "Article", id_)]
    for mutation, variables, events in steps:
        payload = next(iter((await data(editor, mutation, {"id": id_, **variables})).values()))
        assert payload["userErrors"] == []
        expected = [] if events is None else sorted([*events, "CONTENT_CHANGED"])
        assert await everything.new() == [(event, "Article", id_) for event in expected], mutation
    assert await published_only.new() == [("ARTICLE_PUBLISHED", "Article", id_)] * 2


async def test_every_other_change_is_content_changed(
    seeded: AsyncEngine, admin: httpx.AsyncClient, editor: httpx.AsyncClient
) -> None:
    queued = Queued(seeded, (await create_webhook(admin, "https://example.com/all"))[0])
    author = (await data(editor, CREATE_AUTHOR, {"name": "Leyla Aliyeva"}))["createAuthor"]["author"]
    assert await queued.new() == [("CONTENT_CHANGED", "Author", author["id"])]


async def test_the_receiver_gets_the_body_signed_with_the_secret(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    webhook_id, secret = await create_webhook(admin, receiver.url, ["ARTICLE_PUBLISHED", "ARTICLE_UPDATED"])
    article = await create(editor, title="Signed story")
    await data(editor, PUBLISH, {"id": article["id"]})
    assert await tick(seeded, clock, outbound) == 1
    (request,) = receiver.requests
    body = request.json()
    assert body == {
        "deliveryId": body["deliveryId"],
        "webhookId": webhook_id,
        "event": "ARTICLE_PUBLISHED",
        "typename": "Article",
        "id": article["id"],
        "occurredAt": NOW.isoformat(),
        "surrogateKeys": [keys.item("Article", article["id"]), "articles"],
    }
    assert body["deliveryId"].startswith("whd_")
    assert request.path == "/hooks/cms"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-cms-event"] == "ARTICLE_PUBLISHED"
    assert request.headers["x-cms-delivery"] == body["deliveryId"]
    assert request.headers["x-cms-signature"] == signed(secret, request.body)
    assert request.headers["x-cms-signature"] != signed(secret + "x", request.body)
    (row,) = await outbox(seeded)
    assert (row.status, row.attempt, row.response_code, row.error) == ("DELIVERED", 1, 200, None)
    assert row.body.encode() == request.body
    assert await tick(seeded, clock, outbound) == 0
    assert len(receiver.requests) == 1


WAITS = [timedelta(seconds=s) for s in (10, 60, 360, 2160, 12960)]
"""The backoff after each failed attempt; the sixth failure is final."""


async def test_a_failing_receiver_is_retried_with_backoff_then_failed(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    answers = [500, HANG_UP, 503, 404, 302, 500]
    receiver.answers.extend(answers)
    await create_webhook(admin, receiver.url, ["ARTICLE_PUBLISHED"])
    await data(editor, PUBLISH, {"id": (await create(editor))["id"]})
    for attempt, answer in enumerate(answers, start=1):
        assert await tick(seeded, clock, outbound) == 1
        (row,) = await outbox(seeded)
        assert (row.attempt, row.response_code) == (attempt, answer or None)
        assert row.error
        if attempt == len(answers):
            break
        assert row.status == "PENDING"
        wait = WAITS[attempt - 1]
        clock.set(clock.now() + wait - timedelta(microseconds=1))
        assert await tick(seeded, clock, outbound) == 0
        clock.set(clock.now() + timedelta(microseconds=1))
    assert row.status == "FAILED"
    clock.set(clock.now() + timedelta(days=30))
    assert await tick(seeded, clock, outbound) == 0
    assert len(receiver.requests) == len(answers)
    assert len({request.body for request in receiver.requests}) == 1  # the same delivery, retried


async def test_a_retry_that_gets_through_is_delivered(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    receiver.answers.append(500)
    await create_webhook(admin, receiver.url, ["CONTENT_CHANGED"])
    await create(editor)
    assert await tick(seeded, clock, outbound) == 1
    clock.set(NOW + WAITS[0])
    assert await tick(seeded, clock, outbound) == 1
    (row,) = await outbox(seeded)
    assert (row.status, row.attempt, row.response_code, row.error) == ("DELIVERED", 2, 200, None)


@pytest.mark.parametrize(("attempts", "status", "sends"), [(2, "DELIVERED", 2), (1, "FAILED", 1)])
async def test_a_send_cut_short_is_sent_again_after_its_lease(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
    attempts: int,
    status: str,
    sends: int,
) -> None:
    """A process that stops while sending leaves its claim: after the lease the next attempt sends it
    again, or, when that was the last attempt, the delivery has FAILED."""
    await create_webhook(admin, receiver.url, ["CONTENT_CHANGED"])
    await create(editor)
    receiver.holding = True
    cut_short = asyncio.create_task(tick(seeded, clock, outbound, attempts=attempts))
    await receiver.arrived.wait()
    cut_short.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cut_short
    receiver.holding = False
    clock.set(NOW + webhooks.LEASE - timedelta(microseconds=1))
    assert await tick(seeded, clock, outbound, attempts=attempts) == 0  # still claimed
    clock.set(NOW + webhooks.LEASE)
    assert await tick(seeded, clock, outbound, attempts=attempts) == sends - 1
    (row,) = await outbox(seeded)
    assert (row.status, row.attempt) == (status, attempts)
    assert receiver.ids() == [row.id] * sends


async def test_a_write_that_rolls_back_queues_nothing(seeded: AsyncEngine, admin: httpx.AsyncClient) -> None:
    await create_webhook(admin, "https://example.com/hook", ["CONTENT_CHANGED"])

    async def failing_write() -> None:
        async with AsyncSession(seeded) as session, session.begin():
            await workflow.create_article(session, edit=workflow.Edit(title="Never"), actor="test", now=NOW)
            queued = select(func.count()).select_from(DELIVERY)
            assert (await session.execute(queued)).scalar_one() == 1  # queued inside the write's transaction
            raise RuntimeError("the write fails after its change was logged")

    with pytest.raises(RuntimeError, match="after its change was logged"):
        await failing_write()
    assert await outbox(seeded) == []
    async with AsyncSession(seeded) as session, session.begin():
        await workflow.create_article(session, edit=workflow.Edit(title="Kept"), actor="test", now=NOW)
    assert len(await outbox(seeded)) == 1


async def test_a_scheduled_article_is_published_by_the_tick_with_nobody_reading(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    client: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    await create_webhook(admin, receiver.url, ["ARTICLE_PUBLISHED"])
    article = await create(editor, title="Embargoed story")
    at = NOW + timedelta(hours=2)
    await data(editor, PUBLISH, {"id": article["id"], "at": at.isoformat()})
    assert await tick(seeded, clock, outbound) == 0
    clock.set(at - timedelta(microseconds=1))
    assert await tick(seeded, clock, outbound) == 0
    clock.set(at)
    assert await tick(seeded, clock, outbound) == 1
    (request,) = receiver.requests
    assert (request.json()["event"], request.json()["id"]) == ("ARTICLE_PUBLISHED", article["id"])
    assert request.json()["occurredAt"] == at.isoformat()
    await data(client, FEED)  # the feed's own look at due publications finds nothing left to record
    assert await tick(seeded, clock, outbound) == 0
    assert len(await outbox(seeded)) == 1


@pytest.mark.parametrize(
    ("mutation", "events"),
    [(UPDATE, ["ARTICLE_PUBLISHED", "CONTENT_CHANGED"]), (UNPUBLISH, ["CONTENT_CHANGED"])],
)
async def test_a_due_publication_not_yet_told_is_told_once(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    outbound: httpx.AsyncClient,
    mutation: str,
    events: list[str],
) -> None:
    """An edit between the scheduled time and the tick that would record it is the publication (an update
    of what no receiver has heard of would be news to them); unpublishing then is no news at all."""
    queued = Queued(seeded, (await create_webhook(admin, "https://example.com/hook"))[0])
    article = await create(editor, title="Embargoed story")
    at = NOW + timedelta(hours=2)
    await data(editor, PUBLISH, {"id": article["id"], "at": at.isoformat()})
    await queued.new()
    clock.set(at)
    await data(editor, mutation, {"id": article["id"], "input": {"title": "Embargo lifted"}})
    assert [event for event, _, _ in await queued.new()] == events
    await tick(seeded, clock, outbound)  # records no publication: none is due any more
    assert await queued.new() == []


async def test_deleting_a_webhook_stops_its_deliveries(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    webhook_id, _ = await create_webhook(admin, receiver.url)
    kept_id, _ = await create_webhook(admin, receiver.url + "/kept", ["ARTICLE_DELETED"])
    article = await create(editor)
    await data(editor, PUBLISH, {"id": article["id"]})
    assert len(await outbox(seeded, webhook_id)) == 3
    await data(admin, DELETE_WEBHOOK, {"id": webhook_id})
    assert await outbox(seeded) == []
    await data(editor, DELETE, {"id": article["id"]})
    assert [row.webhook_id for row in await outbox(seeded)] == [kept_id]
    assert await tick(seeded, clock, outbound) == 1
    assert [request.path for request in receiver.requests] == ["/hooks/cms/kept"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_tick_skips_what_another_is_claiming_on_postgresql(
    engine: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    """While one process holds deliveries in its claim, another's tick neither waits for them nor sends
    them: it sends the rest."""
    await create_webhook(admin, receiver.url, ["CONTENT_CHANGED"])
    for n in range(3):
        await create(editor, title=f"Story {n}")
    rows = await outbox(engine)
    async with AsyncSession(engine) as claiming, claiming.begin():
        held = select(DELIVERY.c.id).where(DELIVERY.c.id == rows[0].id).with_for_update()
        await claiming.execute(held)
        async with asyncio.timeout(10):
            assert await tick(engine, clock, outbound) == 2
    assert sorted(receiver.ids()) == sorted(row.id for row in rows[1:])


async def test_concurrent_ticks_of_two_processes_never_send_one_twice(
    engine: AsyncEngine,
    database_url: str,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    await create_webhook(admin, receiver.url, ["CONTENT_CHANGED"])
    for n in range(12):
        await create(editor, title=f"Story {n}")
    other = create_engine(database_url)
    try:
        while sum(await asyncio.gather(*(tick(e, clock, outbound, batch=2) for e in (engine, other) * 3))):
            pass
    finally:
        await other.dispose()
    assert Counter(receiver.ids()) == Counter({row.id: 1 for row in await outbox(engine)})
    assert {row.status for row in await outbox(engine)} == {"DELIVERED"}


async def test_deliveries_are_listed_newest_first(
    engine: AsyncEngine, admin: httpx.AsyncClient, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    webhook_id, _ = await create_webhook(admin, "https://example.com/hook", ["CONTENT_CHANGED"])
    for minutes in range(3):
        clock.set(NOW + timedelta(minutes=minutes))
        await create(editor, title=f"Story {minutes}")
    async with engine.connect() as connection:
        newest = (await connection.execute(*webhooks.recent_deliveries(webhook_id, 2))).all()
        every = (await connection.execute(*webhooks.recent_deliveries(webhook_id, None))).all()
    assert [row.created_at for row in newest] == [NOW + timedelta(minutes=m) for m in (2, 1)]
    assert len(every) == 3
    for wrong in (0, 101, -1):
        with pytest.raises(BadInput):
            webhooks.recent_deliveries(webhook_id, wrong)
    query = CREATE_WEBHOOK.replace("deliveries { id }", "deliveries(first: 101) { id }")
    body = await gql(admin, query, {"input": {"url": "https://example.com/x", "events": ["CONTENT_CHANGED"]}})
    assert error_codes(body) == ["BAD_USER_INPUT"]


ROWS: dict[str, dict[str, Any]] = {
    "draft": {"status": "DRAFT", "published_at": None, "publish_pending": False},
    "published": {"status": "PUBLISHED", "published_at": NOW, "publish_pending": False},
    "scheduled": {"status": "PUBLISHED", "published_at": NOW + timedelta(hours=1), "publish_pending": True},
    "due, not yet told": {"status": "PUBLISHED", "published_at": NOW, "publish_pending": True},
    "archived": {"status": "ARCHIVED", "published_at": NOW, "publish_pending": False},
}


@pytest.mark.parametrize(
    ("before", "after", "events"),
    [
        (None, "draft", ()),
        (None, "published", ("ARTICLE_PUBLISHED",)),
        ("draft", "draft", ()),
        ("draft", "scheduled", ()),
        ("draft", "published", ("ARTICLE_PUBLISHED",)),
        ("due, not yet told", "published", ("ARTICLE_PUBLISHED",)),
        ("due, not yet told", "draft", ()),
        ("published", "published", ("ARTICLE_UPDATED",)),
        ("published", "scheduled", ("ARTICLE_UNPUBLISHED",)),
        ("published", "archived", ("ARTICLE_UNPUBLISHED",)),
        ("published", "draft", ("ARTICLE_UNPUBLISHED",)),
        ("published", None, ("ARTICLE_DELETED",)),
        ("draft", None, ("ARTICLE_DELETED",)),
    ],
)
def test_which_events_an_article_change_triggers(
    before: str | None, after: str | None, events: tuple[str, ...]
) -> None:
    rows = (ROWS[before] if before else None, ROWS[after] if after else None)
    assert webhooks.article_events(*rows, now=NOW) == events


async def test_the_app_runs_the_worker_while_it_is_up(
    engine: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
) -> None:
    """The worker the lifespan starts delivers on its own, and stops with the app; none runs when off."""
    await create_webhook(admin, receiver.url, ["ARTICLE_PUBLISHED"])
    before = asyncio.all_tasks()
    examples = ROOT / "schema" / "examples"
    settings = Settings(webhook_interval=0.01, webhook_allow_private=True)
    app = create_app(settings, engine=engine, clock=clock, examples=examples)
    async with app.router.lifespan_context(app):
        assert len(asyncio.all_tasks() - before) == 1
        article = await create(editor)
        await data(editor, PUBLISH, {"id": article["id"]})
        async with asyncio.timeout(10):
            await receiver.arrived.wait()
    assert asyncio.all_tasks() == before
    assert receiver.requests[0].json()["id"] == article["id"]
    idle = create_app(Settings(webhooks=False), engine=engine, clock=clock, examples=examples)
    async with idle.router.lifespan_context(idle):
        assert asyncio.all_tasks() == before


def test_webhook_settings_come_from_cms_variables() -> None:
    settings = Settings.from_env(
        {"CMS_WEBHOOKS": "off", "CMS_WEBHOOK_INTERVAL": "0.5", "CMS_WEBHOOK_ATTEMPTS": "3"}
    )
    assert (settings.webhooks, settings.webhook_interval, settings.webhook_attempts) == (False, 0.5, 3)
    defaults = Settings.from_env({})
    assert (defaults.webhooks, defaults.webhook_interval, defaults.webhook_attempts) == (True, 1.0, 6)


async def test_admins_read_a_webhook_and_its_deliveries_through_node(
    seeded: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    webhook_id, _ = await create_webhook(admin, receiver.url, ["ARTICLE_PUBLISHED"])
    article = await create(editor, title="Read back")
    await data(editor, PUBLISH, {"id": article["id"]})
    await tick(seeded, clock, outbound)
    query = """query ($id: ID!) { node(id: $id) { id ... on Webhook {
      url events active deliveries { event attempt status responseCode } } } }"""
    node = (await data(admin, query, {"id": webhook_id}))["node"]
    assert node == {
        "id": webhook_id,
        "url": receiver.url,
        "events": ["ARTICLE_PUBLISHED"],
        "active": True,
        "deliveries": [
            {"event": "ARTICLE_PUBLISHED", "attempt": 1, "status": "DELIVERED", "responseCode": 200}
        ],
    }
    assert (await data(editor, query, {"id": webhook_id}))["node"] is None


def _fresh_import(*modules: str) -> set[str]:
    """Import `modules` in this order in a new interpreter; the modules that loaded."""
    code = "import importlib, json, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\n"
    code += "print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code, *modules], check=True, cwd=ROOT, capture_output=True)
    return set(orjson.loads(done.stdout))


def test_the_change_log_never_loads_webhooks() -> None:
    """Imports point one way: the log queues deliveries through the outbox, and webhooks (whose worker
    records scheduled publications in the log) imports the log, never the reverse."""
    loaded = _fresh_import("cms.content.changes")
    assert "cms.content.outbox" in loaded
    assert "cms.content.webhooks" not in loaded
    assert not {"cms.content.changes", "cms.content.webhooks"} & _fresh_import("cms.content.outbox")


@pytest.mark.parametrize("first", ["cms.content.changes", "cms.content.webhooks"])
def test_changes_and_webhooks_import_in_either_order(first: str) -> None:
    other = {"cms.content.changes": "cms.content.webhooks"}.get(first, "cms.content.changes")
    assert {first, other} <= _fresh_import(first, other)
