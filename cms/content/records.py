"""What a write is given: articles and the things they refer to, as files and editors name them.

References are ids, slugs or names. With `existing_only` (the lossless NDJSON format) every reference must
name something that exists; otherwise (Markdown, captures) a missing author, source or category level is
created from its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cms.models import ArticleStatus, SourceRole


@dataclass(frozen=True)
class SourceRef:
    """A source attribution: the source (id, slug or name; kind and url used only to create it) and why."""

    name: str
    role: str = SourceRole.ORIGIN.value
    kind: str | None = None
    source_url: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CorrectionRecord:
    """A correction of an article: a kind (`models.CorrectionKind`), Markdown text, and when it was made."""

    kind: str
    text: str
    created_at: datetime


@dataclass
class ArticleRecord:
    """An article as given. `category` is a path of names or slugs from the root (one id or slug when
    `existing_only`); `created_at`/`updated_at` are kept only when an import creates the article."""

    title: str | None
    body: str = ""
    slug: str | None = None
    language: str = "en"
    subtitle: str | None = None
    excerpt: str | None = None
    status: str = ArticleStatus.DRAFT.value
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    category: list[str] | None = None
    tags: list[str] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    cover_image: dict[str, Any] | None = None
    seo: dict[str, Any] | None = None
    translation_of: str | None = None
    id: str | None = None
    existing_only: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_published_at: datetime | None = None
    corrections: list[CorrectionRecord] = field(default_factory=list)
    """The corrections log, written in the order of their `created_at` (oldest first)."""
    previous_slugs: list[str] = field(default_factory=list)
    """Earlier slugs a file gives (`content.previous_slugs`): kept beside those the article holds already."""


@dataclass(frozen=True)
class AuthorRecord:
    slug: str
    name: str
    bio: str | None = None
    avatar_url: str | None = None
    email: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class SourceRecord:
    slug: str
    name: str
    kind: str
    url: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class CategoryRecord:
    """A category; `parent` is the slug (or id) of a category that exists or comes earlier in the import."""

    slug: str
    name: str
    description: str | None = None
    parent: str | None = None
    id: str | None = None
    previous_slugs: tuple[str, ...] = ()
    """Earlier slugs a file gives (`content.previous_slugs`): kept beside those the category holds already."""


EntityRecord = AuthorRecord | SourceRecord | CategoryRecord
