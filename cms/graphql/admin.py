"""ADMIN's mutations: API tokens and webhooks."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import tokens, webhooks
from cms.content.errors import Forbidden
from cms.content.roles import Role
from cms.content.visibility import can_administer
from cms.graphql.context import Info
from cms.graphql.enums import WebhookEvent
from cms.graphql.fields import served
from cms.graphql.nodes import Node
from cms.graphql.writes import DeletePayload, UserError, delete, write


@strawberry.input
class WebhookInput:
    url: str
    events: list[WebhookEvent]
    description: str | None = None


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The X-CMS-Delivery header and the body's deliveryId.")
    event: WebhookEvent
    attempt: int = strawberry.field(description="Attempts made so far.")
    status: str = strawberry.field(description="PENDING (retried with backoff), DELIVERED or FAILED.")
    response_code: int | None = strawberry.field(description="The HTTP status of the last attempt's answer.")
    created_at: datetime


@strawberry.type
class Webhook(Node):
    url: str
    events: list[WebhookEvent]
    active: bool

    @strawberry.field(description="Newest first; first: 1..100.")
    async def deliveries(self, info: Info, first: int | None = 20) -> list[WebhookDelivery]:
        return list(await info.context.fetch(*webhooks.recent_deliveries(self.id, first)))


@strawberry.type
class ApiToken:
    id: strawberry.ID
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    secret: str | None
    user_errors: list[UserError]


@strawberry.type
class ApiTokenPayload:
    api_token: ApiToken | None
    token: str | None
    user_errors: list[UserError]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(description="ADMIN only. `token` is shown this once: only its hash is stored.")
    async def create_api_token(
        self, info: Info, name: str, role: Role, expires_at: datetime | None = None
    ) -> ApiTokenPayload:
        async def change(session: AsyncSession, actor: str) -> tokens.Issued:
            return await tokens.create_token(
                session, name=name, role=role, expires_at=expires_at, now=info.context.now
            )

        issued, errors = await write(info, Role.ADMIN, change)
        if issued is None:
            return ApiTokenPayload(api_token=None, token=None, user_errors=errors)
        return ApiTokenPayload(api_token=served(issued.row), token=issued.token, user_errors=[])

    @strawberry.mutation(description="ADMIN only. The token fails from the next request on.")
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def change(session: AsyncSession, actor: str) -> str:
            return (await tokens.revoke_token(session, token_id=id, now=info.context.now)).id

        return await delete(info, Role.ADMIN, change)

    @strawberry.mutation(
        description="ADMIN only. `secret` is shown this once: every delivery carries the header "
        "X-CMS-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>."
    )
    async def create_webhook(self, info: Info, input: WebhookInput) -> WebhookPayload:
        async def change(session: AsyncSession, actor: str) -> webhooks.Created:
            return await webhooks.create_webhook(
                session,
                url=input.url,
                events=list(input.events),
                description=input.description,
                now=info.context.now,
                allow_private=info.context.allow_private_targets,
            )

        created, errors = await write(info, Role.ADMIN, change)
        if created is None:
            return WebhookPayload(webhook=None, secret=None, user_errors=errors)
        return WebhookPayload(webhook=served(created.row), secret=created.secret, user_errors=[])

    @strawberry.mutation(description="ADMIN only. With its deliveries: nothing more is sent to it.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def change(session: AsyncSession, actor: str) -> str:
            return await webhooks.delete_webhook(session, webhook_id=id)

        return await delete(info, Role.ADMIN, change)


@strawberry.type(description="How reads were answered since this process started (ADMIN only).")
class PlannerStats:
    enabled: bool
    planned: int = strawberry.field(description="Requests the planner answered.")
    fallbacks: list[PlannerFallback] = strawberry.field(
        description="Requests the resolvers answered, by reason."
    )


@strawberry.type
class PlannerFallback:
    reason: str
    count: int


def planner_stats(info: Info) -> PlannerStats:
    if not can_administer(info.context.viewer):
        raise Forbidden("the planner's figures are for admins")
    planner = info.context.planner
    if planner is None:
        return PlannerStats(enabled=False, planned=0, fallbacks=[])
    counted = planner.fallbacks.most_common()
    return PlannerStats(
        enabled=True,
        planned=planner.planned,
        fallbacks=[PlannerFallback(reason=reason, count=count) for reason, count in counted],
    )
