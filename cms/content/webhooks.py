"""Webhooks: subscriptions, signing and delivery. Which events a change triggers, and queuing their
deliveries in the change's own transaction, are the outbox's (`cms.content.outbox`; `Event` and
`article_events` are named here too, for the callers).

The worker (`run`; one tick of it is `deliver_due`) claims due deliveries, commits, sends them with no
transaction open, then records how each went. Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
processes sharing a database never send one delivery twice; SQLite's write transactions take turns. A claim
holds a delivery for LEASE: if the process sending it dies, it is sent again after that, as the next
attempt. A receiver may so see a delivery twice (the same X-CMS-Delivery), never miss one.

Targets are held to `cms.content.targets`' rule (no loopback, private or other non-public address unless
`allow_private`) when a webhook is created and at every send; a refused send is a failed attempt. Once an
hour (PRUNE_EVERY) the worker deletes the delivered and failed deliveries older than its retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.clock import Clock
from cms.content import changes, purges, targets
from cms.content.errors import FieldError, InvalidInput
from cms.content.forms import web_url
from cms.content.ids import new_id
from cms.content.outbox import DELIVERY, WEBHOOK, Status
from cms.content.outbox import Event as Event
from cms.content.outbox import article_events as article_events
from cms.content.pagination import PageRequest
from cms.content.reads import NOW, Read
from cms.db import snapshot
from cms.models import Webhook

log = logging.getLogger("cms.webhooks")
URL_LENGTH = 2000
DESCRIPTION_LENGTH = 1000
SECRET_PREFIX = "whsec_"
ATTEMPTS = 6
TIMEOUT = 10.0
"""Seconds a receiver has to answer a delivery."""
LEASE = timedelta(minutes=1)
"""How long a claim holds a delivery: well past TIMEOUT, so nobody sends it again while it is under way."""
BATCH = 50
"""Deliveries one tick claims and sends at once."""
FIRST_RETRY = timedelta(seconds=10)
BACKOFF = 6
RETENTION_DAYS = 30
"""How long delivered and failed deliveries are kept (CMS_WEBHOOK_RETENTION_DAYS)."""
PRUNE_EVERY = timedelta(hours=1)
"""How often a worker deletes the deliveries past their retention."""
PRUNE_BATCH = 1000
"""Deliveries one pruning transaction deletes at most: short transactions, which SQLite's writers share."""


def signature(secret: str, body: bytes) -> str:
    """The X-CMS-Signature header: `sha256=` and the hex HMAC-SHA256 of the raw body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Created:
    """A new webhook and its secret, to be shown once."""

    row: Webhook
    secret: str


async def create_webhook(
    session: AsyncSession,
    *,
    url: str,
    events: Sequence[Event],
    description: str | None,
    now: datetime,
    allow_private: bool,
) -> Created:
    """A webhook for `events` at `url` (http or https, with a host that is a public target, unless
    `allow_private`: `cms.content.targets`); every problem as InvalidInput. A name that does not resolve
    now is accepted: every send checks it again. The name is resolved before any statement, so no
    transaction waits on it."""
    url = url.strip()
    description = (description or "").strip() or None
    errors = []
    if not url:
        errors.append(FieldError(("input", "url"), "REQUIRED", "a webhook needs a URL"))
    elif len(url) > URL_LENGTH:
        message = f"url is longer than {URL_LENGTH:,} characters"
        errors.append(FieldError(("input", "url"), "TOO_LONG", message))
    elif not web_url(url):
        errors.append(FieldError(("input", "url"), "INVALID", f"not an http(s) URL with a host: {url!r}"))
    else:
        try:
            await targets.check(url, allow_private=allow_private)
        except targets.Unresolved:
            pass
        except targets.Refused as refused:
            message = f"not a public target: {refused} (CMS_WEBHOOK_ALLOW_PRIVATE allows such targets)"
            errors.append(FieldError(("input", "url"), "INVALID", message))
    if not events:
        errors.append(FieldError(("input", "events"), "REQUIRED", "subscribe to at least one event"))
    if description and len(description) > DESCRIPTION_LENGTH:
        message = f"description is longer than {DESCRIPTION_LENGTH:,} characters"
        errors.append(FieldError(("input", "description"), "TOO_LONG", message))
    if errors:
        raise InvalidInput(errors)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = Webhook(
        id=new_id("Webhook"),
        url=url,
        events=[e.value for e in dict.fromkeys(events)],
        description=description,
        secret=secret,
        active=True,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return Created(row, secret)


async def delete_webhook(session: AsyncSession, *, webhook_id: str) -> str:
    """Delete a webhook with its deliveries (the foreign key cascades): nothing more is sent to it."""
    statement = delete(WEBHOOK).where(WEBHOOK.c.id == webhook_id).returning(WEBHOOK.c.id)
    if (await session.execute(statement)).scalar_one_or_none() is None:
        raise InvalidInput([FieldError(("id",), "NOT_FOUND", f"no webhook has the id {webhook_id!r}")])
    return webhook_id


_RECENT = (
    select(*DELIVERY.c)
    .where(DELIVERY.c.webhook_id == bindparam("webhook_id"))
    .order_by(DELIVERY.c.created_at.desc(), DELIVERY.c.id.desc())
    .limit(bindparam("first"))
)


def recent_deliveries(webhook_id: str, first: int | None) -> Read:
    """A webhook's deliveries, newest first; `first` is 1..100 (default 20) as for every list."""
    size = PageRequest.of(first=first).size
    return Read(_RECENT, {"webhook_id": webhook_id, "first": size})


def retry_after(attempt: int) -> timedelta:
    """The wait after failed attempt `attempt`: 10 s, 1 min, 6 min, 36 min, 3.6 h... (x BACKOFF each)."""
    return FIRST_RETRY * BACKOFF ** (attempt - 1)


_PENDING = (
    select(DELIVERY.c.id)
    .where(DELIVERY.c.status == Status.PENDING.value, DELIVERY.c.next_attempt_at <= NOW)
    .limit(1)
)
_CLAIM = (
    select(
        DELIVERY.c.id, DELIVERY.c.event, DELIVERY.c.body, DELIVERY.c.attempt, WEBHOOK.c.url, WEBHOOK.c.secret
    )
    .join(WEBHOOK, WEBHOOK.c.id == DELIVERY.c.webhook_id)
    .where(DELIVERY.c.status == Status.PENDING.value, DELIVERY.c.next_attempt_at <= NOW)
    .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True, of=DELIVERY)
)
_RECORD = (
    update(DELIVERY)
    .where(DELIVERY.c.id == bindparam("_id"), DELIVERY.c.attempt == bindparam("_attempt"))
    .values(
        status=bindparam("status"),
        response_code=bindparam("response_code"),
        error=bindparam("error"),
        next_attempt_at=bindparam("next_attempt_at"),
    )
)


@dataclass(frozen=True)
class _Claimed:
    id: str
    event: str
    body: str
    attempt: int
    url: str
    secret: str


@dataclass(frozen=True)
class _Outcome:
    delivery: _Claimed
    response_code: int | None
    error: str | None


async def deliver_due(
    engine: AsyncEngine,
    *,
    clock: Clock,
    client: httpx.AsyncClient,
    attempts: int = ATTEMPTS,
    batch: int = BATCH,
    allow_private: bool = False,
) -> int:
    """One tick of the worker: record the scheduled publications whose time has come (so their events go
    out with nobody reading the feed), then claim up to `batch` due deliveries, send them at once and record
    each outcome (a target `cms.content.targets` refuses, unless `allow_private`, is a failed attempt,
    never sent to). Returns how many were sent. Idle, it costs two short reads and writes nothing."""
    now = clock.now()
    reader = await snapshot(engine)
    try:
        publications = await reader.fetch(*changes.due(now))
        deliveries = await reader.fetch(_PENDING, {"now": now})
    finally:
        await reader.close()
    if publications:
        async with AsyncSession(engine) as session, session.begin():
            await changes.record_due_publications(session, now=now)
    if not (publications or deliveries):
        return 0
    claimed = await _claim(engine, now=now, attempts=attempts, batch=batch)
    outcomes = await asyncio.gather(*(_send(client, delivery, allow_private) for delivery in claimed))
    if outcomes:
        await _record(engine, outcomes, now=clock.now(), attempts=attempts)
    return len(claimed)


async def _claim(engine: AsyncEngine, *, now: datetime, attempts: int, batch: int) -> list[_Claimed]:
    """Take due deliveries for one attempt each, in a short transaction of their own. One whose attempts are
    spent was due only because the process sending its last one died: it has FAILED."""
    async with AsyncSession(engine) as session, session.begin():
        rows = (await session.execute(_CLAIM, {"now": now, "batch": batch})).all()
        spent = [row.id for row in rows if row.attempt >= attempts]
        claimed = [
            _Claimed(**{**row._mapping, "attempt": row.attempt + 1}) for row in rows if row.attempt < attempts
        ]
        if spent:
            await session.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id.in_(spent))
                .values(
                    status=Status.FAILED.value,
                    next_attempt_at=None,
                    error="no outcome was recorded for the last attempt",
                )
            )
        if claimed:
            await session.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id.in_([c.id for c in claimed]))
                .values(attempt=DELIVERY.c.attempt + 1, attempted_at=now, next_attempt_at=now + LEASE)
            )
    return claimed


async def _send(client: httpx.AsyncClient, delivery: _Claimed, allow_private: bool) -> _Outcome:
    """POST the body, signed, to a target the rule permits: a 2xx answer is delivered; another (a redirect
    too: never followed) or none is a failure, and so is a refused target, which is not sent to."""
    try:
        await targets.check(delivery.url, allow_private=allow_private)
    except targets.Refused as refused:
        return _Outcome(delivery, None, f"refused target: {refused}"[:500])
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "X-CMS-Event": delivery.event,
        "X-CMS-Delivery": delivery.id,
        "X-CMS-Signature": signature(delivery.secret, body),
    }
    try:
        response = await client.post(
            delivery.url, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False
        )
    except httpx.HTTPError as error:
        return _Outcome(delivery, None, f"{type(error).__name__}: {error}"[:500])
    if response.is_success:
        return _Outcome(delivery, response.status_code, None)
    return _Outcome(delivery, response.status_code, f"HTTP {response.status_code}")


async def _record(engine: AsyncEngine, outcomes: Sequence[_Outcome], *, now: datetime, attempts: int) -> None:
    """DELIVERED, FAILED after the last attempt, else PENDING until `retry_after`. Only the attempt an
    outcome belongs to is updated: a claim whose lease ran out may have been taken again since."""
    values = []
    for outcome in outcomes:
        delivery = outcome.delivery
        next_attempt_at: datetime | None
        status, next_attempt_at = Status.PENDING, now + retry_after(delivery.attempt)
        if outcome.error is None:
            status, next_attempt_at = Status.DELIVERED, None
        elif delivery.attempt >= attempts:
            status, next_attempt_at = Status.FAILED, None
        values.append(
            {
                "_id": delivery.id,
                "_attempt": delivery.attempt,
                "status": status.value,
                "response_code": outcome.response_code,
                "error": outcome.error,
                "next_attempt_at": next_attempt_at,
            }
        )
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(_RECORD, values)


_OLD = (
    select(DELIVERY.c.id)
    .where(
        DELIVERY.c.status.in_([Status.DELIVERED.value, Status.FAILED.value]),
        DELIVERY.c.created_at < bindparam("before"),
    )
    .limit(bindparam("batch"))
)
_PRUNE = delete(DELIVERY).where(DELIVERY.c.id.in_(_OLD)).returning(DELIVERY.c.id)


async def prune_deliveries(engine: AsyncEngine, *, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the delivered and failed deliveries queued before `before` (pending ones stay, however old),
    `batch` a transaction, found through ix_webhook_delivery_done. Returns how many went."""
    pruned = 0
    while True:
        async with AsyncSession(engine) as session, session.begin():
            gone = len((await session.execute(_PRUNE, {"before": before, "batch": batch})).all())
        pruned += gone
        if gone < batch:
            return pruned


@contextlib.asynccontextmanager
async def worker(
    engine: AsyncEngine,
    *,
    clock: Clock,
    interval: float,
    attempts: int,
    purge_url: str | None = None,
    allow_private: bool = False,
    retention_days: int = RETENTION_DAYS,
) -> AsyncIterator[None]:
    """The delivery worker, running in the background while the context is open, sending the purges too
    when there is a `purge_url` (`content.purges`), to targets `cms.content.targets` permits (all of them
    with `allow_private`), and pruning deliveries older than `retention_days`. On leaving, the tick under
    way finishes (its sends take at most TIMEOUT), so nothing it claimed waits out a lease."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        _run(
            engine,
            clock=clock,
            interval=interval,
            attempts=attempts,
            purge_url=purge_url,
            allow_private=allow_private,
            retention=timedelta(days=retention_days),
            stop=stop,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task


async def _run(
    engine: AsyncEngine,
    *,
    clock: Clock,
    interval: float,
    attempts: int,
    purge_url: str | None,
    allow_private: bool,
    retention: timedelta,
    stop: asyncio.Event,
) -> None:
    """Tick until `stop` is set: at once again after a full batch, else every `interval` seconds; the first
    tick and one every PRUNE_EVERY prune. A failing tick (the database away) is logged, and the next one
    tries again."""
    pruned_at: datetime | None = None
    async with targets.client(allow_private=allow_private, timeout=TIMEOUT) as client:
        while not stop.is_set():
            try:
                now = clock.now()
                if pruned_at is None or now - pruned_at >= PRUNE_EVERY:
                    await prune_deliveries(engine, before=now - retention)
                    pruned_at = now
                sent = await deliver_due(
                    engine, clock=clock, client=client, attempts=attempts, allow_private=allow_private
                )
                if purge_url is not None:
                    purged = await purges.purge_due(
                        engine, client=client, url=purge_url, allow_private=allow_private
                    )
                    sent = max(sent, purged)
            except Exception:  # the worker outlives whatever went wrong in one tick
                log.exception("webhook delivery tick failed")
                sent = 0
            if sent < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
