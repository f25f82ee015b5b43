"""The root Mutation, and the article mutations: the editorial workflow."""

from __future__ import annotations

from datetime import datetime

import strawberry

from cms.content.roles import Role
from cms.graphql.admin import AdminMutation
from cms.graphql.context import Info
from cms.graphql.enums import SourceRole
from cms.graphql.nodes import Article
from cms.graphql.references import ReferenceMutation
from cms.graphql.writes import DeletePayload, UserError, not_yet


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


@strawberry.type
class ArticlePayload:
    article: Article | None
    user_errors: list[UserError]


@strawberry.type
class ArticleMutation:
    @strawberry.mutation
    def create_article(self, info: Info, input: ArticleInput) -> ArticlePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def update_article(
        self, info: Info, id: strawberry.ID, input: ArticleInput, expected_version: int | None = None
    ) -> ArticlePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def submit_article_for_review(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation(description="publishAt in the future = scheduled.")
    def publish_article(
        self, info: Info, id: strawberry.ID, publish_at: datetime | None = None
    ) -> ArticlePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation(description="Back to DRAFT.")
    def unpublish_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def archive_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def delete_article(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation(description="Makes a new version with that content.")
    def restore_article_revision(self, info: Info, id: strawberry.ID, version: int) -> ArticlePayload:
        not_yet(info, Role.EDITOR)


@strawberry.type
class Mutation(ArticleMutation, ReferenceMutation, AdminMutation):
    """Every write of the contract; each one transaction through `content`."""
