"""ADMIN's mutations: API tokens and webhooks."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import tokens
from cms.content.roles import Role
from cms.graphql.context import Info
from cms.graphql.enums import WebhookEvent
from cms.graphql.nodes import Node
from cms.graphql.writes import DeletePayload, UserError, not_yet, write
from cms.models import ApiToken as ApiTokenRow


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

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> ApiToken:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            role=Role(row.role),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
        )


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
        return ApiTokenPayload(api_token=ApiToken.from_row(issued.row), token=issued.token, user_errors=[])

    @strawberry.mutation(description="ADMIN only. The token fails from the next request on.")
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> DeletePayload:
        async def change(session: AsyncSession, actor: str) -> str:
            return (await tokens.revoke_token(session, token_id=id, now=info.context.now)).id

        revoked, errors = await write(info, Role.ADMIN, change)
        return DeletePayload(deleted_id=strawberry.ID(revoked) if revoked else None, user_errors=errors)

    @strawberry.mutation(description="ADMIN only.")
    def create_webhook(self, info: Info, input: WebhookInput) -> WebhookPayload:
        not_yet(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def delete_webhook(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.ADMIN)
