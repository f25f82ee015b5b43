"""What every mutation shares: who may call it, one transaction through `content`, and userErrors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.errors import FieldError, Forbidden, InvalidInput, Unauthenticated
from cms.content.roles import Role
from cms.graphql.context import Info

T = TypeVar("T")


@strawberry.type
class UserError:
    field: list[str] | None = strawberry.field(description='Path into the input, e.g. ["input", "slug"].')
    code: str = strawberry.field(description="REQUIRED, INVALID, TOO_LONG, NOT_FOUND, SLUG_TAKEN, ...")
    message: str


def authorize(info: Info, needed: Role) -> str:
    """The caller's token name, if its role is at least `needed`; else UNAUTHENTICATED or FORBIDDEN."""
    viewer = info.context.viewer
    if viewer.token_name is None:
        raise Unauthenticated("this mutation needs an API token (Authorization: Bearer <token>)")
    if not viewer.role.at_least(needed):
        raise Forbidden(f"this mutation needs the {needed.value} role")
    return viewer.token_name


async def write(
    info: Info, needed: Role, change: Callable[[AsyncSession, str], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run `change(session, actor)` in one transaction for a caller with the `needed` role. InvalidInput
    rolls it all back and comes back as userErrors. Reads after it see the change: the request's snapshot and
    loaders are renewed."""
    actor = authorize(info, needed)
    context = info.context
    await (
        context.renew()
    )  # hold one connection at a time: writers waiting on a row lock must not starve the pool
    try:
        async with AsyncSession(context.engine, expire_on_commit=False) as session, session.begin():
            result = await change(session, actor)
    except InvalidInput as error:
        return None, user_errors(error.errors)
    finally:
        await context.renew()
    return result, []


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


async def delete(
    info: Info, needed: Role, change: Callable[[AsyncSession, str], Awaitable[str]]
) -> DeletePayload:
    """`write` for a deletion: the deleted item's id, or the userErrors that kept it."""
    deleted, errors = await write(info, needed, change)
    return DeletePayload(deleted_id=strawberry.ID(deleted) if deleted else None, user_errors=errors)


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [UserError(field=list(e.field) or None, code=e.code, message=e.message) for e in errors]
