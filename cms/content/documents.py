"""The one canonical form of each item: what `cms export` writes, what revisions store, what hashes cover.

Key order is part of the format (content-files.md, section 3), so export, import and export again give the
same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

Document = dict[str, Any]


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def article_document(
    row: Mapping[str, Any],
    *,
    authors: list[str],
    category: str | None,
    tags: list[str],
    sources: list[Document],
    translation_of: str | None,
    corrections: list[Document],
    previous_slugs: list[str],
) -> Document:
    """An article's columns with its references already named (slugs, or ids where a slug is ambiguous).
    `previousSlugs` (after `slug`) and `corrections` (last) are there only when there are some: documents
    written before either existed keep their bytes."""
    document = {
        "type": "article",
        "id": row["id"],
        "slug": row["slug"],
        **({"previousSlugs": previous_slugs} if previous_slugs else {}),
        "language": row["language"],
        "title": row["title"],
        "subtitle": row["subtitle"],
        "excerpt": row["excerpt"],
        "body": row["body"],
        "status": row["status"],
        "publishedAt": _moment(row["published_at"]),
        "firstPublishedAt": _moment(row["first_published_at"]),
        "authors": authors,
        "category": category,
        "tags": tags,
        "sources": sources,
        "coverImage": row["cover_image"],
        "seo": row["seo"],
        "translationOf": translation_of,
        "createdAt": _moment(row["created_at"]),
        "updatedAt": _moment(row["updated_at"]),
    }
    if corrections:
        document["corrections"] = corrections
    return document


def attribution(source: str, role: str, url: str | None, note: str | None) -> Document:
    return {"source": source, "role": role, "url": url, "note": note}


def correction(kind: str, text: str, created_at: datetime) -> Document:
    return {"kind": kind, "text": text, "createdAt": created_at.isoformat()}


def source_document(row: Mapping[str, Any]) -> Document:
    return {
        "type": "source",
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "kind": row["kind"],
        "url": row["url"],
    }


def author_document(row: Mapping[str, Any]) -> Document:
    return {
        "type": "author",
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "bio": row["bio"],
        "avatarUrl": row["avatar_url"],
        "email": row["email"],
    }


def category_document(row: Mapping[str, Any], *, parent: str | None, previous_slugs: list[str]) -> Document:
    """A category's columns, its parent named; `previousSlugs` (after `slug`) only when it has some."""
    return {
        "type": "category",
        "id": row["id"],
        "slug": row["slug"],
        **({"previousSlugs": previous_slugs} if previous_slugs else {}),
        "name": row["name"],
        "description": row["description"],
        "parent": parent,
    }


def dumps(document: Document) -> bytes:
    """One NDJSON line's JSON: compact, UTF-8 as it is, keys in the document's order."""
    return orjson.dumps(document)


def content_hash(content: Document) -> str:
    """A fingerprint of what an item says (not when or by whom): equal hashes mean nothing to write."""
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
