"""Tags as items. A tag is the slug its names share (the one slug rule's, kept in `article_tag.slug`):
"caspian sea" and "caspian-sea" are one tag, and a name with no letter or digit in it makes none. What a
caller sees of a tag is made of the articles visible to them (`visibility.article_visible`), for every role
alike: its count is theirs, its name the smallest of the names they give it, and a tag none of them carries
is none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    bindparam,
    distinct,
    func,
    literal,
    select,
    true,
)

from cms.content import counts
from cms.content.articles import ARTICLE, STATEMENTS_CACHED, Links
from cms.content.errors import BadInput
from cms.content.filters import LENGTHS
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.reads import NOW, Read, in_keys, tested
from cms.content.roles import Role, Viewer
from cms.content.visibility import article_visible, can_preview, held_back
from cms.lru import LRU
from cms.models import ArticleTag, table_of

TAGGED = table_of(ArticleTag)
_TAG = TAGGED.c
PATTERN = "pattern"
_ESCAPE = "\\"


class TagOrderField(StrEnum):
    ARTICLE_COUNT = "ARTICLE_COUNT"
    NAME = "NAME"


@dataclass(frozen=True)
class TagOrder:
    field: TagOrderField = TagOrderField.ARTICLE_COUNT
    descending: bool = True


MOST_USED = TagOrder()

LINKS = Links(
    select(_TAG.slug.label("parent_key"), _TAG.article_id.label("key")).where(in_keys(_TAG.slug)).distinct(),
    ARTICLE.c.id,
    (counts.TAG, False),
)
"""A tag's articles (`Tag.articles`): its slug's rows, once an article however many of its names it has."""


def _counted(role: Role, *where: ColumnElement[bool]) -> Select[Any]:
    """The tags visible articles carry, as items: id (the slug, for cursors), slug, name, article_count, and
    `uncounted` None (their count is in hand; see `of_articles_statement`)."""
    return (
        select(
            _TAG.slug.label("id"),
            _TAG.slug,
            func.min(_TAG.tag).label("name"),
            func.count(distinct(_TAG.article_id)).label("article_count"),
            literal(None, String).label("uncounted"),
        )
        .join_from(TAGGED, ARTICLE, ARTICLE.c.id == _TAG.article_id)
        .where(*where, _TAG.slug != "", article_visible(Viewer(role), NOW))
        .group_by(_TAG.slug)
    )


@lru_cache(maxsize=16)
def _by_slug(role: Role) -> Select[Any]:
    if can_preview(Viewer(role)):
        return _counted(role, _TAG.slug == bindparam("slug"))
    return _public_by_slug()


@lru_cache(maxsize=1)
def _public_by_slug() -> Select[Any]:
    """`_counted` for one tag as the public sees it, from what the writes keep: its name the first of its
    spellings (ix_article_tag_name's order) on a visible article (an EXISTS each: a join has SQLite walk
    every visible article instead), its count its counter's less its articles
    held back, few and walked (`reads.tested`)."""
    slug = bindparam("slug", type_=String)
    named = _TAG.slug == slug
    carried = select(ARTICLE.c.id).where(
        ARTICLE.c.id == _TAG.article_id, article_visible(Viewer(Role.READER), NOW)
    )
    spelling = (
        select(_TAG.tag)
        .where(named, _TAG.slug != "", carried.exists())
        .order_by(_TAG.tag)
        .limit(1)
        .scalar_subquery()
    )
    held = select(func.count()).where(
        held_back(NOW), tested(ARTICLE.c.id).in_(select(_TAG.article_id).where(named))
    )
    total = counts.counted(counts.PUBLISHED_COUNT.c.key == slug) - held.scalar_subquery()
    found = select(spelling.label("name")).subquery("found")
    return select(
        slug.label("id"),
        slug.label("slug"),
        found.c.name,
        total.label("article_count"),
        literal(None, String).label("uncounted"),
    ).where(found.c.name.is_not(None))


def by_slug_statement(slug: str, *, viewer: Viewer, now: datetime) -> Read:
    """`tag(slug:)`: no row when no article visible to the caller carries it."""
    return Read(_by_slug(viewer.role), {"slug": slug, "now": now, counts.KIND: counts.TAG})


@lru_cache(maxsize=16)
def _listed(role: Role) -> Subquery:
    return _counted(role).subquery("tag")


@lru_cache(maxsize=16)
def tag_sort(role: Role, order: TagOrder) -> SortKey:
    """ARTICLE_COUNT ties go by slug, a to z, in either direction (the count is negated for DESC); NAME has
    no ties (one name is one slug)."""
    tags, tag = _listed(role), f"Tag:{order.field.value}:{'DESC' if order.descending else 'ASC'}"
    if order.field is TagOrderField.NAME:
        return SortKey(tag, tags.c.name, tags.c.slug, order.descending)
    count = tags.c.article_count
    return SortKey(tag, -count if order.descending else count, tags.c.slug, descending=False)


def _matching(tags: Subquery, searching: bool) -> ColumnElement[bool]:
    if not searching:
        return true()
    return tags.c.name.like(bindparam(PATTERN, type_=String), escape=_ESCAPE)


def _search(search: str | None) -> dict[str, str]:
    """The name pattern's value: names are lowercase (the write rule), so a lowercased search matches them
    case-insensitively on both databases."""
    words = (search or "").strip().lower()
    if not words:
        return {}
    if len(words) > LENGTHS["tag"]:
        raise BadInput(f"search is at most {LENGTHS['tag']} characters (a tag's), got {len(words):,}")
    escaped = "".join(_ESCAPE + c if c in (_ESCAPE, "%", "_") else c for c in words)
    return {PATTERN: f"%{escaped}%"}


_pages: LRU[tuple[Any, ...], Select[Any]] = LRU(STATEMENTS_CACHED)


def page_statement(
    *, viewer: Viewer, now: datetime, search: str | None, order: TagOrder, page: PageRequest
) -> tuple[Read, SortKey]:
    """One page of `tags` (one row more than asked, to know if there is more), its statement built once per
    shape: the first call's cursor stays in it as defaults, every call gives its own."""
    matched, role, sort = _search(search), viewer.role, tag_sort(viewer.role, order)
    tags = _listed(role)
    shape = (role, order, bool(matched), page.size, page.forward, page.cursor is not None)
    statement = _pages.make(
        shape, lambda: keyset_page(list(tags.c), sort=sort, where=[_matching(tags, bool(matched))], page=page)
    )
    assert statement is not None
    return Read(statement, {"now": now, **matched, **sort.after(page.cursor)}), sort


@lru_cache(maxsize=16)
def _count(role: Role, searching: bool) -> Select[Any]:
    tags = _listed(role)
    return select(func.count()).select_from(tags).where(_matching(tags, searching))


def count_statement(*, viewer: Viewer, now: datetime, search: str | None) -> Read:
    matched = _search(search)
    return Read(_count(viewer.role, bool(matched)), {"now": now, **matched})


_OF_ARTICLES = (
    select(
        _TAG.article_id,
        _TAG.slug.label("id"),
        _TAG.slug,
        _TAG.tag.label("name"),
        literal(None).label("article_count"),
        _TAG.slug.label("uncounted"),
    )
    .where(in_keys(_TAG.article_id), _TAG.slug != "")
    .order_by(_TAG.article_id, _TAG.position)
)


def of_articles_statement(article_ids: list[str]) -> Read:
    """`Article.tagList` of many articles, in each one's order: as its own names give them, their counts not
    read (`uncounted` is the slug to count them by, if asked: `counts_statement`)."""
    return Read(_OF_ARTICLES, {"keys": article_ids})


@lru_cache(maxsize=16)
def _counts(role: Role) -> Select[Any]:
    return (
        select(_TAG.slug, func.count(distinct(_TAG.article_id)))
        .join_from(TAGGED, ARTICLE, ARTICLE.c.id == _TAG.article_id)
        .where(in_keys(_TAG.slug), article_visible(Viewer(role), NOW))
        .group_by(_TAG.slug)
    )


def counts_statement(slugs: list[str], *, viewer: Viewer, now: datetime) -> Read:
    """(slug, count of the visible articles that carry it) of these tags, those with none left out."""
    return Read(_counts(viewer.role), {"keys": slugs, "now": now})
