"""The webhook outbox: which events a change triggers, and their deliveries queued in the change's own
transaction.

`changes.append` calls `enqueue`, so a write that rolls back queues nothing and one that commits cannot lose
its deliveries. This module knows nothing of the change log or of sending: `changes` depends on it, and
`webhooks` (subscriptions, signing, the delivery worker) on both, so imports point one way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import keys
from cms.content.ids import new_id
from cms.content.visibility import public_sees
from cms.models import Webhook, WebhookDelivery, table_of

WEBHOOK: Table = table_of(Webhook)
DELIVERY: Table = table_of(WebhookDelivery)
WEBHOOK_EVENTS = "webhook_events"
"""The key of a change-log row's own webhook events: queued with it, never stored in the log."""


class Event(StrEnum):
    ARTICLE_PUBLISHED = "ARTICLE_PUBLISHED"
    ARTICLE_UNPUBLISHED = "ARTICLE_UNPUBLISHED"
    ARTICLE_UPDATED = "ARTICLE_UPDATED"
    ARTICLE_DELETED = "ARTICLE_DELETED"
    CONTENT_CHANGED = "CONTENT_CHANGED"


class Status(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


def article_events(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *, now: datetime
) -> tuple[Event, ...]:
    """What an article change means to a receiver, from its row before (None: new) and after (None:
    deleted): coming into the public's sight is ARTICLE_PUBLISHED, going out of it ARTICLE_UNPUBLISHED,
    staying in it ARTICLE_UPDATED; a draft's edits are none of these. A scheduled article whose time has come
    counts as unseen until its publication is recorded (`publish_pending`), so it is published once. Every
    change also triggers CONTENT_CHANGED (`enqueue`)."""
    if after is None:
        return (Event.ARTICLE_DELETED,)
    told = before is not None and public_sees(before, now) and not before["publish_pending"]
    match told, public_sees(after, now):
        case True, True:
            return (Event.ARTICLE_UPDATED,)
        case True, False:
            return (Event.ARTICLE_UNPUBLISHED,)
        case False, True:
            return (Event.ARTICLE_PUBLISHED,)
    return ()


async def enqueue(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue, in the caller's transaction, a delivery of each change-log row's events (CONTENT_CHANGED and
    its own `WEBHOOK_EVENTS`) to each active webhook subscribed to them."""
    hooks = (await session.execute(select(WEBHOOK.c.id, WEBHOOK.c.events).where(WEBHOOK.c.active))).all()
    deliveries = [
        _delivery(hook.id, event, row)
        for row in rows
        for event in (Event.CONTENT_CHANGED, *row[WEBHOOK_EVENTS])
        for hook in hooks
        if event in hook.events
    ]
    if deliveries:
        await session.execute(insert(DELIVERY), deliveries)


def _delivery(webhook_id: str, event: Event, change: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery row, due at once. Its body is what receivers parse; keep its keys stable (README)."""
    id_, now = new_id("WebhookDelivery"), change["occurred_at"]
    body = {
        "deliveryId": id_,
        "webhookId": webhook_id,
        "event": event.value,
        "typename": change["typename"],
        "id": change["entity_id"],
        "occurredAt": now.isoformat(),
        "surrogateKeys": keys.written([(change["typename"], change["entity_id"])]),
    }
    return {
        "id": id_,
        "webhook_id": webhook_id,
        "event": event.value,
        "body": orjson.dumps(body).decode(),
        "status": Status.PENDING.value,
        "attempt": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
