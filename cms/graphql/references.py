"""Mutations of what articles refer to: authors, categories and sources."""

from __future__ import annotations

import strawberry

from cms.content.roles import Role
from cms.graphql.context import Info
from cms.graphql.enums import SourceKind
from cms.graphql.nodes import Author, Category, Source
from cms.graphql.writes import DeletePayload, UserError, not_yet


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
class ReferenceMutation:
    @strawberry.mutation
    def create_author(self, info: Info, input: AuthorInput) -> AuthorPayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def update_author(self, info: Info, id: strawberry.ID, input: AuthorInput) -> AuthorPayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation(description="Refused (userErrors IN_USE) while articles name the author.")
    def delete_author(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def create_category(self, info: Info, input: CategoryInput) -> CategoryPayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation(description="A parent cycle is a userError.")
    def update_category(self, info: Info, id: strawberry.ID, input: CategoryInput) -> CategoryPayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def delete_category(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def create_source(self, info: Info, input: SourceInput) -> SourcePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def update_source(self, info: Info, id: strawberry.ID, input: SourceInput) -> SourcePayload:
        not_yet(info, Role.EDITOR)

    @strawberry.mutation
    def delete_source(self, info: Info, id: strawberry.ID) -> DeletePayload:
        not_yet(info, Role.EDITOR)
