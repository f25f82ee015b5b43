"""ADMIN's mutations: API tokens and webhooks."""

from __future__ import annotations

from datetime import datetime

import strawberry

from cms.content.roles import Role
from cms.graphql.context import Info
from cms.graphql.enums import WebhookEvent
from cms.graphql.nodes import Node
from cms.graphql.writes import DeletePayload, UserError, not_yet


@strawberry.input
class WebhookInput:
    url: str
    events: list[WebhookEvent]
    description: str | None = None


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    event: WebhookEvent
    attempt: int
    status: str
    response_code: int | None
    created_at: datetime


@strawberry.type
class Webhook(Node):
    url: str
    events: list[WebhookEvent]
    active: bool

    @strawberry.field
    def deliveries(self, first: int | None = 20) -> list[WebhookDelivery]:
        return []


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
    @strawberry.mutation(description="ADMIN only.")
    def create_api_token(
        self, info: Info, name: str, role: Role, expires_at: datetime | None = None
    ) -> ApiTokenPayload:
        not_yet(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def revoke_api_token(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def create_webhook(self, info: Info, input: WebhookInput) -> WebhookPayload:
        not_yet(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def delete_webhook(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.ADMIN)
