"""Every table, in one metadata for Alembic. No behaviour (but a tag's slug, made by the one slug rule as its
row is written): the rules live in `cms.content`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from cms.content.slugs import slugify


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always handed back timezone-aware (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return _utc(value).replace(tzinfo=None) if dialect.name == "sqlite" else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _aware(value)

    def bind_processor(self, dialect: Any) -> Any:
        return _to_sqlite if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return _from_sqlite if dialect.name == "sqlite" else super().result_processor(dialect, coltype)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite's processors: one C call each way instead of SQLAlchemy's chain (a regular expression a value
# read), for a walk page reads 200 timestamps. The text is SQLAlchemy's own format, so what is stored and
# compared is unchanged.


def _to_sqlite(value: datetime | None) -> str | None:
    return None if value is None else _utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _from_sqlite(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    return _aware(datetime.fromisoformat(value) if isinstance(value, str) else value)


class ArticleStatus(StrEnum):
    DRAFT = "DRAFT"
    IN_REVIEW = "IN_REVIEW"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class SourceKind(StrEnum):
    NEWS_AGENCY = "NEWS_AGENCY"
    PUBLICATION = "PUBLICATION"
    ORGANIZATION = "ORGANIZATION"
    WEBSITE = "WEBSITE"
    PERSON = "PERSON"
    OTHER = "OTHER"


class SourceRole(StrEnum):
    ORIGIN = "ORIGIN"
    WIRE = "WIRE"
    REFERENCE = "REFERENCE"


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Author(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    slug: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    name: str = Field(max_length=200)
    bio: str | None = Field(default=None, sa_column=Column(Text))
    avatar_url: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Category(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    slug: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text))
    parent_id: str | None = Field(
        default=None, sa_column=Column(String(40), ForeignKey("category.id"), index=True)
    )
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Source(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    slug: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    url: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Article(SQLModel, table=True):
    """An article; body_html, body_text, derived_excerpt and word_count are derived on every write."""

    __table_args__ = (
        UniqueConstraint("slug", "language", name="uq_article_slug_language"),
        Index("ix_article_visible_order", "status", "published_at", "id", "category_id"),
        Index("ix_article_updated_at", "updated_at"),
        Index("ix_article_created_at", "created_at"),
        Index("ix_article_category_visible", "category_id", "status", "published_at"),
        Index("ix_article_publish_pending", "publish_pending", "published_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    slug: str = Field(max_length=200)
    language: str = Field(max_length=35)
    title: str = Field(max_length=300)
    subtitle: str | None = Field(default=None, max_length=300)
    excerpt: str | None = Field(default=None, sa_column=Column(Text))
    derived_excerpt: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    word_count: int = 0
    status: str = Field(max_length=20)
    published_at: datetime | None = _ts(nullable=True)
    first_published_at: datetime | None = _ts(nullable=True)
    """When the public first could see it (or, never seen yet, is to): kept through unpublish and republish
    (`visibility.first_public`)."""
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    category_id: str | None = Field(default=None, sa_column=Column(String(40), ForeignKey("category.id")))
    translation_group: str | None = Field(default=None, max_length=40, index=True)
    cover_image: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    seo: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    version: int = 1
    content_hash: str | None = Field(default=None, max_length=64)
    publish_pending: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    """Scheduled: PUBLISHED with a publishedAt still ahead when written. The change feed gives the public its
    UPSERT once that instant has passed (no job: the first feed read after it records the event)."""


class ArticleAuthor(SQLModel, table=True):
    """The byline: authors of an article in order."""

    __tablename__ = "article_author"
    __table_args__ = (
        Index("ix_article_author_author", "author_id", "article_id"),
        Index("ix_article_author_byline", "article_id", "position", "author_id"),
    )

    article_id: str = Field(
        sa_column=Column(String(40), ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    author_id: str = Field(sa_column=Column(String(40), ForeignKey("author.id"), primary_key=True))
    position: int


class ArticleSource(SQLModel, table=True):
    """A source attribution: which source, in what role, citing what page, in the order given."""

    __tablename__ = "article_source"
    __table_args__ = (Index("ix_article_source_source", "source_id", "role", "article_id"),)

    article_id: str = Field(
        sa_column=Column(String(40), ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    source_id: str = Field(sa_column=Column(String(40), ForeignKey("source.id"), nullable=False))
    role: str = Field(max_length=20)
    url: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, sa_column=Column(Text))


def tag_slug(tag: str) -> str:
    """A tag's slug: the one slug rule's, of its name."""
    return slugify(tag)


def _tag_slug(context: Any) -> str:
    """`tag_slug`, made as its row is written through SQLAlchemy (a bulk write that builds its own rows
    calls `tag_slug` itself)."""
    return tag_slug(context.get_current_parameters()["tag"])


class ArticleTag(SQLModel, table=True):
    """`slug`: the tag as an item (`cms.content.tags`), the one slug rule's of its name."""

    __tablename__ = "article_tag"
    __table_args__ = (
        Index("ix_article_tag_tag", "tag", "article_id"),
        Index("ix_article_tag_order", "article_id", "position", "tag"),
        Index("ix_article_tag_slug", "slug", "article_id", "tag"),
        Index("ix_article_tag_name", "slug", "tag", "article_id"),
    )

    article_id: str = Field(
        sa_column=Column(String(40), ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_column=Column(String(50), primary_key=True))
    position: int
    slug: str = Field(sa_column=Column(String(200), nullable=False, default=_tag_slug, server_default=""))


class ArticlePreviousSlug(SQLModel, table=True):
    """An article's earlier slug, in the language it had then, oldest first (`content.previous_slugs`)."""

    __tablename__ = "article_previous_slug"
    __table_args__ = (UniqueConstraint("slug", "language", name="uq_article_previous_slug"),)

    article_id: str = Field(
        sa_column=Column(String(40), ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    slug: str = Field(max_length=200)
    language: str = Field(max_length=35)


class CategoryPreviousSlug(SQLModel, table=True):
    """A category's earlier slug, oldest first (`content.previous_slugs`)."""

    __tablename__ = "category_previous_slug"

    category_id: str = Field(
        sa_column=Column(String(40), ForeignKey("category.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    slug: str = Field(sa_column=Column(String(200), nullable=False, unique=True))


class CorrectionKind(StrEnum):
    CORRECTION = "CORRECTION"
    CLARIFICATION = "CLARIFICATION"
    UPDATE = "UPDATE"
    EDITORS_NOTE = "EDITORS_NOTE"


class ArticleCorrection(SQLModel, table=True):
    """The reader-facing corrections log of an article, oldest first: Markdown `text`, rendered as a body is
    (`html`, `plain`) when the article is written."""

    __tablename__ = "article_correction"

    article_id: str = Field(
        sa_column=Column(String(40), ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    position: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=20)
    text: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    plain: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class Revision(SQLModel, table=True):
    """A full snapshot of an article at one version, with who made it."""

    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_revision_article_version"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(
        sa_column=Column(String(40), ForeignKey("article.id", ondelete="CASCADE"), nullable=False)
    )
    version: int
    created_at: datetime = _ts()
    actor: str = Field(max_length=200)
    title: str = Field(max_length=300)
    status: str = Field(max_length=20)
    snapshot: str = Field(sa_column=Column(Text, nullable=False))


class ChangeEvent(SQLModel, table=True):
    """An append-only log of what changed, in a strictly increasing sequence, for the change feed."""

    __tablename__ = "change_event"
    __table_args__ = (Index("ix_change_event_public_sequence", "public", "sequence"),)

    sequence: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=10)
    typename: str = Field(max_length=20)
    entity_id: str = Field(max_length=40, index=True)
    occurred_at: datetime = _ts()
    actor: str = Field(max_length=200)
    public: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    """Whether the public could see the item before or after this change: only those reach the public feed."""


class ApiToken(SQLModel, table=True):
    """An API token, stored only as the SHA-256 of its secret; revoked tokens are kept for the record."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)
    last_used_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)


class Webhook(SQLModel, table=True):
    """A receiver of deliveries. The secret is stored as it is, unlike a token (only its hash): signing with
    HMAC needs the key itself. It leaves the database as signatures, and once in createWebhook's answer."""

    id: str = Field(primary_key=True, max_length=40)
    url: str = Field(max_length=2000)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    secret: str = Field(max_length=100)
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    created_at: datetime = _ts()


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one row per webhook and event of a change, queued in the change's own transaction. The
    worker claims due rows, sends `body` (the exact bytes signed, UTF-8) and records how it went."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook", "webhook_id", "created_at"),
        Index("ix_webhook_delivery_done", "status", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    webhook_id: str = Field(
        sa_column=Column(String(40), ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False)
    )
    event: str = Field(max_length=30)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=20)
    attempt: int = 0
    response_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts()
    attempted_at: datetime | None = _ts(nullable=True)
    next_attempt_at: datetime | None = _ts(nullable=True)
    """When a PENDING delivery is due: its next try, or the end of a claim's lease; null once it is done."""


class PersistedDocument(SQLModel, table=True):
    """A GraphQL document kept by the SHA-256 of its text, so a client may send the hash alone (a short GET
    any cache can keep). `trusted`: imported from a client's manifest by `cms documents import`, which
    `CMS_DOCUMENTS=trusted` lets the public run; otherwise stored by an automatic persisted query."""

    __tablename__ = "persisted_document"

    hash: str = Field(sa_column=Column(String(64), primary_key=True))
    document: str = Field(sa_column=Column(Text, nullable=False))
    trusted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    created_at: datetime = _ts()


def table_of(model: type[SQLModel]) -> Table:
    """A model's table: SQLModel makes one for each model, which the classes' type does not say."""
    found: Table = model.__table__  # type: ignore[attr-defined]
    return found
