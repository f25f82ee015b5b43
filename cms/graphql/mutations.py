"""The write side of the contract. Every mutation is guarded by role; the writes arrive with tokens."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

import strawberry

from cms.content.errors import Forbidden, Unauthenticated
from cms.content.roles import Role
from cms.graphql.changes import NotYetAvailable
from cms.graphql.context import Info
from cms.graphql.enums import SourceKind, SourceRole, WebhookEvent
from cms.graphql.nodes import Article, Author, Category, Node, Source


@strawberry.type
class UserError:
    field: list[str] | None
    code: str
    message: str


@strawberry.input
class ImageInput:
    url: str
    alt: str
    caption: str | None = None
    credit: str | None = None
    width: int | None = None
    height: int | None = None


@strawberry.input
class SeoInput:
    title: str | None = None
    description: str | None = None
    canonical_url: str | None = None


@strawberry.input
class SourceAttributionInput:
    source: str = strawberry.field(description="Source slug.")
    role: SourceRole = SourceRole.ORIGIN
    url: str | None = None
    note: str | None = None


@strawberry.input
class ArticleInput:
    title: str | None = None
    slug: str | None = None
    subtitle: str | None = None
    excerpt: str | None = None
    body: str | None = None
    language: str | None = None
    translation_of: strawberry.ID | None = None
    authors: list[str] | None = None
    category: str | None = None
    tags: list[str] | None = None
    sources: list[SourceAttributionInput] | None = None
    cover_image: ImageInput | None = None
    seo: SeoInput | None = None


@strawberry.input
class AuthorInput:
    name: str | None = None
    slug: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    email: str | None = None


@strawberry.input
class CategoryInput:
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    parent: str | None = None


@strawberry.input
class SourceInput:
    name: str | None = None
    slug: str | None = None
    kind: SourceKind | None = None
    url: str | None = None


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
class ArticlePayload:
    article: Article | None
    user_errors: list[UserError]


@strawberry.type
class AuthorPayload:
    author: Author | None
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: Category | None
    user_errors: list[UserError]


@strawberry.type
class SourcePayload:
    source: Source | None
    user_errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


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


def guarded(info: Info, needed: Role) -> NoReturn:
    """Refuse callers below `needed`; writes themselves are not served yet."""
    viewer = info.context.viewer
    if viewer.token_name is None:
        raise Unauthenticated("this mutation needs an API token (Authorization: Bearer <token>)")
    if not viewer.role.at_least(needed):
        raise Forbidden(f"this mutation needs the {needed.value} role")
    raise NotYetAvailable("writing through the API is not available yet")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create_article(self, info: Info, input: ArticleInput) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def update_article(
        self, info: Info, id: strawberry.ID, input: ArticleInput, expected_version: int | None = None
    ) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def submit_article_for_review(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation(description="publishAt in the future = scheduled.")
    def publish_article(
        self, info: Info, id: strawberry.ID, publish_at: datetime | None = None
    ) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation(description="Back to DRAFT.")
    def unpublish_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def archive_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def delete_article(self, info: Info, id: strawberry.ID) -> DeletePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation(description="Makes a new version with that content.")
    def restore_article_revision(self, info: Info, id: strawberry.ID, version: int) -> ArticlePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def create_author(self, info: Info, input: AuthorInput) -> AuthorPayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def update_author(self, info: Info, id: strawberry.ID, input: AuthorInput) -> AuthorPayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation(description="Refused (userErrors IN_USE) while articles name the author.")
    def delete_author(self, info: Info, id: strawberry.ID) -> DeletePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def create_category(self, info: Info, input: CategoryInput) -> CategoryPayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation(description="A parent cycle is a userError.")
    def update_category(self, info: Info, id: strawberry.ID, input: CategoryInput) -> CategoryPayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def delete_category(self, info: Info, id: strawberry.ID) -> DeletePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def create_source(self, info: Info, input: SourceInput) -> SourcePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def update_source(self, info: Info, id: strawberry.ID, input: SourceInput) -> SourcePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation
    def delete_source(self, info: Info, id: strawberry.ID) -> DeletePayload:
        guarded(info, Role.EDITOR)

    @strawberry.mutation(description="ADMIN only.")
    def create_api_token(
        self, info: Info, name: str, role: Role, expires_at: datetime | None = None
    ) -> ApiTokenPayload:
        guarded(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def revoke_api_token(self, info: Info, id: strawberry.ID) -> DeletePayload:
        guarded(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def create_webhook(self, info: Info, input: WebhookInput) -> WebhookPayload:
        guarded(info, Role.ADMIN)

    @strawberry.mutation(description="ADMIN only.")
    def delete_webhook(self, info: Info, id: strawberry.ID) -> DeletePayload:
        guarded(info, Role.ADMIN)
