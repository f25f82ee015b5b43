"""Persisted documents, the one place for their storage: GraphQL documents kept by the SHA-256 of their text.

Automatic persisted queries store what clients send (`trusted=False`); `cms documents import` stores a
client's manifest (`trusted=True`), the only documents the public may run under `CMS_DOCUMENTS=trusted`
(delivery.md, "Persisted documents"). They live in the database, so every process and every restart knows
them. Writes are single upserts: processes storing one hash at once all succeed, and an APQ store never
makes a trusted document untrusted. Validating a document is the caller's (`validate`): this layer knows no
GraphQL schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Executable, bindparam, false, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.content.errors import BadInput
from cms.db import snapshot
from cms.models import PersistedDocument, table_of

Fetch = Callable[[Executable, Mapping[str, Any]], Awaitable[Sequence[Any]]]
"""A snapshot's `fetch` (`Context.fetch`): a lookup in a request's own snapshot costs no connection."""

_HASH = re.compile(r"[0-9a-f]{64}")
_DOCUMENT = table_of(PersistedDocument)
_BY_HASH = select(_DOCUMENT.c.document, _DOCUMENT.c.trusted).where(_DOCUMENT.c.hash == bindparam("hash"))
_ALL = select(_DOCUMENT.c.hash, _DOCUMENT.c.trusted, _DOCUMENT.c.created_at, _DOCUMENT.c.document).order_by(
    _DOCUMENT.c.created_at, _DOCUMENT.c.hash
)


class Stored(NamedTuple):
    document: str
    trusted: bool


class Listed(NamedTuple):
    hash: str
    trusted: bool
    created_at: datetime
    document: str


class ManifestError(BadInput):
    """A manifest that cannot be imported; the message names the file and each bad entry by its key."""


def digest(text: str) -> str:
    """The key of a document: SHA-256 of its UTF-8 text, lowercase hex (what Apollo's APQ link and
    graphql-codegen's manifest send)."""
    return hashlib.sha256(text.encode()).hexdigest()


def is_hash(value: str) -> bool:
    """Whether `value` can be a key at all (64 lowercase hex digits): anything else needs no lookup."""
    return _HASH.fullmatch(value) is not None


async def find(reader: AsyncEngine | Fetch, hash: str) -> Stored | None:
    """The document stored under `hash`, by one primary-key read: in the request's snapshot when given its
    `fetch`, else in a read-only snapshot of its own (on SQLite, a read connection: no write lock)."""
    if not is_hash(hash):
        return None
    rows = await _read(reader, _BY_HASH, {"hash": hash})
    return Stored(rows[0].document, bool(rows[0].trusted)) if rows else None


async def trusted_text(reader: AsyncEngine | Fetch, text: str) -> bool:
    """Whether this exact text is a trusted document (found by its digest): a client of a trusted manifest
    may send the text instead of the hash."""
    found = await find(reader, digest(text))
    return found is not None and found.trusted and found.document == text


async def store(engine: AsyncEngine, hash: str, text: str, *, trusted: bool, now: datetime) -> None:
    """Keep `text` under `hash` in its own short transaction; storing it again changes nothing, from any
    number of processes at once (INSERT ... ON CONFLICT). A trusted store makes an untrusted row trusted; an
    untrusted one never takes trust away. A hash that is not the text's digest is a ValueError: the caller
    checks it first (a client's mismatch is its 400)."""
    if digest(text) != hash:
        raise ValueError(f"{hash} is not the SHA-256 of the document given")
    async with engine.begin() as connection:
        await connection.execute(
            _upsert(engine, trusted=trusted),
            {"hash": hash, "document": text, "trusted": trusted, "created_at": now},
        )


def read_manifest(path: Path, *, validate: Callable[[str], list[str]]) -> dict[str, str]:
    """The entries of graphql-codegen's persisted-documents manifest (`{"<sha256>": "<document>"}`), every
    one checked: a 64-hex key, a string document whose digest is the key, and no errors from `validate` (the
    served schema's). Any problem is a ManifestError naming the file and every bad entry by its key."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ManifestError(f"{path}: cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ManifestError(f"{path}: not JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f'{path}: not a manifest: a JSON object {{"<sha256>": "<document>"}} is expected')
    problems = [
        f"{path}: entry {key!r}: {problem}"
        for key, text in manifest.items()
        if (problem := _problem(key, text, validate))
    ]
    if problems:
        raise ManifestError("\n".join(problems))
    return manifest


def _problem(key: str, text: Any, validate: Callable[[str], list[str]]) -> str | None:
    if not is_hash(key):
        return "the key is not a SHA-256 hash (64 lowercase hex digits)"
    if not isinstance(text, str):
        return "the document is not a string"
    if digest(text) != key:
        return f"the key is not the document's SHA-256 ({digest(text)})"
    errors = validate(text)
    return "; ".join(errors) if errors else None


async def import_manifest(
    engine: AsyncEngine, path: Path, *, now: datetime, validate: Callable[[str], list[str]]
) -> int:
    """Store a manifest's documents as trusted, all in one transaction and only once every entry is good
    (`read_manifest`): a bad file writes nothing. Importing it again changes nothing. Answers how many
    documents the manifest holds, all now trusted."""
    manifest = read_manifest(path, validate=validate)
    if manifest:
        rows = [{"hash": k, "document": t, "trusted": True, "created_at": now} for k, t in manifest.items()]
        async with engine.begin() as connection:
            await connection.execute(_upsert(engine, trusted=True), rows)
    return len(manifest)


async def listed(reader: AsyncEngine | Fetch) -> list[Listed]:
    """Every stored document, oldest first, for `cms documents list`."""
    rows = await _read(reader, _ALL, {})
    return [Listed(r.hash, bool(r.trusted), r.created_at, r.document) for r in rows]


def _upsert(engine: AsyncEngine, *, trusted: bool) -> Executable:
    """INSERT ... ON CONFLICT (hash), SQLite's and PostgreSQL's: DO NOTHING, or for a trusted store, make an
    untrusted row trusted (its text is the same: the hash says so)."""
    insert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert
    statement = insert(_DOCUMENT)
    if not trusted:
        return statement.on_conflict_do_nothing(index_elements=[_DOCUMENT.c.hash])
    return statement.on_conflict_do_update(
        index_elements=[_DOCUMENT.c.hash], set_={"trusted": true()}, where=_DOCUMENT.c.trusted == false()
    )


async def _read(
    reader: AsyncEngine | Fetch, statement: Executable, values: Mapping[str, Any]
) -> Sequence[Any]:
    if not isinstance(reader, AsyncEngine):
        return await reader(statement, values)
    reads = await snapshot(reader)
    try:
        return await reads.fetch(statement, values)
    finally:
        await reads.close()
