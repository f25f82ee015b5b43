"""Front-matter mappings (from .md files and .yaml sidecars) into ArticleRecords, checked field by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cms.content.records import ArticleRecord, CorrectionRecord, SourceRef
from cms.files.errors import ContentFileError

FIELDS = {
    "id",
    "title",
    "slug",
    "subtitle",
    "excerpt",
    "category",
    "authors",
    "sources",
    "status",
    "publishedAt",
    "language",
    "tags",
    "translationOf",
    "coverImage",
    "seo",
    "corrections",
    "previousSlugs",
}
_CORRECTION = {"kind", "text", "createdAt"}


def record_from_front_matter(
    meta: Mapping[str, Any], body: str, *, path: Path, line: int, base: ArticleRecord | None = None
) -> ArticleRecord:
    """Apply front-matter fields over `base` (what the file itself said); unknown keys are errors."""

    def fail(message: str) -> ContentFileError:
        return ContentFileError(path, line, message)

    unknown = sorted(set(meta) - FIELDS)
    if unknown:
        raise fail(f"unknown field(s): {', '.join(unknown)}")
    record = base or ArticleRecord(title=None, body=body)
    for key in ("id", "title", "slug", "subtitle", "excerpt", "status", "language", "translationOf"):
        if key in meta:
            value = meta[key]
            if value is not None and not isinstance(value, str):
                raise fail(f"{key} must be text")
            setattr(record, _attribute(key), value)
    if "publishedAt" in meta:
        record.published_at = moment("publishedAt", meta["publishedAt"], fail)
    if "category" in meta:
        record.category = _category_path(meta["category"], fail)
    if "authors" in meta:
        record.authors = _names("authors", meta["authors"], fail)
    if "tags" in meta:
        record.tags = _names("tags", meta["tags"], fail)
    if "sources" in meta:
        record.sources = [_source(item, fail) for item in meta["sources"] or []]
    if "previousSlugs" in meta:
        record.previous_slugs = _names("previousSlugs", meta["previousSlugs"], fail)
    if "corrections" in meta:
        record.corrections = correction_records(meta["corrections"], fail)
    for key in ("coverImage", "seo"):
        if key in meta:
            value = meta[key]
            if value is not None and not isinstance(value, dict):
                raise fail(f"{key} must be a mapping")
            setattr(record, _attribute(key), value)
    return record


def _attribute(key: str) -> str:
    return {"translationOf": "translation_of", "coverImage": "cover_image"}.get(key, key)


def moment(key: str, value: Any, fail: Callable[[str], ContentFileError]) -> datetime | None:
    """A date or date-time (YAML gives both; JSON gives text), as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise fail(f"{key} is not an ISO 8601 date: {value!r}") from None
    else:
        raise fail(f"{key} is not a date: {value!r}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def correction_records(value: Any, fail: Callable[[str], ContentFileError]) -> list[CorrectionRecord]:
    """An article's corrections log as a file gives it: a list of {kind, text, createdAt}, each required
    (a correction's date is part of what it says: an import twice must write it once)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"corrections must be a list, got {value!r}")
    found = []
    for item in value:
        if not isinstance(item, dict) or set(item) != _CORRECTION:
            raise fail(f"each correction is an object of kind, text and createdAt, got {item!r}")
        kind, text = item["kind"], item["text"]
        if not isinstance(kind, str) or not isinstance(text, str):
            raise fail(f"a correction's kind and text must be text, got {item!r}")
        created_at = moment("createdAt", item["createdAt"], fail)
        if created_at is None:
            raise fail("a correction needs its createdAt")
        found.append(CorrectionRecord(kind, text, created_at))
    return found


def _category_path(value: Any, fail: Any) -> list[str] | None:
    if value is None:
        return None
    parts = value.split("/") if isinstance(value, str) else value
    if not isinstance(parts, list) or not all(isinstance(p, str) and p.strip() for p in parts):
        raise fail(f"category must be a path of names like Azerbaijan/Culture, got {value!r}")
    return [part.strip() for part in parts]


def _names(key: str, value: Any, fail: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise fail(f"{key} must be a list of names")
    return items


def _source(item: Any, fail: Any) -> SourceRef:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise fail(f"each source needs a name, got {item!r}")
    extra = set(item) - {"name", "kind", "role", "url", "note"}
    if extra:
        raise fail(f"unknown source field(s): {', '.join(sorted(extra))}")
    url = item.get("url")
    return SourceRef(
        name=item["name"],
        role=item.get("role") or "ORIGIN",
        kind=item.get("kind"),
        source_url=url,
        url=url,
        note=item.get("note"),
    )
