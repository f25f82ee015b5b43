"""The editorial workflow: editors' creates and updates, status changes, deletes and restores.

Each function runs in the caller's transaction and goes through `editing.write_articles`, so the rules of a
well-formed article, versions, revisions, search and change events are those of every other write. The
article's row is locked first (`FOR UPDATE` on PostgreSQL; SQLite's write transactions take turns), so
`expected_version` means what it says under concurrent writers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cms.content import changes, corrections, previous_slugs, webhooks
from cms.content.editing import API_NAMES, write_articles
from cms.content.errors import FieldError, InvalidInput, InvalidRecord
from cms.content.forms import nul_errors
from cms.content.ids import could_be
from cms.content.records import ArticleRecord, CorrectionRecord, SourceRef
from cms.content.search import reindex
from cms.content.slugs import first_free, slugify
from cms.content.visibility import public_sees
from cms.models import Article, ArticleAuthor, ArticleSource, ArticleStatus, ArticleTag, Revision, table_of

ARTICLE: Table = table_of(Article)
DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED = (s.value for s in ArticleStatus)
TRANSITIONS = {
    "submit": ({DRAFT}, IN_REVIEW),
    "publish": ({DRAFT, IN_REVIEW, PUBLISHED}, PUBLISHED),  # from PUBLISHED: reschedule, or publish now
    "unpublish": ({IN_REVIEW, PUBLISHED, ARCHIVED}, DRAFT),
    "archive": ({PUBLISHED}, ARCHIVED),
}
"""Which statuses each workflow step starts from, and where it leads."""


@dataclass(frozen=True)
class Edit:
    """An editor's input: the fields given (None = leave as it is); references by slug."""

    title: str | None = None
    slug: str | None = None
    subtitle: str | None = None
    excerpt: str | None = None
    body: str | None = None
    language: str | None = None
    translation_of: str | None = None
    authors: list[str] | None = None
    category: str | None = None
    tags: list[str] | None = None
    sources: list[SourceRef] | None = None
    cover_image: dict[str, Any] | None = None
    seo: dict[str, Any] | None = None


async def create_article(session: AsyncSession, *, edit: Edit, actor: str, now: datetime) -> str:
    """A new DRAFT. A slug given that another article has in that language is SLUG_TAKEN; one derived from
    the title takes the first free `-2`, `-3`... so that two stories with one headline can both be drafted."""
    _refuse_nul(edit)
    language = edit.language or "en"
    slug = edit.slug or await _free_slug(session, slugify(edit.title or ""), language)
    if edit.slug and await _taken(session, edit.slug, language, None):
        raise _slug_taken(edit.slug, language)
    record = _apply(ArticleRecord(title=None, language=language, existing_only=True), edit)
    return await _write(session, replace(record, slug=slug or None), actor=actor, now=now)


async def update_article(
    session: AsyncSession, *, id: str, edit: Edit, expected_version: int | None, actor: str, now: datetime
) -> str:
    """Change the fields given; VERSION_CONFLICT when the article is no longer at `expected_version`."""
    _refuse_nul(edit)
    record, row = await _current(session, id)
    _check_version(row, expected_version)
    language = edit.language or record.language
    slug = edit.slug or record.slug or ""
    if (slug, language) != (record.slug, record.language) and await _taken(session, slug, language, id):
        raise _slug_taken(slug, language)
    return await _write(session, _apply(record, edit), actor=actor, now=now)


async def add_correction(
    session: AsyncSession,
    *,
    id: str,
    kind: str,
    text: str,
    expected_version: int | None,
    actor: str,
    now: datetime,
) -> str:
    """Append a correction made now to the article's log: a new version, like any other edit."""
    added = CorrectionRecord(kind, text, now)
    if errors := nul_errors(added) or corrections.problems(added):
        raise InvalidInput(errors)
    record, row = await _current(session, id)
    _check_version(row, expected_version)
    return await _write(
        session, replace(record, corrections=[*record.corrections, added]), actor=actor, now=now
    )


def _check_version(row: dict[str, Any], expected_version: int | None) -> None:
    """VERSION_CONFLICT when the article is no longer at the version its editor saw."""
    if expected_version is not None and row["version"] != expected_version:
        message = f"the article is at version {row['version']}, not {expected_version}"
        raise _problem("expectedVersion", "VERSION_CONFLICT", message)


async def move_article(
    session: AsyncSession, *, id: str, step: str, at: datetime | None, actor: str, now: datetime
) -> str:
    """A workflow step (`TRANSITIONS`). Publishing sets publishedAt to `at` (ahead = scheduled) or now;
    unpublishing clears it."""
    record, _ = await _current(session, id)
    starts, target = TRANSITIONS[step]
    if record.status not in starts:
        allowed = ", ".join(sorted(starts))
        message = f"cannot {step} a {record.status} article (only from {allowed})"
        raise _problem("id", "INVALID_TRANSITION", message)
    published_at = record.published_at
    if step == "publish":
        published_at = at or now
    elif target == DRAFT:
        published_at = None
    return await _write(
        session, replace(record, status=target, published_at=published_at), actor=actor, now=now
    )


async def restore_revision(session: AsyncSession, *, id: str, version: int, actor: str, now: datetime) -> str:
    """A new version with the content of an old one; status, dates, slug and language stay as they are."""
    record, _ = await _current(session, id)
    found = (
        await session.execute(
            select(col(Revision.snapshot)).where(
                col(Revision.article_id) == id, col(Revision.version) == version
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise _problem("version", "NOT_FOUND", f"the article has no version {version}")
    return await _write(session, replace(record, **_content_of(orjson.loads(found))), actor=actor, now=now)


async def delete_article(session: AsyncSession, *, id: str, actor: str, now: datetime) -> str:
    """Delete an article with its revisions. Its translations keep their group: if it was their original,
    the earliest of them becomes the original, so exports never name a missing article."""
    record, row = await _current(session, id)
    members = (
        (
            await session.execute(
                select(ARTICLE.c.id)
                .where(ARTICLE.c.translation_group == row["translation_group"], ARTICLE.c.id != id)
                .order_by(ARTICLE.c.created_at, ARTICLE.c.id)
            )
        )
        .scalars()
        .all()
        if row["translation_group"]
        else []
    )
    await session.execute(delete(ARTICLE).where(ARTICLE.c.id == id))
    await reindex(session, [id])
    gone = changes.event(
        "Article",
        id,
        now=now,
        actor=actor,
        action="DELETE",
        public=public_sees(row, now),
        webhook_events=webhooks.article_events(row, None, now=now),
    )
    await changes.append(session, [gone])
    if members and row["translation_group"] == id:
        original, *others = members
        rekeyed = [replace((await _current(session, original))[0], translation_of=None)]
        rekeyed += [replace((await _current(session, m))[0], translation_of=original) for m in others]
        await write_articles(session, rekeyed, actor=actor, now=now)
    return record.id or id


async def _current(session: AsyncSession, id: str) -> tuple[ArticleRecord, dict[str, Any]]:
    """The article as a record that would write it again unchanged, and its row, locked for this write."""
    row = (
        (await session.execute(select(ARTICLE).where(ARTICLE.c.id == id).with_for_update()))
        .mappings()
        .first()
        if could_be(id, "Article")
        else None
    )
    if row is None:
        raise InvalidInput([FieldError(("id",), "NOT_FOUND", f"no article {id!r}")])
    authors = await session.execute(
        select(col(ArticleAuthor.author_id))
        .where(col(ArticleAuthor.article_id) == id)
        .order_by(col(ArticleAuthor.position))
    )
    tags = await session.execute(
        select(col(ArticleTag.tag)).where(col(ArticleTag.article_id) == id).order_by(col(ArticleTag.position))
    )
    sources = await session.execute(
        select(
            col(ArticleSource.source_id),
            col(ArticleSource.role),
            col(ArticleSource.url),
            col(ArticleSource.note),
        )
        .where(col(ArticleSource.article_id) == id)
        .order_by(col(ArticleSource.position))
    )
    group = row["translation_group"]
    record = ArticleRecord(
        title=row["title"],
        body=row["body"],
        slug=row["slug"],
        language=row["language"],
        subtitle=row["subtitle"],
        excerpt=row["excerpt"],
        status=row["status"],
        published_at=row["published_at"],
        authors=list(authors.scalars()),
        category=[row["category_id"]] if row["category_id"] else None,
        tags=list(tags.scalars()),
        sources=[SourceRef(name=s.source_id, role=s.role, url=s.url, note=s.note) for s in sources],
        cover_image=row["cover_image"],
        seo=row["seo"],
        translation_of=group if group and group != id else None,
        id=id,
        existing_only=True,
        corrections=await corrections.of_article(session, id),
    )
    return record, dict(row)


def _refuse_nul(edit: Edit) -> None:
    """Before the slug and language are looked up: a statement given NUL fails on PostgreSQL."""
    if errors := nul_errors(edit, renamed=API_NAMES):
        raise InvalidInput(errors)


def _apply(record: ArticleRecord, edit: Edit) -> ArticleRecord:
    """The record with the edit's given fields set."""
    given = {name: value for name, value in vars(edit).items() if value is not None}
    if "category" in given:
        given["category"] = [given["category"]] if given["category"] else None
    return replace(record, **given)


async def _write(session: AsyncSession, record: ArticleRecord, *, actor: str, now: datetime) -> str:
    """Write one article; its problems come back as the InvalidInput they are, not as a batch's record."""
    try:
        (written,) = await write_articles(session, [record], actor=actor, now=now)
    except InvalidRecord as error:
        raise error.error from None
    return written.id


def _content_of(document: dict[str, Any]) -> dict[str, Any]:
    """The CONTENT_FIELDS of a revision's snapshot (the export form: references by slug)."""
    return {
        "title": document["title"],
        "subtitle": document["subtitle"],
        "excerpt": document["excerpt"],
        "body": document["body"],
        "authors": document["authors"],
        "category": [document["category"]] if document["category"] else None,
        "tags": document["tags"],
        "sources": [
            SourceRef(name=a["source"], role=a["role"], url=a["url"], note=a["note"])
            for a in document["sources"]
        ],
        "cover_image": document["coverImage"],
        "seo": document["seo"],
    }


async def _taken(session: AsyncSession, slug: str, language: str, other_than: str | None) -> bool:
    statement = select(ARTICLE.c.id).where(ARTICLE.c.slug == slug, ARTICLE.c.language == language)
    if other_than:
        statement = statement.where(ARTICLE.c.id != other_than)
    return (await session.execute(statement.limit(1))).first() is not None


async def _free_slug(session: AsyncSession, slug: str, language: str) -> str:
    """`slug`, or the first free `slug-2`, `slug-3`... in this language (`slugs.first_free`), passing by
    the earlier slugs articles hold too."""
    if not slug:
        return slug
    taken = await session.execute(previous_slugs.taken_article_slugs(slug, language))
    return first_free(slug, set(taken.scalars()))


def _slug_taken(slug: str, language: str) -> InvalidInput:
    return _problem("slug", "SLUG_TAKEN", f"another article has the slug {slug!r} in {language}")


def _problem(field: str, code: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError((field,), code, message)])
