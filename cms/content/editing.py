"""Writing articles: validate, resolve references, derive, and record a revision and a change event.

Everything that writes an article goes through `upsert_article`, in the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.authors import ensure_author
from cms.content.categories import ensure_category_path
from cms.content.errors import FieldError, InvalidInput
from cms.content.ids import new_id
from cms.content.markdown import derive_excerpt, render
from cms.content.search import reindex
from cms.content.slugs import check_slug, slugify
from cms.content.sources import ensure_source
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    ArticleStatus,
    ArticleTag,
    Author,
    ChangeEvent,
    Revision,
    Source,
    SourceRole,
)

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class SourceRef:
    """A source named in a content file: found by slug or name, created with kind and url if new."""

    name: str
    role: str = SourceRole.ORIGIN.value
    kind: str | None = None
    source_url: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass
class ArticleRecord:
    """An article as content files and editors give it: references by name or slug."""

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


def _validate(record: ArticleRecord) -> list[FieldError]:
    errors = []
    if not record.title or not record.title.strip():
        errors.append(FieldError(("title",), "REQUIRED", "an article needs a title"))
    if record.status not in ArticleStatus.__members__:
        errors.append(FieldError(("status",), "INVALID", f"unknown status {record.status!r}"))
    needs_date = record.status in (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED)
    if needs_date and record.published_at is None:
        errors.append(
            FieldError(("publishedAt",), "REQUIRED", f"a {record.status} article needs publishedAt")
        )
    for index, ref in enumerate(record.sources):
        if ref.role not in SourceRole.__members__:
            errors.append(
                FieldError(("sources", str(index), "role"), "INVALID", f"unknown role {ref.role!r}")
            )
    return errors


async def upsert_article(
    session: AsyncSession, *, record: ArticleRecord, actor: str, now: datetime
) -> tuple[Outcome, str]:
    """Create or update the article with this slug and language; unchanged content writes nothing."""
    errors = _validate(record)
    if errors:
        raise InvalidInput(errors)
    assert record.title is not None
    try:
        slug = check_slug(record.slug) if record.slug else slugify(record.title)
    except ValueError as error:
        raise InvalidInput([FieldError(("slug",), "INVALID", str(error))]) from error
    authors = [await ensure_author(session, name=name, now=now) for name in record.authors]
    category_id = (
        await ensure_category_path(session, names=record.category, now=now) if record.category else None
    )
    sources = [
        (await ensure_source(session, name=ref.name, kind=ref.kind, url=ref.source_url, now=now), ref)
        for ref in record.sources
    ]
    tags = list(dict.fromkeys(tag.strip().lower() for tag in record.tags if tag.strip()))
    group = await _translation_group(session, record.translation_of) if record.translation_of else None

    article = await session.scalar(
        select(Article).where(Article.slug == slug, Article.language == record.language)
    )
    outcome: Outcome = "updated" if article else "created"
    if article is None:
        article = Article(id=record.id or new_id("Article"), slug=slug, language=record.language,
                          created_at=now, version=0)  # fmt: skip
    elif await snapshot(session, article) == _proposed(article, record, slug, authors, category_id, tags,
                                                         sources, group):  # fmt: skip
        return "unchanged", article.id

    rendered = render(record.body)
    article.title = record.title.strip()
    article.subtitle = record.subtitle
    article.excerpt = record.excerpt
    article.body = record.body
    article.body_html = rendered.html
    article.body_text = rendered.text
    article.derived_excerpt = derive_excerpt(rendered.text)
    article.word_count = rendered.word_count
    article.status = record.status
    article.published_at = record.published_at
    article.updated_at = now
    article.category_id = category_id
    article.translation_group = group or article.translation_group or article.id
    article.cover_image = record.cover_image
    article.seo = record.seo
    article.version += 1
    session.add(article)
    await session.flush()
    for table in (ArticleAuthor, ArticleSource, ArticleTag):
        await session.execute(delete(table).where(table.article_id == article.id))  # type: ignore[attr-defined]
    session.add_all(
        [ArticleAuthor(article_id=article.id, author_id=a.id, position=i) for i, a in enumerate(authors)]
        + [
            ArticleSource(
                article_id=article.id, position=i, source_id=s.id, role=r.role, url=r.url, note=r.note
            )
            for i, (s, r) in enumerate(sources)
        ]
        + [ArticleTag(article_id=article.id, tag=tag, position=i) for i, tag in enumerate(tags)]
    )
    await session.flush()
    await reindex(session, [article.id])
    state = await snapshot(session, article)
    session.add(
        Revision(article_id=article.id, version=article.version, created_at=now, actor=actor,
                 title=article.title, status=article.status, snapshot=json.dumps(state, ensure_ascii=False))
    )  # fmt: skip
    session.add(
        ChangeEvent(action="UPSERT", typename="Article", entity_id=article.id, occurred_at=now, actor=actor)
    )
    await session.flush()
    return outcome, article.id


async def _translation_group(session: AsyncSession, slug: str) -> str:
    target = await session.scalar(select(Article).where(Article.slug == slug).order_by(Article.language))
    if target is None:
        raise InvalidInput([FieldError(("translationOf",), "NOT_FOUND", f"no article with slug {slug!r}")])
    return target.translation_group or target.id


def _proposed(
    article: Article,
    record: ArticleRecord,
    slug: str,
    authors: list[Author],
    category_id: str | None,
    tags: list[str],
    sources: list[tuple[Source, SourceRef]],
    group: str | None,
) -> dict[str, Any]:
    return {
        "id": article.id,
        "slug": slug,
        "language": record.language,
        "title": (record.title or "").strip(),
        "subtitle": record.subtitle,
        "excerpt": record.excerpt,
        "body": record.body,
        "status": record.status,
        "publishedAt": record.published_at.isoformat() if record.published_at else None,
        "authors": [a.slug for a in authors],
        "category": category_id,
        "tags": tags,
        "sources": [{"source": s.slug, "role": r.role, "url": r.url, "note": r.note} for s, r in sources],
        "coverImage": record.cover_image,
        "seo": record.seo,
        "translationGroup": group or article.translation_group or article.id,
    }


async def snapshot(session: AsyncSession, article: Article) -> dict[str, Any]:
    """The article as it stands, references by slug: stored with each revision, compared on upsert."""
    authors = (
        await session.scalars(
            select(Author.slug).join(ArticleAuthor).where(ArticleAuthor.article_id == article.id)
            .order_by(ArticleAuthor.position)
        )
    ).all()  # fmt: skip
    sources = (
        await session.execute(
            select(Source.slug, ArticleSource.role, ArticleSource.url, ArticleSource.note).join(ArticleSource)
            .where(ArticleSource.article_id == article.id).order_by(ArticleSource.position)
        )
    ).all()  # fmt: skip
    tags = (
        await session.scalars(
            select(ArticleTag.tag).where(ArticleTag.article_id == article.id).order_by(ArticleTag.position)
        )
    ).all()
    return {
        "id": article.id,
        "slug": article.slug,
        "language": article.language,
        "title": article.title,
        "subtitle": article.subtitle,
        "excerpt": article.excerpt,
        "body": article.body,
        "status": article.status,
        "publishedAt": article.published_at.isoformat() if article.published_at else None,
        "authors": list(authors),
        "category": article.category_id,
        "tags": list(tags),
        "sources": [{"source": s, "role": r, "url": u, "note": n} for s, r, u, n in sources],
        "coverImage": article.cover_image,
        "seo": article.seo,
        "translationGroup": article.translation_group,
    }
