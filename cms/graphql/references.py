"""Mutations of what articles refer to: authors, categories and sources."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.references import AUTHOR, CATEGORY, SOURCE, Entity, create_item, delete_item, update_item
from cms.content.roles import Role
from cms.graphql.context import Info
from cms.graphql.enums import SourceKind
from cms.graphql.nodes import Author, Category, Source
from cms.graphql.writes import DeletePayload, UserError, delete, write

UNCHANGED = (
    "Fields left null stay as they are; an update that changes nothing writes nothing (no change event)."
)


INPUT = (
    "Null (or absent) leaves a field as it is; an empty string clears an optional field. The slug is "
    "derived from the name (transliterated; `-2`, `-3`... when taken) when absent on create or given as an "
    "empty string."
)


@strawberry.input(description=INPUT)
class AuthorInput:
    name: str | None = None
    slug: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    email: str | None = None


@strawberry.input(description=INPUT)
class CategoryInput:
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    parent: str | None = strawberry.field(
        default=None, description='The parent category\'s slug; "" makes the category a root.'
    )


@strawberry.input(description=INPUT)
class SourceInput:
    name: str | None = None
    slug: str | None = None
    kind: SourceKind | None = strawberry.field(
        default=None, description="OTHER when absent on create, as imports do."
    )
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
    """Each mutation is one transaction through `cms.content.references`, for EDITOR and ADMIN."""

    @strawberry.mutation
    async def create_author(self, info: Info, input: AuthorInput) -> AuthorPayload:
        row, errors = await _saved(info, AUTHOR, None, input)
        return AuthorPayload(author=row, user_errors=errors)

    @strawberry.mutation(description=UNCHANGED)
    async def update_author(self, info: Info, id: strawberry.ID, input: AuthorInput) -> AuthorPayload:
        row, errors = await _saved(info, AUTHOR, id, input)
        return AuthorPayload(author=row, user_errors=errors)

    @strawberry.mutation(description="Refused (userErrors IN_USE) while articles name the author.")
    async def delete_author(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _deleted(info, AUTHOR, id)

    @strawberry.mutation
    async def create_category(self, info: Info, input: CategoryInput) -> CategoryPayload:
        row, errors = await _saved(info, CATEGORY, None, input)
        return CategoryPayload(category=row, user_errors=errors)

    @strawberry.mutation(description=f"A parent cycle is a userError (CYCLE). {UNCHANGED}")
    async def update_category(self, info: Info, id: strawberry.ID, input: CategoryInput) -> CategoryPayload:
        row, errors = await _saved(info, CATEGORY, id, input)
        return CategoryPayload(category=row, user_errors=errors)

    @strawberry.mutation(
        description="Refused (userErrors IN_USE) while articles or child categories are in it."
    )
    async def delete_category(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _deleted(info, CATEGORY, id)

    @strawberry.mutation
    async def create_source(self, info: Info, input: SourceInput) -> SourcePayload:
        row, errors = await _saved(info, SOURCE, None, input)
        return SourcePayload(source=row, user_errors=errors)

    @strawberry.mutation(description=UNCHANGED)
    async def update_source(self, info: Info, id: strawberry.ID, input: SourceInput) -> SourcePayload:
        row, errors = await _saved(info, SOURCE, id, input)
        return SourcePayload(source=row, user_errors=errors)

    @strawberry.mutation(description="Refused (userErrors IN_USE) while articles cite the source.")
    async def delete_source(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await _deleted(info, SOURCE, id)


async def _saved(
    info: Info, entity: Entity, id: str | None, input: AuthorInput | CategoryInput | SourceInput
) -> tuple[Any, list[UserError]]:
    """Create (no id) or update one item with the fields the input gives: null leaves a field as it is."""
    values = {name: value for name, value in vars(input).items() if value is not None}
    now = info.context.now

    async def change(session: AsyncSession, actor: str) -> Any:
        if id is None:
            return await create_item(session, entity=entity, values=values, now=now, actor=actor)
        return await update_item(session, entity=entity, id=id, values=values, now=now, actor=actor)

    return await write(info, Role.EDITOR, change)


async def _deleted(info: Info, entity: Entity, id: str) -> DeletePayload:
    now = info.context.now

    async def change(session: AsyncSession, actor: str) -> str:
        return await delete_item(session, entity=entity, id=id, now=now, actor=actor)

    return await delete(info, Role.EDITOR, change)
