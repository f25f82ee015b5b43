"""The root Mutation, and the article mutations: the editorial workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import articles, workflow
from cms.content.records import SourceRef
from cms.content.roles import Role
from cms.graphql.admin import AdminMutation
from cms.graphql.context import Info
from cms.graphql.enums import CorrectionKind, SourceRole
from cms.graphql.nodes import Article
from cms.graphql.references import ReferenceMutation
from cms.graphql.writes import DeletePayload, UserError, write


@strawberry.input
class ImageInput:
    url: str
    alt: str
    caption: str | None = None
    credit: str | None = None
    width: int | None = None
    height: int | None = None


@strawberry.input
class SeoInput:
    title: str | None = None
    description: str | None = None
    canonical_url: str | None = None


@strawberry.input
class SourceAttributionInput:
    source: str = strawberry.field(description="Source slug.")
    role: SourceRole = SourceRole.ORIGIN
    url: str | None = None
    note: str | None = None


@strawberry.input
class ArticleInput:
    title: str | None = None
    slug: str | None = None
    subtitle: str | None = None
    excerpt: str | None = None
    body: str | None = None
    language: str | None = None
    translation_of: strawberry.ID | None = None
    authors: list[str] | None = None
    category: str | None = None
    tags: list[str] | None = None
    sources: list[SourceAttributionInput] | None = None
    cover_image: ImageInput | None = None
    seo: SeoInput | None = None


@strawberry.input
class CorrectionInput:
    kind: CorrectionKind
    text: str = strawberry.field(description="Markdown, rendered as a body is.")


@strawberry.type
class ArticlePayload:
    article: Article | None
    user_errors: list[UserError]


ARGUMENTS = {"id", "expectedVersion", "version", "publishAt"}
"""The article mutations' arguments beside `input`: a problem with one of them is not under ["input"]."""


@strawberry.type
class ArticleMutation:
    @strawberry.mutation(description="A new DRAFT; its slug comes from the title unless given.")
    async def create_article(self, info: Info, input: ArticleInput) -> ArticlePayload:
        edit = _edit(input)
        return await _article(
            info, lambda s, actor: workflow.create_article(s, edit=edit, actor=actor, now=_now(info))
        )

    @strawberry.mutation(
        description="Sets the fields given. expectedVersion: VERSION_CONFLICT if it moved on."
    )
    async def update_article(
        self, info: Info, id: strawberry.ID, input: ArticleInput, expected_version: int | None = None
    ) -> ArticlePayload:
        edit = _edit(input)
        return await _article(
            info,
            lambda s, actor: workflow.update_article(
                s, id=id, edit=edit, expected_version=expected_version, actor=actor, now=_now(info)
            ),
        )

    @strawberry.mutation(
        description="EDITOR: a correction made now, appended to the article's log: a new version like any "
        "write. expectedVersion: VERSION_CONFLICT if it moved on."
    )
    async def add_article_correction(
        self, info: Info, id: strawberry.ID, input: CorrectionInput, expected_version: int | None = None
    ) -> ArticlePayload:
        kind, text = input.kind.value, input.text
        return await _article(
            info,
            lambda s, actor: workflow.add_correction(
                s,
                id=id,
                kind=kind,
                text=text,
                expected_version=expected_version,
                actor=actor,
                now=_now(info),
            ),
        )

    @strawberry.mutation(description="DRAFT -> IN_REVIEW.")
    async def submit_article_for_review(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _move(info, id, "submit")

    @strawberry.mutation(
        description="DRAFT, IN_REVIEW or PUBLISHED -> PUBLISHED. publishAt in the future = scheduled: "
        "readers see it from that instant. Default: now."
    )
    async def publish_article(
        self, info: Info, id: strawberry.ID, publish_at: datetime | None = None
    ) -> ArticlePayload:
        return await _move(info, id, "publish", publish_at)

    @strawberry.mutation(
        description="Back to DRAFT (from IN_REVIEW, PUBLISHED or ARCHIVED); clears publishedAt."
    )
    async def unpublish_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _move(info, id, "unpublish")

    @strawberry.mutation(description="PUBLISHED -> ARCHIVED: out of the public's sight, kept for the record.")
    async def archive_article(self, info: Info, id: strawberry.ID) -> ArticlePayload:
        return await _move(info, id, "archive")

    @strawberry.mutation(description="With its revisions; a DELETE in the change feed.")
    async def delete_article(self, info: Info, id: strawberry.ID) -> DeletePayload:
        deleted, errors = await write(
            info, Role.EDITOR, lambda s, actor: workflow.delete_article(s, id=id, actor=actor, now=_now(info))
        )
        deleted_id = strawberry.ID(deleted) if deleted is not None else None
        return DeletePayload(deleted_id=deleted_id, user_errors=_under_input(errors))

    @strawberry.mutation(description="Makes a new version with that content.")
    async def restore_article_revision(self, info: Info, id: strawberry.ID, version: int) -> ArticlePayload:
        return await _article(
            info,
            lambda s, actor: workflow.restore_revision(
                s, id=id, version=version, actor=actor, now=_now(info)
            ),
        )


async def _move(info: Info, id: str, step: str, at: datetime | None = None) -> ArticlePayload:
    moment = None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    return await _article(
        info,
        lambda s, actor: workflow.move_article(s, id=id, step=step, at=moment, actor=actor, now=_now(info)),
    )


async def _article(info: Info, change: Callable[[AsyncSession, str], Awaitable[str]]) -> ArticlePayload:
    """Run the change; the payload's article is read after it, as the caller sees it."""
    written, errors = await write(info, Role.EDITOR, change)
    if written is None:
        return ArticlePayload(article=None, user_errors=_under_input(errors))
    context = info.context
    found = await context.fetch(*articles.by_ids_statement([written], viewer=context.viewer, now=context.now))
    return ArticlePayload(article=found[0] if found else None, user_errors=[])


def _now(info: Info) -> datetime:
    return info.context.now


def _under_input(errors: list[UserError]) -> list[UserError]:
    return [
        error
        if not error.field or error.field[0] in ARGUMENTS
        else replace(error, field=["input", *error.field])
        for error in errors
    ]


def _edit(given: ArticleInput) -> workflow.Edit:
    """The editor's input in the terms of `content`: references by slug, images and SEO as stored."""
    return workflow.Edit(
        title=given.title,
        slug=given.slug,
        subtitle=given.subtitle,
        excerpt=given.excerpt,
        body=given.body,
        language=given.language,
        translation_of=given.translation_of,
        authors=given.authors,
        category=given.category,
        tags=given.tags,
        sources=None
        if given.sources is None
        else [SourceRef(name=s.source, role=s.role.value, url=s.url, note=s.note) for s in given.sources],
        cover_image=None
        if given.cover_image is None
        else {
            "url": given.cover_image.url,
            "alt": given.cover_image.alt,
            "caption": given.cover_image.caption,
            "credit": given.cover_image.credit,
            "width": given.cover_image.width,
            "height": given.cover_image.height,
        },
        seo=None
        if given.seo is None
        else {
            "title": given.seo.title,
            "description": given.seo.description,
            "canonicalUrl": given.seo.canonical_url,
        },
    )


@strawberry.type
class Mutation(ArticleMutation, ReferenceMutation, AdminMutation):
    """Every write of the contract; each one transaction through `content`."""
