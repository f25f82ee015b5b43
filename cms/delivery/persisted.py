"""Persisted documents at the pipeline's door (delivery.md): Apollo's automatic persisted queries, and
trusted documents for a site that runs only the operations its build declared (`CMS_DOCUMENTS=trusted`).
The documents live in the database (`content.persisted`); a process remembers the texts it has seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cms.content import persisted
from cms.content.visibility import can_edit
from cms.delivery.http import Asked, Refused
from cms.graphql.context import Context
from cms.lru import LRU

KNOWN = 4096
"""Hashes whose texts a process keeps, stored ones only."""
NOT_FOUND = "PersistedQueryNotFound"


@dataclass(frozen=True, slots=True)
class Document:
    """The text to run, and the hash to store it under once it has validated (None: stored already)."""

    text: str
    new_hash: str | None = None


class PersistedQueries:
    def __init__(self, engine: AsyncEngine, *, trusted_only: bool) -> None:
        self.engine = engine
        self.trusted_only = trusted_only
        self._known: LRU[str, persisted.Stored] = LRU(KNOWN)

    async def document(self, asked: Asked, context: Context) -> Document:
        """The document a request runs: its query, or the stored text its hash names. Refused: an unknown
        hash (200 and PERSISTED_QUERY_NOT_FOUND, so that Apollo sends the text), a hash that is not the
        text's (400), or, in trusted mode, a document not trusted for a caller below EDITOR (400)."""
        hash_ = _hash(asked.extensions)
        trusted_only = self.trusted_only and not can_edit(context.viewer)
        if hash_ is None:
            if asked.query is None:
                raise Refused(400, "No GraphQL query found in the request")
            if trusted_only and not await self._trusted(persisted.digest(asked.query), asked.query, context):
                raise _not_allowed()
            return Document(asked.query)
        stored = await self._find(hash_, context)
        if asked.query is None:
            if stored is None:
                raise Refused(200, NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
            if trusted_only and not stored.trusted:
                raise _not_allowed()
            return Document(stored.document)
        if persisted.digest(asked.query) != hash_:
            raise Refused(400, "persistedQuery.sha256Hash is not the SHA-256 of the query sent")
        if trusted_only and not (stored is not None and stored.trusted):
            raise _not_allowed()
        return Document(asked.query, None if stored is not None or self.trusted_only else hash_)

    async def store(self, document: Document, context: Context) -> None:
        """Keep a new document, valid, for every process (open mode only: `document` gave no hash else)."""
        if document.new_hash is not None:
            await persisted.store(
                self.engine, document.new_hash, document.text, trusted=False, now=context.now
            )
            self._known[document.new_hash] = persisted.Stored(document.text, trusted=False)

    async def _find(self, hash_: str, context: Context) -> persisted.Stored | None:
        found = self._known.get(hash_)
        if found is None or (self.trusted_only and not found.trusted):  # an import may have trusted it
            found = await persisted.find(context.fetch, hash_)
            if found is not None:
                self._known[hash_] = found
        return found

    async def _trusted(self, hash_: str, text: str, context: Context) -> bool:
        found = await self._find(hash_, context)
        return found is not None and found.trusted and found.document == text


def _hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash of Apollo's `extensions.persistedQuery` (version 1), or None when there is none."""
    asked = (extensions or {}).get("persistedQuery")
    if asked is None:
        return None
    if (
        not isinstance(asked, dict)
        or asked.get("version") != 1
        or not isinstance(asked.get("sha256Hash"), str)
    ):
        raise Refused(400, "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}")
    hash_: str = asked["sha256Hash"].lower()
    return hash_


def _not_allowed() -> Refused:
    return Refused(
        400, "Only trusted documents run here: send a stored document's hash", "PERSISTED_QUERY_NOT_ALLOWED"
    )
