"""API tokens, the one place for their rules: format, storage, authentication, issue and revocation.

A token is `cms_` + 30 random base62 characters + a 6-character base62 CRC32 of what precedes it (GitHub's
scheme): a typo or a truncated paste fails the checksum and is refused without touching the database, and
secret scanners can recognise a leaked token by its shape. Only the SHA-256 of the whole token is stored, so
a copy of the database lets no one call the API; the token itself is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, bindparam, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cms.content.errors import FieldError, InvalidInput, Unauthenticated
from cms.content.ids import new_id
from cms.content.roles import Role, Viewer
from cms.models import ApiToken, table_of

log = logging.getLogger("cms.tokens")
PREFIX = "cms_"
SECRET_LENGTH = 30
CHECKSUM_LENGTH = 6
NAME_LENGTH = 200
USE_RECORDED_EVERY = timedelta(seconds=60)
"""`lastUsedAt` is written at most once a minute a token, so authenticated reads do not each become writes."""

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}$")
_TOKEN = table_of(ApiToken)
_BY_HASH = select(
    _TOKEN.c.id,
    _TOKEN.c.name,
    _TOKEN.c.role,
    _TOKEN.c.token_hash,
    _TOKEN.c.expires_at,
    _TOKEN.c.revoked_at,
    _TOKEN.c.last_used_at,
).where(_TOKEN.c.token_hash == bindparam("token_hash"))

Fetch = Callable[[Executable, Mapping[str, Any]], Awaitable[Sequence[Any]]]


def generate() -> str:
    """A fresh token: ~178 random bits from `secrets`, then the checksum."""
    body = PREFIX + "".join(secrets.choice(_BASE62) for _ in range(SECRET_LENGTH))
    return body + _checksum(body)


def well_formed(token: str) -> bool:
    """Whether `token` has our prefix, length, alphabet and a matching checksum: no database needed."""
    if not _SHAPE.match(token):
        return False
    body, checksum = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


def hash_of(token: str) -> str:
    """What is stored instead of the token: its SHA-256, hex. The secret has far too much entropy to need a
    slow, salted hash, and an unsalted one can be looked up by its value."""
    return hashlib.sha256(token.encode()).hexdigest()


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(CHECKSUM_LENGTH):  # 62**6 > 2**32: six digits hold every CRC32
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


@dataclass(frozen=True)
class Caller:
    """Who a valid token speaks for, and what `record_use` needs to keep `lastUsedAt` current."""

    viewer: Viewer
    token_id: str
    last_used_at: datetime | None


NOT_VALID = "this API token is not valid (unknown, revoked or expired)"
"""One message for every refused token: the answer tells a caller holding a stolen one nothing of it."""


def bearer(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 7235)."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use the header `Authorization: Bearer <token>`")
    return token.strip()


async def authenticate(token: str, *, fetch: Fetch, now: datetime) -> Caller:
    """The caller `token` stands for, looked up by its hash with one short read; UNAUTHENTICATED when it is
    malformed, unknown, revoked or expired at `now`. Nothing is cached: a revocation holds from the next
    request on."""
    if not well_formed(token):
        raise Unauthenticated(NOT_VALID)
    digest = hash_of(token)
    rows = await fetch(_BY_HASH, {"token_hash": digest})
    if not rows or not hmac.compare_digest(rows[0].token_hash, digest):
        raise Unauthenticated(NOT_VALID)
    row = rows[0]
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthenticated(NOT_VALID)
    return Caller(Viewer(Role(row.role), row.name), row.id, row.last_used_at)


async def record_use(engine: AsyncEngine, *, caller: Caller, now: datetime) -> None:
    """Set `lastUsedAt` in its own short transaction (the request's snapshot is read-only), at most once every
    USE_RECORDED_EVERY: within that, nothing is written. The condition is repeated in the UPDATE, so
    concurrent requests and processes write it once, too. A bookkeeping write never fails the request."""
    due = now - USE_RECORDED_EVERY
    if caller.last_used_at is not None and caller.last_used_at > due:
        return
    try:
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(
                update(ApiToken)
                .where(_TOKEN.c.id == caller.token_id)
                .where(or_(_TOKEN.c.last_used_at.is_(None), _TOKEN.c.last_used_at <= due))
                .values(last_used_at=now)
            )
    except OperationalError:  # e.g. SQLite's write lock held past the busy timeout by a long import
        log.warning(
            "lastUsedAt of token %s not recorded: the database is busy", caller.token_id, exc_info=True
        )


@dataclass(frozen=True)
class Issued:
    """A new token's row and the token itself, which exists nowhere else: show it once."""

    row: ApiToken
    token: str


async def create_token(
    session: AsyncSession, *, name: str, role: Role, expires_at: datetime | None, now: datetime
) -> Issued:
    """Issue a token for `role`; a blank or long name, or an expiry that is not in the future, is
    InvalidInput (fields `name`, `expiresAt`) and writes nothing."""
    name = name.strip()
    errors = []
    if not name:
        errors.append(FieldError(("name",), "REQUIRED", "a token needs a name"))
    elif len(name) > NAME_LENGTH:
        errors.append(FieldError(("name",), "TOO_LONG", f"a name is at most {NAME_LENGTH} characters"))
    if expires_at is not None and expires_at.tzinfo is None:
        errors.append(FieldError(("expiresAt",), "INVALID", "give a time zone, e.g. 2027-01-31T00:00:00Z"))
    elif expires_at is not None and expires_at <= now:
        errors.append(FieldError(("expiresAt",), "INVALID", "the expiry must be in the future"))
    if errors:
        raise InvalidInput(errors)
    token = generate()
    row = ApiToken(
        id=new_id("ApiToken"),
        name=name,
        role=role.value,
        token_hash=hash_of(token),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return Issued(row, token)


async def revoke_token(session: AsyncSession, *, token_id: str, now: datetime) -> ApiToken:
    """Revoke a token from the next request on; the row stays for the record. Revoking a revoked token
    changes nothing; an unknown id is InvalidInput (NOT_FOUND)."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise InvalidInput([FieldError(("id",), "NOT_FOUND", f"no API token has the id {token_id!r}")])
    if row.revoked_at is None:
        row.revoked_at = now
        await session.flush()
    return row


async def list_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    """Every token, revoked ones too, oldest first."""
    return (
        (await session.execute(select(ApiToken).order_by(_TOKEN.c.created_at, _TOKEN.c.id))).scalars().all()
    )


async def has_admin(session: AsyncSession, *, now: datetime) -> bool:
    """Whether some ADMIN token still works at `now`: without one, nobody can issue tokens through the API."""
    usable = select(_TOKEN.c.id).where(
        _TOKEN.c.role == Role.ADMIN.value,
        _TOKEN.c.revoked_at.is_(None),
        or_(_TOKEN.c.expires_at.is_(None), _TOKEN.c.expires_at > now),
    )
    return (await session.execute(usable.limit(1))).first() is not None
