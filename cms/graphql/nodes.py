"""The content types: Article, Author, Category, Source, Tag and their parts. Their objects are rows, and each
field is declared once, here, for Strawberry and the planner alike (`cms.graphql.fields`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLAbstractType, GraphQLResolveInfo

from cms.content import articles, corrections, related, revisions, tags
from cms.content.categories import CategoryTree
from cms.content.keys import ARTICLES
from cms.content.pagination import PageRequest
from cms.content.visibility import author_email_visible
from cms.graphql.context import Context, Info
from cms.graphql.enums import ArticleStatus, BodyFormat, CorrectionKind, SourceKind, SourceRole
from cms.graphql.fields import Columns, PerLevel, computed, plan
from cms.graphql.inputs import ArticleFilter, ArticleOrder
from cms.graphql.jsonld import JSON_LD, url_of
from cms.graphql.lists import (
    ARTICLES_BY_AUTHOR,
    ARTICLES_BY_CATEGORY,
    ARTICLES_BY_SOURCE,
    ARTICLES_BY_TAG,
    grouped,
)
from cms.graphql.pagination import Conn, Connection, conns_by_parent
from cms.graphql.plan.compiler import Compiler, Selected
from cms.graphql.plan.shapes import Run, Slot, Value
from cms.graphql.relations import AUTHORS, CORRECTIONS, PREVIOUS_SLUGS, SOURCES, TAGS


@strawberry.interface
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque, globally unique, stable across export/import.")

    @classmethod
    def resolve_type(cls, obj: Any, info: GraphQLResolveInfo, type_: GraphQLAbstractType) -> str:
        """A node found by id is `Tagged` with its type: an id need not say it."""
        return str(obj.typename)

    @classmethod
    def is_type_of(cls, obj: Any, info: GraphQLResolveInfo) -> bool:
        """Rows have no Python type of their own: the field's type, or the node's tag, says what they are.
        graphql-core asks this of every object of the type it completes: Strawberry's engine tells the
        context the items of its answer here, as the planner does at load (`Context.saw`)."""
        info.context.saw(cls.__name__, (obj,))
        return True


def _tree(context: Context) -> CategoryTree:
    assert context.tree is not None, "declared with needs_tree"
    return context.tree


@strawberry.type
class Image:
    url: str
    alt: str
    caption: str | None
    credit: str | None
    width: int | None
    height: int | None


@strawberry.type
class Seo:
    title: str
    description: str
    canonical_url: str | None


@strawberry.type
class Revision:
    version: int
    created_at: datetime
    actor: str
    title: str
    status: ArticleStatus
    snapshot: str


@strawberry.type
class Author(Node):
    slug: str
    name: str
    bio: str | None
    avatar_url: str | None
    email: str | None = computed(
        lambda row, context: row.email if author_email_visible(context.viewer) else None,
        columns=("email",),
        description="Editors only; null for the public reader.",
    )

    @strawberry.field(metadata=plan(ARTICLES_BY_AUTHOR))
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await ARTICLES_BY_AUTHOR.resolve(
            self, info, first=first, after=after, filter=filter, order_by=order_by
        )


@strawberry.type
class Category(Node):
    slug: str
    previous_slugs: list[str] = computed(
        lambda row, context: _tree(context).previous_of.get(row.id, []),
        needs_tree=True,
        description="Its earlier slugs, oldest first, each still resolving to it.",
    )
    name: str
    description: str | None
    parent: Category | None = computed(
        lambda row, context: _tree(context).by_id.get(row.parent_id) if row.parent_id else None,
        needs_tree=True,
    )
    children: list[Category] = computed(
        lambda row, context: _tree(context).children_of.get(row.id, []), needs_tree=True
    )
    path: list[Category] = computed(
        lambda row, context: _tree(context).path(row.id),
        needs_tree=True,
        description="Breadcrumbs, root first, self last.",
    )

    @strawberry.field(metadata=plan(ARTICLES_BY_CATEGORY))
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        include_descendants: bool | None = True,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await ARTICLES_BY_CATEGORY.resolve(
            self,
            info,
            first=first,
            after=after,
            include_descendants=include_descendants,
            filter=filter,
            order_by=order_by,
        )


@strawberry.type
class Source(Node):
    slug: str
    name: str
    kind: SourceKind
    url: str | None

    @strawberry.field(metadata=plan(ARTICLES_BY_SOURCE))
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        role: SourceRole | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await ARTICLES_BY_SOURCE.resolve(
            self, info, first=first, after=after, role=role, filter=filter, order_by=order_by
        )


@strawberry.type
class SourceAttribution:
    """The object is the source's row, joined with the attribution's role, URL and note."""

    source: Source = computed(lambda row, context: row, passes_columns=True)
    role: SourceRole
    url: str | None = computed(
        lambda row, context: row.cited_url,
        columns=("cited_url",),
        description="The exact page cited, if any.",
    )
    note: str | None


async def _tag_counts(
    shape: Hashable, slugs: list[str], context: Context, columns: Columns
) -> dict[str, int]:
    read = tags.counts_statement(slugs, viewer=context.viewer, now=context.now)
    return dict(await context.fetch(*read))


TAG_COUNT = PerLevel(
    _tag_counts,
    key="uncounted",
    default=lambda: 0,
    pick=lambda row, found: row.article_count if row.uncounted is None else found,
)
"""A tag found or listed comes with its count; an article's (`tagList`) is counted only if asked, for all of
a level's tags in one statement."""


@strawberry.type
class Tag:
    """The object is a row of a tag statement (`content.tags`)."""

    slug: str
    name: str = strawberry.field(
        description="As visible articles write it: the smallest of their spellings (tagList: the article's)."
    )
    article_count: int = TAG_COUNT.field(description="Visible to the caller, like every count.")

    @strawberry.field(metadata=plan(ARTICLES_BY_TAG))
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await ARTICLES_BY_TAG.resolve(
            self, info, first=first, after=after, filter=filter, order_by=order_by
        )


# ---------------------------------------------------------------- article relations: one statement a level


async def _tag_lists(
    shape: Hashable, ids: list[str], context: Context, columns: Columns
) -> dict[str, list[Any]]:
    """Each article's tags as items, once a slug (its first name), in its order (`content.tags`)."""
    context.depends(ARTICLES)
    found: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in await context.fetch(*tags.of_articles_statement(ids)):
        found[row.article_id].setdefault(row.slug, row)
    return {article_id: list(rows.values()) for article_id, rows in found.items()}


TAG_LIST = PerLevel(_tag_lists)


async def _related(first: int, ids: list[str], context: Context, columns: Columns) -> dict[str, list[Any]]:
    wanted = articles.COLUMNS if columns is None else articles.columns_for(columns)
    read = related.statement(ids, first, viewer=context.viewer, now=context.now, columns=wanted)
    return grouped(await context.fetch(*read), "source_id")


RELATED = PerLevel(_related, lambda arguments: related.checked(arguments.get("first")))


async def _translations(
    shape: Hashable, groups: list[str], context: Context, columns: Columns
) -> dict[str, list[Any]]:
    wanted = articles.COLUMNS if columns is None else articles.columns_for(columns | {"translation_group"})
    read = articles.translations_statement(groups, viewer=context.viewer, now=context.now, columns=wanted)
    return grouped(await context.fetch(*read), "translation_group")


TRANSLATIONS = PerLevel(
    _translations, key="translation_group", pick=lambda row, found: [t for t in found if t.id != row.id]
)


def _revision_page(arguments: dict[str, Any]) -> PageRequest:
    return PageRequest.of(first=arguments.get("first"), after=arguments.get("after"))


async def _revisions(
    page: PageRequest, ids: list[str], context: Context, columns: Columns
) -> dict[str, Conn]:
    """EDITOR and ADMIN: a page of each article's revisions in one statement, their totals in one more."""
    revisions.check_readable(context.viewer)
    found = grouped(await context.fetch(revisions.page_statement(ids, page)), "article_id")
    count = revisions.count_statement(ids)
    return conns_by_parent(context, found, ids, page, revisions.NEWEST_FIRST, lambda: context.fetch(count))


REVISIONS = PerLevel(_revisions, _revision_page)


@dataclass(frozen=True, eq=False)
class InFormat:
    """Markdown in the format asked (`format: BodyFormat = HTML`), `text_in(row, format name)`, from the
    column `columns` names for the format: only that column is read, when the format is no variable's."""

    text_in: Callable[[Any, str | None], str]
    columns: Mapping[str | None, str]

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        arguments, text_in = compiler.arguments(selected), self.text_in

        def get(row: Any, run: Run) -> str:
            format_ = arguments(run).get("format")
            return text_in(row, format_.name if format_ else None)

        fixed = compiler.fixed_arguments(selected)
        if fixed is None:
            return Value(selected.key, get, tuple(self.columns.values()))
        format_ = fixed.get("format")
        return Value(selected.key, get, (self.columns[format_.name if format_ else None],))

    def field(self, *, description: str) -> Any:
        text_in = self.text_in

        def resolve(root: Any, format: BodyFormat | None = BodyFormat.HTML) -> str:
            return text_in(root, format.name if format else None)

        return strawberry.field(resolver=resolve, description=description, metadata=plan(self))


@strawberry.type
class Correction:
    """The object is a row of `content.corrections.statement`."""

    kind: CorrectionKind
    text: str = InFormat(corrections.text_in, corrections.TEXT_COLUMNS).field(
        description="Written as Markdown, rendered and sanitised as a body is."
    )
    created_at: datetime


async def _related_of(root: Any, info: Info, first: int | None = related.DEFAULT) -> Any:
    return await RELATED.resolve(root, info, first=first)


async def _revisions_of(root: Any, info: Info, first: int | None = 20, after: str | None = None) -> Any:
    return await REVISIONS.resolve(root, info, first=first, after=after)


@strawberry.type
class Article(Node):
    slug: str = strawberry.field(description="Unique per language.")
    previous_slugs: list[str] = PREVIOUS_SLUGS.field(
        description="Its earlier slugs in its language, oldest first, each still resolving to it."
    )
    title: str
    subtitle: str | None
    excerpt: str = computed(
        lambda row, context: articles.excerpt_of(row),
        columns=("excerpt", "derived_excerpt"),
        description="Given, or derived from the body (<= 300 chars, no markup).",
    )
    status: ArticleStatus
    published_at: datetime | None
    first_published_at: datetime | None = strawberry.field(
        description="When the public first could see it; kept through unpublish and republish."
    )
    created_at: datetime
    updated_at: datetime
    language: str = strawberry.field(description='BCP 47 tag, e.g. "en", "az", "ru".')
    word_count: int
    reading_time_minutes: int = computed(
        lambda row, context: articles.reading_time(row), columns=("word_count",)
    )
    version: int

    body: str = InFormat(articles.body_in, articles.BODY_COLUMNS).field(
        description="Stored as Markdown; HTML is rendered and sanitised."
    )
    translations: list[Article] = TRANSLATIONS.field(
        description="The same story in other languages (visible ones only)."
    )
    authors: list[Author] = AUTHORS.field(description="Byline order.")
    category: Category | None = computed(
        lambda row, context: _tree(context).by_id.get(row.category_id) if row.category_id else None,
        columns=("category_id",),
        needs_tree=True,
        description="Primary category.",
    )
    tags: list[str] = TAGS.field()
    tag_list: list[Tag] = TAG_LIST.field(description="Its tags as items, in its order.")
    related: list[Article] = strawberry.field(
        resolver=_related_of,
        description="Visible articles most like it: shared tags, category, title words, language."
        f" 1..{related.MOST}",
        metadata=plan(RELATED),
    )
    sources: list[SourceAttribution] = SOURCES.field(description="Provenance, in the order given.")
    cover_image: Image | None = computed(
        lambda row, context: articles.cover_image_of(row), columns=("cover_image",)
    )
    seo: Seo = computed(
        lambda row, context: articles.seo_of(row),
        columns=("seo", "title", "excerpt", "derived_excerpt"),
    )
    corrections: list[Correction] = CORRECTIONS.field(
        description="The reader-facing log, oldest first; public when the article is."
    )
    url: str | None = computed(
        url_of,
        columns=("id", "slug", "language"),
        description="Its public URL from CMS_ARTICLE_URL; null when that is unset.",
    )
    json_ld: str = JSON_LD.field(
        description="schema.org NewsArticle as JSON-LD text, with its provenance and corrections."
    )
    revisions: Connection[Revision] = strawberry.field(
        resolver=_revisions_of,
        description="EDITOR and ADMIN; others get FORBIDDEN.",
        metadata=plan(REVISIONS),
    )
