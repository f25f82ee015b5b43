"""The lossless interchange format: one JSON object a line, sources, authors, categories, then articles.

Reading checks every line's shape and names its line; writing is `cms.files.exporter`. References are by
slug (or id) and must name something in the database or earlier in the import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from cms.content.forms import NUL_MESSAGE, nul_errors
from cms.content.records import ArticleRecord, AuthorRecord, CategoryRecord, SourceRecord, SourceRef
from cms.files.errors import ContentFileError
from cms.files.records import correction_records, moment

Fail = Callable[[str], ContentFileError]
Record = ArticleRecord | AuthorRecord | SourceRecord | CategoryRecord
_ATTRIBUTION = {"source", "role", "url", "note"}


def read_ndjson(path: Path) -> Iterator[tuple[int, Record]]:
    """Each non-blank line's record with its line number."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ContentFileError(path, 1, f"cannot read: {error}") from error
    with handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, _record(line, partial(ContentFileError, path, number))


def _record(line: bytes, fail: Fail) -> Record:
    if b"\x00" in line:
        raise fail(f"the line {NUL_MESSAGE}")
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise fail(f"malformed JSON: {error}") from None
    if not isinstance(item, dict):
        raise fail('each line is a JSON object with a "type"')
    if b"\\u0000" in line and (nul := nul_errors(item)):  # JSON holds NUL only escaped
        raise fail(f"{'.'.join(nul[0].field)} {NUL_MESSAGE}")
    kind = item.get("type")
    if kind not in _READERS:
        raise fail(f"unknown type {kind!r} (source, author, category or article)")
    reader, allowed = _READERS[kind]
    unknown = sorted(set(item) - allowed - {"type"})
    if unknown:
        raise fail(f"unknown field(s) for a {kind}: {', '.join(unknown)}")
    return reader(item, fail)


def _text(item: Mapping[str, Any], key: str, fail: Fail, *, required: bool = False) -> Any:
    value = item.get(key)
    if value is None and required:
        raise fail(f"{key} is required")
    if value is not None and not isinstance(value, str):
        raise fail(f"{key} must be text, got {value!r}")
    return value


def _texts(item: Mapping[str, Any], key: str, fail: Fail) -> list[str]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"{key} must be a list of text, got {value!r}")
    return value


def _mapping(item: Mapping[str, Any], key: str, fail: Fail) -> dict[str, Any] | None:
    value = item.get(key)
    if value is not None and not isinstance(value, dict):
        raise fail(f"{key} must be an object, got {value!r}")
    return value


def _entity(item: dict[str, Any], fail: Fail) -> Record:
    """An author, source or category line: every field text, slug and name (and a source's kind) required."""
    make, keys = _ENTITIES[item["type"]]
    lists = {"previous_slugs": tuple(_texts(item, "previousSlugs", fail))} if make is CategoryRecord else {}
    return make(
        **{attribute: _text(item, key, fail, required=key in _REQUIRED) for key, attribute in keys.items()},
        **lists,
    )


def _article(item: dict[str, Any], fail: Fail) -> ArticleRecord:
    category = _text(item, "category", fail)
    return ArticleRecord(
        id=_text(item, "id", fail),
        slug=_text(item, "slug", fail),
        language=_text(item, "language", fail) or "en",
        title=_text(item, "title", fail),
        subtitle=_text(item, "subtitle", fail),
        excerpt=_text(item, "excerpt", fail),
        body=_text(item, "body", fail) or "",
        status=_text(item, "status", fail) or "DRAFT",
        published_at=moment("publishedAt", item.get("publishedAt"), fail),
        authors=_texts(item, "authors", fail),
        category=[category] if category else None,
        tags=_texts(item, "tags", fail),
        sources=[_attribution(value, fail) for value in item.get("sources") or []],
        cover_image=_mapping(item, "coverImage", fail),
        seo=_mapping(item, "seo", fail),
        translation_of=_text(item, "translationOf", fail),
        existing_only=True,
        created_at=moment("createdAt", item.get("createdAt"), fail),
        updated_at=moment("updatedAt", item.get("updatedAt"), fail),
        first_published_at=moment("firstPublishedAt", item.get("firstPublishedAt"), fail),
        corrections=correction_records(item.get("corrections"), fail),
        previous_slugs=_texts(item, "previousSlugs", fail),
    )


def _attribution(value: Any, fail: Fail) -> SourceRef:
    if not isinstance(value, dict) or not isinstance(value.get("source"), str):
        raise fail(f'each source is an object naming a "source" by slug, got {value!r}')
    unknown = sorted(set(value) - _ATTRIBUTION)
    if unknown:
        raise fail(f"unknown source field(s): {', '.join(unknown)}")
    role = _text(value, "role", fail) or "ORIGIN"
    return SourceRef(
        name=value["source"], role=role, url=_text(value, "url", fail), note=_text(value, "note", fail)
    )


_ARTICLE_KEYS = {
    "id",
    "slug",
    "language",
    "title",
    "subtitle",
    "excerpt",
    "body",
    "status",
    "publishedAt",
    "firstPublishedAt",
    "authors",
    "category",
    "tags",
    "sources",
    "coverImage",
    "seo",
    "translationOf",
    "createdAt",
    "updatedAt",
    "corrections",
    "previousSlugs",
}
_REQUIRED = {"slug", "name", "kind"}
_ENTITIES: dict[str, tuple[Callable[..., Record], dict[str, str]]] = {
    "source": (SourceRecord, {"id": "id", "slug": "slug", "name": "name", "kind": "kind", "url": "url"}),
    "author": (
        AuthorRecord,
        {
            "id": "id",
            "slug": "slug",
            "name": "name",
            "bio": "bio",
            "avatarUrl": "avatar_url",
            "email": "email",
        },
    ),
    "category": (
        CategoryRecord,
        {"id": "id", "slug": "slug", "name": "name", "description": "description", "parent": "parent"},
    ),
}
_READERS: dict[str, tuple[Callable[[dict[str, Any], Fail], Record], set[str]]] = {
    **{kind: (_entity, set(keys)) for kind, (_, keys) in _ENTITIES.items()},
    "category": (_entity, {*_ENTITIES["category"][1], "previousSlugs"}),
    "article": (_article, _ARTICLE_KEYS),
}
