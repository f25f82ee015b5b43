"""The content types: Article, Author, Category, Source and their parts, shaped from rows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry

from cms.content import articles, revisions
from cms.content.categories import CategoryTree
from cms.content.pagination import PageRequest, page_of
from cms.content.visibility import author_email_visible
from cms.graphql.context import Info
from cms.graphql.enums import ArticleStatus, BodyFormat, SourceKind, SourceRole
from cms.graphql.inputs import ArticleFilter, ArticleOrder, filter_of, order_of
from cms.graphql.loaders import ArticleListKey
from cms.graphql.pagination import Connection, connection


@strawberry.interface
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque, globally unique, stable across export/import.")


@strawberry.type
class Image:
    url: str
    alt: str
    caption: str | None = None
    credit: str | None = None
    width: int | None = None
    height: int | None = None


@strawberry.type
class Seo:
    title: str
    description: str
    canonical_url: str | None = None


@strawberry.type
class Revision:
    version: int
    created_at: datetime
    actor: str
    title: str
    status: ArticleStatus
    snapshot: str
    id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> Revision:
        return cls(
            version=row.version,
            created_at=row.created_at,
            actor=row.actor,
            title=row.title,
            status=ArticleStatus(row.status),
            snapshot=row.snapshot,
            id=row.id,
        )


@strawberry.type
class SourceAttribution:
    source: Source
    role: SourceRole
    url: str | None = strawberry.field(description="The exact page cited, if any.")
    note: str | None


async def _article_list(
    info: Info,
    loader_name: str,
    parent_id: str,
    *,
    first: int | None,
    after: str | None,
    filter: ArticleFilter | None,
    order_by: ArticleOrder | None,
    option: Any = None,
) -> Connection[Article]:
    """A nested article connection, loaded together with the same list of every sibling parent."""
    loaders = info.context.loaders
    key = ArticleListKey(
        parent_id, filter_of(filter), order_of(order_by), PageRequest.of(first=first, after=after), option
    )
    page, sort = await getattr(loaders, f"articles_by_{loader_name}").load(key)
    count = getattr(loaders, f"article_count_by_{loader_name}")
    result = connection(page, sort, Article.from_row, lambda: count.load(key))
    await with_relations(info, result.nodes())
    return result


RELATIONS = ("authors", "tags", "sources")


def _names(selections: Sequence[Any]) -> set[str]:
    """Every field (and fragment) name anywhere under these selections."""
    names: set[str] = set()
    for selection in selections:
        names.add(getattr(selection, "name", ""))
        names |= _names(selection.selections)
    return names


async def with_relations(info: Info, items: list[Article]) -> list[Article]:
    """Load what the query asks of these articles (bylines, tags, sources: a batched statement each; the
    category tree) before their fields resolve, so those fields need no coroutine, loader call and task
    per article. Sibling lists ask in the same tick, so their loads share the same statements."""
    if not items:
        return items
    wanted = _names(info.selected_fields)
    loaders = info.context.loaders
    ids = [article.id for article in items]
    names = [name for name in RELATIONS if name in wanted]
    found = await asyncio.gather(
        *(getattr(loaders, f"{name}_by_article_id").load_many(ids) for name in names)
    )
    tree = await loaders.category_tree() if "category" in wanted else None
    for position, article in enumerate(items):
        article.related = {name: rows[position] for name, rows in zip(names, found, strict=True)}
        article.tree = tree
    return items


@strawberry.type
class Author(Node):
    slug: str
    name: str
    bio: str | None
    avatar_url: str | None
    row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Author:
        return cls(id=row.id, slug=row.slug, name=row.name, bio=row.bio, avatar_url=row.avatar_url, row=row)

    @strawberry.field(description="Editors only; null for the public reader.")
    def email(self, info: Info) -> str | None:
        return self.row.email if author_email_visible(info.context.viewer) else None

    @strawberry.field
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await _article_list(
            info, "author_id", self.id, first=first, after=after, filter=filter, order_by=order_by
        )


@strawberry.type
class Category(Node):
    slug: str
    name: str
    description: str | None
    row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> Category:
        return cls(id=row.id, slug=row.slug, name=row.name, description=row.description, row=row)

    @strawberry.field
    async def parent(self, info: Info) -> Category | None:
        tree = await info.context.loaders.category_tree()
        parent = tree.by_id.get(self.row.parent_id) if self.row.parent_id else None
        return Category.from_row(parent) if parent else None

    @strawberry.field
    async def children(self, info: Info) -> list[Category]:
        tree = await info.context.loaders.category_tree()
        return [Category.from_row(row) for row in tree.children_of.get(self.id, [])]

    @strawberry.field(description="Breadcrumbs, root first, self last.")
    async def path(self, info: Info) -> list[Category]:
        tree = await info.context.loaders.category_tree()
        return [Category.from_row(row) for row in tree.path(self.id)]

    @strawberry.field
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        include_descendants: bool | None = True,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await _article_list(
            info,
            "category_id",
            self.id,
            first=first,
            after=after,
            filter=filter,
            order_by=order_by,
            option=include_descendants is not False,
        )


@strawberry.type
class Source(Node):
    slug: str
    name: str
    kind: SourceKind
    url: str | None

    @classmethod
    def from_row(cls, row: Any) -> Source:
        return cls(id=row.id, slug=row.slug, name=row.name, kind=SourceKind(row.kind), url=row.url)

    @strawberry.field
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        role: SourceRole | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await _article_list(
            info,
            "source_id",
            self.id,
            first=first,
            after=after,
            filter=filter,
            order_by=order_by,
            option=role.value if role else None,
        )


@strawberry.type
class Article(Node):
    slug: str = strawberry.field(description="Unique per language.")
    title: str
    subtitle: str | None
    excerpt: str = strawberry.field(description="Given, or derived from the body (<= 300 chars, no markup).")
    status: ArticleStatus
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    language: str = strawberry.field(description='BCP 47 tag, e.g. "en", "az", "ru".')
    word_count: int
    reading_time_minutes: int
    version: int
    row: strawberry.Private[Any]
    related: strawberry.Private[dict[str, list[Any]]]
    tree: strawberry.Private[CategoryTree | None]

    @classmethod
    def from_row(cls, row: Any) -> Article:
        """An article without its relations: list resolvers hand it to `with_relations` before use."""
        return cls(
            id=row.id,
            slug=row.slug,
            title=row.title,
            subtitle=row.subtitle,
            excerpt=articles.excerpt_of(row),
            status=ArticleStatus(row.status),
            published_at=row.published_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            language=row.language,
            word_count=row.word_count,
            reading_time_minutes=articles.reading_time(row),
            version=row.version,
            row=row,
            related={},
            tree=None,
        )

    @strawberry.field(description="Stored as Markdown; HTML is rendered and sanitised.")
    def body(self, format: BodyFormat | None = BodyFormat.HTML) -> str:
        return articles.body_in(self.row, format.name if format else None)

    @strawberry.field(description="The same story in other languages (visible ones only).")
    async def translations(self, info: Info) -> list[Article]:
        if not self.row.translation_group:
            return []
        rows = await info.context.loaders.translations_by_group.load(self.row.translation_group)
        return await with_relations(info, [Article.from_row(row) for row in rows if row.id != self.id])

    @strawberry.field(description="Byline order.")
    def authors(self) -> list[Author]:
        return [Author.from_row(row) for row in self.related["authors"]]

    @strawberry.field(description="Primary category.")
    def category(self) -> Category | None:
        row = self.tree.by_id.get(self.row.category_id) if self.tree and self.row.category_id else None
        return Category.from_row(row) if row else None

    @strawberry.field
    def tags(self) -> list[str]:
        return [row.tag for row in self.related["tags"]]

    @strawberry.field(description="Provenance, in the order given.")
    def sources(self) -> list[SourceAttribution]:
        return [
            SourceAttribution(
                source=Source.from_row(r), role=SourceRole(r.role), url=r.cited_url, note=r.note
            )
            for r in self.related["sources"]
        ]

    @strawberry.field
    def cover_image(self) -> Image | None:
        image = articles.cover_image_of(self.row)
        return Image(**image) if image else None

    @strawberry.field
    def seo(self) -> Seo:
        return Seo(**articles.seo_of(self.row))

    @strawberry.field(description="EDITOR and ADMIN; others get FORBIDDEN.")
    async def revisions(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Revision]:
        revisions.check_readable(info.context.viewer)
        page = PageRequest.of(first=first, after=after)
        rows = await info.context.fetch(revisions.page_statement([self.id], page))

        async def count() -> int:
            return sum(total for _, total in await info.context.fetch(revisions.count_statement([self.id])))

        return connection(page_of(rows, page), revisions.NEWEST_FIRST, Revision.from_row, count)
