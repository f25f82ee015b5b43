"""Articles, read side: every statement the read paths run, built from the shared rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from cms.content.categories import subtree_pairs
from cms.content.filters import ArticleFilter, ArticleOrder, article_filter, article_sort
from cms.content.markdown import reading_time_minutes
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.roles import Viewer
from cms.content.visibility import article_visible, can_preview
from cms.models import Article, ArticleAuthor, ArticleSource, ArticleTag, Author, Category, Source

COLUMNS = list(Article.__table__.columns)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Links:
    """How articles hang off parents: `pairs` selects (parent_key, key) rows, joined on `article_column`."""

    pairs: Select[Any]
    article_column: Any

    def joined(self, *columns: Any) -> tuple[Select[Any], Any]:
        """SELECT parent_key, columns FROM article JOIN the pairs; the pairs subquery for grouping."""
        link = self.pairs.subquery("link")
        statement = select(link.c.parent_key, *columns).select_from(Article)
        return statement.join(link, link.c.key == self.article_column), link


def _visible(viewer: Viewer, now: datetime, f: ArticleFilter | None = None) -> list[ColumnElement[bool]]:
    return [article_visible(viewer, now), article_filter(f)]


def page_statement(
    *, viewer: Viewer, now: datetime, f: ArticleFilter | None, order: ArticleOrder, page: PageRequest
) -> tuple[Select[Any], SortKey]:
    """One page of the root `articles` list (one row more than asked, to know if there is more)."""
    sort = article_sort(order, f, unpublished_visible=can_preview(viewer))
    return keyset_page(COLUMNS, sort=sort, where=_visible(viewer, now, f), page=page), sort


def count_statement(*, viewer: Viewer, now: datetime, f: ArticleFilter | None) -> Select[Any]:
    """totalCount of the root list: what the caller may see and asked for, nothing more."""
    return select(func.count()).select_from(Article).where(*_visible(viewer, now, f))


def linked_page_statement(
    *,
    links: Links,
    parents: int,
    viewer: Viewer,
    now: datetime,
    f: ArticleFilter | None,
    order: ArticleOrder,
    page: PageRequest,
) -> tuple[Select[Any], SortKey]:
    """A page of articles for each of `parents` parents in one statement.

    Rows come back grouped by parent_key, in page order within each parent. One parent (an author or
    category page) is a plain LIMIT that can walk the order's index; several are ranked by a window over
    the narrow (parent, id, sort key) rows, and only each parent's first rows are read in full.
    """
    sort = article_sort(order, f, unpublished_visible=can_preview(viewer))
    where = _visible(viewer, now, f)
    if page.cursor is not None:
        where.append(sort.seek(page.cursor, page.forward))
    if parents == 1:
        statement, _ = links.joined(*COLUMNS, sort.key.label("sort_key"))
        return statement.where(*where).order_by(*sort.order_by(page.forward)).limit(page.size + 1), sort
    ranking, link = links.joined(Article.id.label("ranked_id"), sort.key.label("sort_key"))  # type: ignore[attr-defined]
    rank = func.row_number().over(partition_by=link.c.parent_key, order_by=sort.order_by(page.forward))
    ranked = ranking.add_columns(rank.label("rank")).where(*where).subquery("ranked")
    statement = (
        select(ranked.c.parent_key, *COLUMNS, ranked.c.sort_key)
        .join_from(ranked, Article, Article.id == ranked.c.ranked_id)
        .where(ranked.c.rank <= page.size + 1)
        .order_by(ranked.c.parent_key, ranked.c.rank)
    )
    return statement, sort


def linked_count_statement(
    *, links: Links, viewer: Viewer, now: datetime, f: ArticleFilter | None
) -> Select[Any]:
    """totalCount per parent for `linked_page_statement`, in one statement."""
    statement, link = links.joined(func.count())
    return statement.where(*_visible(viewer, now, f)).group_by(link.c.parent_key)


def author_links(author_ids: Iterable[str]) -> Links:
    return Links(
        select(ArticleAuthor.author_id.label("parent_key"), ArticleAuthor.article_id.label("key"))  # type: ignore[attr-defined]
        .where(ArticleAuthor.author_id.in_(list(author_ids))),  # type: ignore[attr-defined]
        Article.id,
    )  # fmt: skip


def source_links(source_ids: Iterable[str], role: str | None) -> Links:
    pairs = select(
        ArticleSource.source_id.label("parent_key"),  # type: ignore[attr-defined]
        ArticleSource.article_id.label("key"),  # type: ignore[attr-defined]
    ).where(ArticleSource.source_id.in_(list(source_ids)))  # type: ignore[attr-defined]
    if role is not None:
        pairs = pairs.where(ArticleSource.role == role)
    return Links(pairs.distinct(), Article.id)


def category_links(category_ids: Iterable[str], include_descendants: bool) -> Links:
    """Categories (with their subtrees) as (category, category in it) pairs, joined on article.category_id."""
    ids = list(category_ids)
    if include_descendants:
        pairs = subtree_pairs(ids).subquery("pairs")
        return Links(
            select(pairs.c.root_id.label("parent_key"), pairs.c.id.label("key")), Article.category_id
        )
    own = select(Category.id.label("parent_key"), Category.id.label("key")).where(Category.id.in_(ids))  # type: ignore[attr-defined]
    return Links(own, Article.category_id)


def by_ids_statement(ids: Iterable[str], *, viewer: Viewer, now: datetime) -> Select[Any]:
    return select(*COLUMNS).where(Article.id.in_(list(ids)), *_visible(viewer, now))  # type: ignore[attr-defined]


def by_slug_statement(slug: str, language: str, *, viewer: Viewer, now: datetime) -> Select[Any]:
    return select(*COLUMNS).where(
        Article.slug == slug,  # type: ignore[arg-type]
        Article.language == language,  # type: ignore[arg-type]
        *_visible(viewer, now),
    )


def translations_statement(groups: Iterable[str], *, viewer: Viewer, now: datetime) -> Select[Any]:
    """Every visible article of the given translation groups, in language order."""
    return (
        select(*COLUMNS)
        .where(Article.translation_group.in_(list(groups)), *_visible(viewer, now))  # type: ignore[union-attr]
        .order_by(Article.language, Article.id)
    )


def authors_statement(article_ids: Iterable[str]) -> Select[Any]:
    """Bylines of many articles, in byline order."""
    return (
        select(ArticleAuthor.article_id, *Author.__table__.columns)  # type: ignore[attr-defined]
        .join(Author, Author.id == ArticleAuthor.author_id)  # type: ignore[arg-type]
        .where(ArticleAuthor.article_id.in_(list(article_ids)))  # type: ignore[attr-defined]
        .order_by(ArticleAuthor.article_id, ArticleAuthor.position)
    )


def sources_statement(article_ids: Iterable[str]) -> Select[Any]:
    """Source attributions of many articles, in the order given, with their sources."""
    source = Source.__table__.columns  # type: ignore[attr-defined]
    return (
        select(
            ArticleSource.article_id,
            ArticleSource.role,
            ArticleSource.url.label("cited_url"),  # type: ignore[union-attr]
            ArticleSource.note,
            *source,
        )
        .join(Source, Source.id == ArticleSource.source_id)  # type: ignore[arg-type]
        .where(ArticleSource.article_id.in_(list(article_ids)))  # type: ignore[attr-defined]
        .order_by(ArticleSource.article_id, ArticleSource.position)
    )


def tags_statement(article_ids: Iterable[str]) -> Select[Any]:
    return (
        select(ArticleTag.article_id, ArticleTag.tag)
        .where(ArticleTag.article_id.in_(list(article_ids)))  # type: ignore[attr-defined]
        .order_by(ArticleTag.article_id, ArticleTag.position)
    )


def excerpt_of(row: Any) -> str:
    """The excerpt a reader sees: the one given, else the one derived from the body."""
    return row.excerpt or row.derived_excerpt


def reading_time(row: Any) -> int:
    return reading_time_minutes(row.word_count)
