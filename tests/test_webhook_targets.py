"""Outbound targets (cms/content/targets.py): webhook URLs and the purge URL are refused when they name or
resolve to a loopback, private, link-local or otherwise non-public address, on create (INVALID, nothing
written) and again at every send (a failed attempt, never sent); redirects are never followed; old
delivered and failed deliveries are pruned. Receivers are real HTTP servers on 127.0.0.1; names are ours,
resolved through a resolver the tests set (`names`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import cms.app
from cms.app import create_app
from cms.clock import FixedClock
from cms.content import purges, targets, webhooks
from cms.content.roles import Role
from cms.content.targets import IPAddress
from cms.models import Webhook, WebhookDelivery, table_of
from cms.settings import Settings
from tests.conftest import NOW, ROOT, client_as, data, token_for
from tests.test_article_mutations import create
from tests.test_webhooks import CREATE_WEBHOOK

WEBHOOK = table_of(Webhook)
DELIVERY = table_of(WebhookDelivery)
PUBLIC = "93.184.215.14"
"""A public address our names may resolve to (nothing is ever sent to it: see each test)."""


# ---------------------------------------------------------------- the rule, address by address

REFUSED_LITERALS = [
    "127.0.0.1",
    "127.255.255.254",
    "2130706433",  # 127.0.0.1 as one decimal integer
    "0x7f000001",
    "0x7f.1",
    "0177.0.0.1",  # octal
    "127.1",
    "017700000001",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # the clouds' metadata service
    "0.0.0.0",
    "0",
    "100.64.0.1",  # carrier-grade NAT
    "192.0.0.8",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",  # mapped addresses are never a receiver's
    "::127.0.0.1",  # IPv4-compatible, deprecated
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "fe80::1",
    "fe80::1%25eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1",  # Teredo
    "100::1",
]
PUBLIC_LITERALS = [
    "8.8.8.8",
    "1.1.1.1",
    PUBLIC,
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "2002:808:808::1",
]
REFUSED_NAMES = [
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    "metadata.google.internal",
    "instance-data.ec2.internal",
    "printer.local",
    "nas.home.arpa",
    "db",  # a single label: the local search domains'
    "metadata",
]


@pytest.mark.parametrize("host", REFUSED_LITERALS)
async def test_every_non_public_address_form_is_refused(host: str) -> None:
    with pytest.raises(targets.Refused) as refused:
        await targets.addresses(host)
    assert not isinstance(refused.value, targets.Unresolved)
    assert host in str(refused.value)


@pytest.mark.parametrize(
    ("host", "meant"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
    ],
)
def test_integer_and_short_forms_are_read_as_resolvers_read_them(host: str, meant: str) -> None:
    assert targets.literal(host) == ip_address(meant)


def test_a_name_is_no_literal() -> None:
    assert [targets.literal(host) for host in ("example.com", "cafe", "0x7g.1", "1.2.3.4.5")] == [None] * 4


@pytest.mark.parametrize("host", PUBLIC_LITERALS)
async def test_public_addresses_are_targets(host: str) -> None:
    assert await targets.addresses(host) == [ip_address(host)]


@pytest.mark.parametrize("host", REFUSED_NAMES)
async def test_names_for_this_host_or_its_network_are_refused_by_name(
    host: str, names: dict[str, list[str]]
) -> None:
    names[host.lower().rstrip(".")] = [PUBLIC]  # whatever they resolve to
    with pytest.raises(targets.Refused) as refused:
        await targets.addresses(host)
    assert not isinstance(refused.value, targets.Unresolved)


@pytest.mark.parametrize(
    "resolved",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["169.254.169.254"],
        ["::1"],
        [PUBLIC, "192.168.0.10"],
        ["::ffff:10.0.0.1"],
    ],
)
async def test_a_name_resolving_to_any_non_public_address_is_refused(
    resolved: list[str], names: dict[str, list[str]]
) -> None:
    names["hooks.example"] = resolved
    with pytest.raises(targets.Refused, match="hooks.example' resolves to"):
        await targets.addresses("hooks.example")


async def test_a_name_resolving_to_public_addresses_is_a_target(names: dict[str, list[str]]) -> None:
    names["hooks.example"] = [PUBLIC, "2606:4700:4700::1111"]
    assert await targets.addresses("hooks.example") == [
        ip_address(PUBLIC),
        ip_address("2606:4700:4700::1111"),
    ]


async def test_the_system_resolver_reads_literals_and_refuses_what_does_not_resolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real getaddrinfo: a numeric host needs no DNS; `.invalid` never resolves (RFC 6761); a resolver
    that hangs is given up on after RESOLVE_TIMEOUT."""
    assert await targets.resolve("127.0.0.1") == [ip_address("127.0.0.1")]
    assert await targets.resolve("2130706433") == [ip_address("127.0.0.1")]
    with pytest.raises(targets.Unresolved):
        await targets.resolve("no-such-receiver.invalid")
    loop = asyncio.get_running_loop()

    async def hanging(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(10)

    monkeypatch.setattr(loop, "getaddrinfo", hanging)
    monkeypatch.setattr(targets, "RESOLVE_TIMEOUT", 0.05)
    with pytest.raises(targets.Unresolved, match="within"):
        await targets.resolve("slow.example")


async def test_allow_private_lifts_the_rule() -> None:
    for url in (
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://[::1]/",
        "http://db/",
        "http://10.0.0.1/",
    ):
        await targets.check(url, allow_private=True)
        with pytest.raises(targets.Refused):
            await targets.check(url, allow_private=False)


# ---------------------------------------------------------------- on create

HOSTILE = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "http://localhost:5432/",
    "http://[::1]/hook",
    "http://0.0.0.0:8000/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "https://[::ffff:127.0.0.1]/",
    "http://[fe80::1%25eth0]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://rebind.example/hook",  # resolves to 127.0.0.1 (`names`)
    "http://internal.example/hook",  # resolves to a public address and a private one
]


@pytest.mark.parametrize("url", HOSTILE)
async def test_create_refuses_every_non_public_target_and_writes_nothing(
    engine: AsyncEngine, admin: httpx.AsyncClient, names: dict[str, list[str]], url: str
) -> None:
    names["rebind.example"] = ["127.0.0.1"]
    names["internal.example"] = [PUBLIC, "10.20.30.40"]
    names["metadata.google.internal"] = ["169.254.169.254"]
    variables = {"input": {"url": url, "events": ["CONTENT_CHANGED"]}}
    payload = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
    assert (payload["webhook"], payload["secret"]) == (None, None)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "url"], "INVALID")]
    message = payload["userErrors"][0]["message"]
    assert message.startswith("not a public target: ")
    assert "CMS_WEBHOOK_ALLOW_PRIVATE" in message
    assert await count(engine, WEBHOOK) == 0


async def test_create_accepts_a_public_name_and_one_that_does_not_resolve_yet(
    engine: AsyncEngine, admin: httpx.AsyncClient, names: dict[str, list[str]]
) -> None:
    """A name that does not resolve now is checked again at every send (refused there while it does not)."""
    names["hooks.example"] = [PUBLIC]
    for url in ("https://hooks.example/cms", "https://not-yet.example/cms", f"https://{PUBLIC}/cms"):
        variables = {"input": {"url": url, "events": ["CONTENT_CHANGED"]}}
        payload = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
        assert payload["userErrors"] == [], url
    assert await count(engine, WEBHOOK) == 3


async def test_with_the_setting_an_admin_may_name_a_receiver_on_this_host(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    token = await token_for(engine, Role.ADMIN)
    async with client_as(engine, clock, token, webhook_allow_private=True) as admin:
        variables = {"input": {"url": "http://127.0.0.1:9/hook", "events": ["CONTENT_CHANGED"]}}
        payload = (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]
    assert payload["userErrors"] == []


# ---------------------------------------------------------------- at send time


@dataclass
class Receiver:
    """A real HTTP endpoint on 127.0.0.1: records each request (its path and Host), answers `answers[path]`
    (a status and headers; 200 when not given)."""

    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            fields = (line.partition(":") for line in head[1:] if line)
            headers = {name.strip().lower(): value.strip() for name, _, value in fields}
            await reader.readexactly(int(headers.get("content-length", "0")))
            path = head[0].split(" ")[1]
            self.requests.append((path, headers.get("host", "")))
            status, extra = self.answers.get(path, (200, {}))
            lines = "".join(f"{name}: {value}\r\n" for name, value in extra.items())
            writer.write(
                f"HTTP/1.1 {status} X\r\n{lines}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            writer.close()

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    async with server:
        yield receiver


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The names the rule resolves, and their addresses: set by each test (a name not in it does not
    resolve). The pinned transport resolves through the same function, so what it connects to is ours."""
    table: dict[str, list[str]] = {}

    async def resolve(host: str) -> list[IPAddress]:
        if host not in table:
            raise targets.Unresolved(f"{host!r} does not resolve (the test's resolver)")
        return [ip_address(address) for address in table[host]]

    monkeypatch.setattr(targets, "resolve", resolve)
    return table


async def hook_at(engine: AsyncEngine, url: str) -> str:
    """A webhook for CONTENT_CHANGED at `url`, written as createWebhook writes one (the rule lifted)."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        created = await webhooks.create_webhook(
            session,
            url=url,
            events=[webhooks.Event.CONTENT_CHANGED],
            description=None,
            now=NOW,
            allow_private=True,
        )
    return created.row.id


async def only_delivery(engine: AsyncEngine) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(select(DELIVERY))).one()


async def test_a_name_that_now_resolves_to_this_host_is_not_sent_to(
    engine: AsyncEngine,
    admin: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    clock: FixedClock,
    receiver: Receiver,
    names: dict[str, list[str]],
) -> None:
    """Accepted on create while public, the name then resolves to 127.0.0.1, where the receiver is: the
    attempt fails with the reason, nothing reaches the receiver, and it is retried as any failure is."""
    names["hooks.example"] = [PUBLIC]
    variables = {
        "input": {"url": f"http://hooks.example:{receiver.port}/hook", "events": ["CONTENT_CHANGED"]}
    }
    assert (await data(admin, CREATE_WEBHOOK, variables))["createWebhook"]["userErrors"] == []
    await create(editor, title="Never told")
    names["hooks.example"] = ["127.0.0.1"]
    async with httpx.AsyncClient() as plain:  # any client: the rule is the tick's, not the client's
        assert await webhooks.deliver_due(engine, clock=clock, client=plain) == 1
    row = await only_delivery(engine)
    assert (row.status, row.attempt, row.response_code) == ("PENDING", 1, None)
    assert row.error == ("refused target: 'hooks.example' resolves to 127.0.0.1, a loopback address")
    assert receiver.requests == []


async def test_a_name_rebinding_between_check_and_connect_reaches_nothing(
    engine: AsyncEngine, clock: FixedClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when the send is checked, 127.0.0.1 a moment later when the worker's client
    connects. The client connects only to the address it checked itself, so nothing is sent."""
    await hook_at(engine, f"http://rebind.example:{receiver.port}/hook")
    await queue_one(engine)
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    async def rebinding(host: str) -> list[IPAddress]:
        return [ip_address(address) for address in next(answers)]

    monkeypatch.setattr(targets, "resolve", rebinding)
    async with targets.client(allow_private=False, timeout=5) as worker_client:
        assert await webhooks.deliver_due(engine, clock=clock, client=worker_client) == 1
    row = await only_delivery(engine)
    assert (row.status, row.response_code) == ("PENDING", None)
    assert row.error.startswith("ConnectError: refused target: 'rebind.example' resolves to 127.0.0.1")
    assert receiver.requests == []


async def test_the_worker_client_connects_to_the_address_it_checked_with_the_host_kept(
    engine: AsyncEngine,
    clock: FixedClock,
    receiver: Receiver,
    names: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`hooks.example` exists only in the test's resolver, so a delivery that arrives proves the client
    connected to the address the rule returned (loopback is let through here, for the receiver), with the
    URL's host in the Host header."""
    names["hooks.example"] = ["127.0.0.1"]
    checked = targets.address_problem
    monkeypatch.setattr(
        targets, "address_problem", lambda address: None if address.is_loopback else checked(address)
    )
    await hook_at(engine, f"http://hooks.example:{receiver.port}/hook")
    await queue_one(engine)
    async with targets.client(allow_private=False, timeout=5) as worker_client:
        assert await webhooks.deliver_due(engine, clock=clock, client=worker_client) == 1
    assert receiver.requests == [("/hook", f"hooks.example:{receiver.port}")]
    assert (await only_delivery(engine)).status == "DELIVERED"


async def test_a_redirect_is_never_followed_and_is_a_failure(
    engine: AsyncEngine, clock: FixedClock, receiver: Receiver
) -> None:
    receiver.answers["/hook"] = (307, {"Location": "/elsewhere"})
    await hook_at(engine, f"http://127.0.0.1:{receiver.port}/hook")
    await queue_one(engine)
    async with (
        targets.client(allow_private=True, timeout=5) as worker_client,
        httpx.AsyncClient(follow_redirects=True) as following,  # a caller's client that follows: not here
    ):
        assert await webhooks.deliver_due(engine, clock=clock, client=worker_client, allow_private=True) == 1
        clock.set(NOW + timedelta(minutes=1))
        assert await webhooks.deliver_due(engine, clock=clock, client=following, allow_private=True) == 1
    assert receiver.paths == ["/hook", "/hook"]
    row = await only_delivery(engine)
    assert (row.status, row.attempt, row.response_code, row.error) == ("PENDING", 2, 307, "HTTP 307")


async def test_the_purge_url_is_held_to_the_rule_and_its_redirects_not_followed(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    """A refused purge target is never sent to and the cursor stays (the purge waits for a permitted
    target); a redirect is not followed and is a failure too; a 2xx moves the cursor on."""
    url = f"http://127.0.0.1:{receiver.port}/purge"
    async with targets.client(allow_private=True, timeout=5) as http:
        assert await purges.purge_due(engine, client=http, url=url, allow_private=True) == 0  # the first
        await queue_one(engine)
        cursor = await purge_cursor(engine)
        assert await purges.purge_due(engine, client=http, url=url) == 0
        assert receiver.requests == []
        receiver.answers["/purge"] = (301, {"Location": "/moved"})
        assert await purges.purge_due(engine, client=http, url=url, allow_private=True) == 0
        assert receiver.paths == ["/purge"]
        assert await purge_cursor(engine) == cursor
        del receiver.answers["/purge"]
        assert await purges.purge_due(engine, client=http, url=url, allow_private=True) >= 1
    assert receiver.paths == ["/purge", "/purge"]
    assert await purge_cursor(engine) > cursor


# ---------------------------------------------------------------- pruning

DAY = timedelta(days=1)


async def test_pruning_deletes_old_delivered_and_failed_deliveries_only(engine: AsyncEngine) -> None:
    webhook_id = await hook_at(engine, "https://hooks.example/cms")
    rows = {
        "old delivered": ("DELIVERED", NOW - 31 * DAY),
        "old failed": ("FAILED", NOW - 40 * DAY),
        "old pending": ("PENDING", NOW - 90 * DAY),
        "recent delivered": ("DELIVERED", NOW - 29 * DAY),
        "recent failed": ("FAILED", NOW - DAY),
        "new pending": ("PENDING", NOW),
    }
    await insert_deliveries(engine, webhook_id, rows)
    assert await webhooks.prune_deliveries(engine, before=NOW - 30 * DAY) == 2
    assert await delivery_ids(engine) == {"old pending", "recent delivered", "recent failed", "new pending"}
    assert await webhooks.prune_deliveries(engine, before=NOW - 30 * DAY) == 0


async def test_pruning_goes_in_short_batches_until_none_is_left(engine: AsyncEngine) -> None:
    webhook_id = await hook_at(engine, "https://hooks.example/cms")
    await insert_deliveries(engine, webhook_id, {f"d{n}": ("DELIVERED", NOW - 60 * DAY) for n in range(7)})
    assert await webhooks.prune_deliveries(engine, before=NOW - 30 * DAY, batch=3) == 7
    assert await delivery_ids(engine) == set()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL scans a near-empty table
async def test_the_prune_reads_its_index(engine: AsyncEngine) -> None:
    old = """SELECT id FROM webhook_delivery WHERE status IN ('DELIVERED', 'FAILED') AND created_at < :before
      LIMIT 1000"""  # webhooks._OLD
    async with engine.connect() as connection:
        plan = (await connection.execute(text(f"EXPLAIN QUERY PLAN {old}"), {"before": NOW})).all()
    assert "USING INDEX ix_webhook_delivery_done" in " ".join(str(row) for row in plan)


async def test_the_worker_prunes_on_its_first_tick_then_once_an_hour(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    webhook_id = await hook_at(engine, "https://hooks.example/cms")
    await insert_deliveries(engine, webhook_id, {"old": ("DELIVERED", NOW - 8 * DAY)})
    async with webhooks.worker(engine, clock=clock, interval=0.01, attempts=6, retention_days=7):
        await until(lambda ids: "old" not in ids, engine)
        await insert_deliveries(engine, webhook_id, {"older": ("FAILED", NOW - 9 * DAY)})
        await asyncio.sleep(0.1)  # several ticks within the hour: no pruning
        assert await delivery_ids(engine) == {"older"}
        clock.set(NOW + webhooks.PRUNE_EVERY)
        await until(lambda ids: not ids, engine)


async def test_the_app_gives_the_worker_its_settings(
    engine: AsyncEngine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def worker(engine: AsyncEngine, **options: Any) -> AsyncIterator[None]:
        given.update(options)
        yield

    monkeypatch.setattr(cms.app.webhooks, "worker", worker)
    settings = Settings(webhook_allow_private=True, webhook_retention_days=7, purge_url="http://cache/")
    app = create_app(settings, engine=engine, clock=clock, examples=ROOT / "schema" / "examples")
    async with app.router.lifespan_context(app):
        pass
    assert {k: given[k] for k in ("allow_private", "retention_days", "purge_url")} == {
        "allow_private": True,
        "retention_days": 7,
        "purge_url": "http://cache/",
    }


def test_the_settings_come_from_cms_variables() -> None:
    settings = Settings.from_env({"CMS_WEBHOOK_ALLOW_PRIVATE": "1", "CMS_WEBHOOK_RETENTION_DAYS": "7"})
    assert (settings.webhook_allow_private, settings.webhook_retention_days) == (True, 7)
    defaults = Settings.from_env({})
    assert (defaults.webhook_allow_private, defaults.webhook_retention_days) == (False, 30)


# ---------------------------------------------------------------- helpers


async def count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(table))).scalar_one()


async def queue_one(engine: AsyncEngine) -> None:
    """A change that queues one CONTENT_CHANGED delivery per webhook (and a change-log event)."""
    token = await token_for(engine, Role.EDITOR)
    async with client_as(engine, FixedClock(NOW), token) as editor:
        await create(editor, title="A story for the outbox")


async def purge_cursor(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        cursor: int = (await connection.execute(text("SELECT sequence FROM purge_cursor"))).scalar_one()
    return cursor


async def insert_deliveries(
    engine: AsyncEngine, webhook_id: str, rows: dict[str, tuple[str, datetime]]
) -> None:
    values = [
        {
            "id": id_,
            "webhook_id": webhook_id,
            "event": "CONTENT_CHANGED",
            "body": "{}",
            "status": status,
            "attempt": 1,
            "created_at": created_at,
            "next_attempt_at": created_at if status == "PENDING" else None,
        }
        for id_, (status, created_at) in rows.items()
    ]
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(insert(DELIVERY), values)


async def delivery_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.execute(select(DELIVERY.c.id))).scalars())


async def until(done: Callable[[set[str]], bool], engine: AsyncEngine) -> None:
    """Until the deliveries left satisfy `done` (the worker prunes on its own time)."""
    async with asyncio.timeout(10):
        while True:
            if done(await delivery_ids(engine)):
                return
            await asyncio.sleep(0.01)
