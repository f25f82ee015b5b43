"""Articles, read side: every statement the read paths run, built from the shared rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql.util import ClauseAdapter

from cms.content import counts, search
from cms.content.categories import subtree_pairs
from cms.content.errors import BadInput
from cms.content.filters import NEWEST_FIRST, ArticleFilter, ArticleOrder, article_filter, article_sort
from cms.content.ids import could_be
from cms.content.languages import among, canonical, chain, chain_values, compared, position
from cms.content.lookups import require_one_of
from cms.content.markdown import reading_time_minutes
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.previous_slugs import holding
from cms.content.reads import NOW, Read, in_keys, tested
from cms.content.roles import Role, Viewer
from cms.content.visibility import article_visible, can_preview, held_back
from cms.db import KEYS
from cms.lru import LRU
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    ArticleTag,
    Author,
    Category,
    Source,
    table_of,
)

ARTICLE = table_of(Article)
_BYLINE, _AUTHOR = table_of(ArticleAuthor).c, table_of(Author)
_CITED, _SOURCE = table_of(ArticleSource).c, table_of(Source)
_TAGGED = table_of(ArticleTag).c
COLUMNS = tuple(ARTICLE.columns)
Columns = tuple[Any, ...]
"""Article columns to read, in the table's order: all of them (COLUMNS), or those a planned query uses."""


@lru_cache(maxsize=256)
def columns_for(names: frozenset[str]) -> Columns:
    """The columns of these names and the id, in the table's order (one statement text per set)."""
    wanted = {"id", *names}
    return tuple(column for column in COLUMNS if column.name in wanted)


@dataclass(frozen=True, eq=False)
class Links:
    """How articles hang off parents: `pairs` selects (parent_key, key) rows for the parents in the `keys`
    parameter, matched on `article_column`. Made once per kind; the parents come with each statement.
    Without pairs, the keys are `article_column`'s own values, for one parent. `counter`: the kind of the
    writes' counters (`content.counts`) that counts a parent's articles, and whether its keys are those the
    pairs give the parent (a category's subtree) rather than the parents themselves. `visibility_indexed`:
    an index of `article_column` holds status and publishedAt too (category_id's), so a parent's articles
    held back are found through its keys; else the few held back are walked and tested against them."""

    pairs: Select[Any] | None
    article_column: Any
    counter: tuple[str, bool] | None = None
    visibility_indexed: bool = False

    def joined(self, single: bool, *columns: Any, few: bool = False) -> tuple[Select[Any], Any]:
        """SELECT parent_key, columns FROM article JOIN the pairs; the pairs subquery for grouping. For a
        single parent (the `parent` parameter) the pairs are a list of keys (`article_column IN (...)`):
        SQLite answers a count from the parent's index, where a join has it scan every visible article.
        `few`: the statement's other conditions find few articles (those held back), which the parent's
        keys then test (`reads.tested`) rather than each of the parent's articles being looked up."""
        parent = bindparam(PARENT, type_=String).label("parent_key")
        column = tested(self.article_column) if few else self.article_column
        if self.pairs is None:
            return select(parent, *columns).select_from(Article).where(in_keys(column)), None
        link = self.pairs.subquery("link")
        if single:
            statement = select(parent, *columns).where(column.in_(select(link.c.key)))
            return statement.select_from(Article), link
        statement = select(link.c.parent_key, *columns).select_from(Article)
        return statement.join(link, link.c.key == self.article_column), link


PARENT = "parent"
STATEMENTS_CACHED = 256
_lists: LRU[tuple[Any, ...], Select[Any]] = LRU(STATEMENTS_CACHED)


def _list_statement(shape: tuple[Any, ...], build: Callable[[], Select[Any]]) -> Select[Any]:
    """A list's statement, built once per shape (role, filter, order, page size and direction, columns):
    building one costs 0.1 to 0.7 ms, reading a page less. The first call's cursor values stay in it as
    defaults; every call gives its own (`SortKey.after`), and the request's clock is the `now` parameter."""
    statement = _lists.get(shape)
    if statement is None:
        statement = _lists[shape] = build()
    return statement


def _visible(
    viewer: Viewer, now: datetime | BindParameter[Any], f: ArticleFilter | None = None
) -> list[ColumnElement[bool]]:
    return [article_visible(viewer, now), article_filter(f)]


def page_statement(
    *,
    viewer: Viewer,
    now: datetime,
    f: ArticleFilter | None,
    order: ArticleOrder,
    page: PageRequest,
    columns: Columns = COLUMNS,
    fallbacks: Sequence[str] | None = None,
) -> tuple[Read, SortKey]:
    """One page of the root `articles` list (one row more than asked, to know if there is more). With
    `fallbacks`, a page of stories, each in filter.language or the first of its fallbacks it has
    (`_first_in_story`); the rest of the filter and the order apply to the version chosen."""
    sort = article_sort(order, f, unpublished_visible=can_preview(viewer))
    if fallbacks is not None:
        rest, languages = _in_languages(f, fallbacks)
        stories = ("stories", viewer.role, rest, len(languages), order, page.size, page.forward)
        statement = _list_statement(
            (*stories, page.cursor is not None, columns),
            lambda: keyset_page(columns, sort=sort, where=_in_stories(viewer, rest, languages), page=page),
        )
        return Read(statement, {"now": now, **chain_values(languages), **sort.after(page.cursor)}), sort
    query = _public_search(viewer, f)
    if query is not None and order == NEWEST_FIRST and page.forward:
        searched = ("public search", page.size, page.cursor is not None, columns)
        statement = _list_statement(searched, lambda: _public_search_page(columns, sort, page))
        return Read(statement, {"now": now, **search.public_values(query), **sort.after(page.cursor)}), sort
    shape = ("page", viewer.role, f, order, page.size, page.forward, page.cursor is not None, columns)
    statement = _list_statement(
        shape, lambda: keyset_page(columns, sort=sort, where=_visible(viewer, NOW, f), page=page)
    )
    return Read(statement, {"now": now, **sort.after(page.cursor)}), sort


def _public_search_page(columns: Columns, sort: SortKey, page: PageRequest) -> Select[Any]:
    """The public's search newest first, forwards: the visibility rule and the seek over the few articles the
    public's part of the index gives the page."""
    public = article_visible(Viewer(), NOW)
    searched = search.public_page(page.size, seek=page.cursor is not None)
    return keyset_page(columns, sort=sort, where=[public, searched], page=page)


def count_statement(
    *, viewer: Viewer, now: datetime, f: ArticleFilter | None, fallbacks: Sequence[str] | None = None
) -> Read:
    """totalCount of the root list: what the caller may see and asked for, nothing more; with `fallbacks`,
    the stories (`page_statement`). The public's total of everything or of one language is its counter's
    (`content.counts`)."""
    if fallbacks is not None:
        rest, languages = _in_languages(f, fallbacks)
        statement = _list_statement(
            ("stories count", viewer.role, rest, len(languages)),
            lambda: select(func.count()).select_from(Article).where(*_in_stories(viewer, rest, languages)),
        )
        return Read(statement, {"now": now, **chain_values(languages)})
    query = _public_search(viewer, f)
    if query is not None:
        statement = _list_statement(("public search count",), lambda: select(search.public_count()))
        return Read(statement, {"now": now, **search.public_values(query)})
    counter = None if can_preview(viewer) else _root_counter(f)
    if counter is not None:
        kind, key = counter
        statement = _list_statement(("counted", kind), lambda: _counted_total(kind == counts.LANGUAGE))
        return Read(statement, {"now": now, counts.KIND: kind, counts.KEY: key})
    statement = _list_statement(
        ("count", viewer.role, f),
        lambda: select(func.count()).select_from(Article).where(*_visible(viewer, NOW, f)),
    )
    return Read(statement, {"now": now})


def _root_counter(f: ArticleFilter | None) -> tuple[str, str] | None:
    """The counter (kind, key) that counts what `f` asks for, if one does: none asked, or one language."""
    if f is None or f == ArticleFilter():
        return counts.ALL, ""
    if f.language is not None and replace(f, language=None) == ArticleFilter():
        return counts.LANGUAGE, canonical(f.language)
    return None


def _public_search(viewer: Viewer, f: ArticleFilter | None) -> str | None:
    """The search of a public list that asks for nothing else, which the public's part of the search index
    answers (`search.public_count`; `search.public_page` for a page newest first, forwards): one statement for
    every search, its words parameters."""
    if can_preview(viewer) or f is None or f.search is None or replace(f, search=None) != ArticleFilter():
        return None
    return f.search


def _counted_total(by_language: bool) -> Select[Any]:
    language = [compared(ARTICLE.c.language) == bindparam(counts.KEY, type_=String)] if by_language else []
    held = select(func.count()).select_from(Article).where(held_back(NOW), *language)
    return select(counts.counted() - held.scalar_subquery())


STORY = func.coalesce(ARTICLE.c.translation_group, ARTICLE.c.id)
"""An article's story: its translation group, or itself when it has none."""


def _in_languages(f: ArticleFilter | None, fallbacks: Sequence[str]) -> tuple[ArticleFilter, tuple[str, ...]]:
    """The filter without its language, and the chain of languages that language and `fallbacks` make."""
    if f is None or f.language is None:
        raise BadInput("fallbackLanguages go with filter.language")
    return replace(f, language=None), chain(f.language, fallbacks)


def _in_stories(viewer: Viewer, rest: ArticleFilter, languages: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The root list's conditions on the version chosen for each story. The visibility rule stays beside
    the choice, which applies it already, so that the public's list walks its order's index."""
    return [*_visible(viewer, NOW, rest), _first_in_story(viewer.role, len(languages))]


@lru_cache(maxsize=128)
def _first_in_story(role: Role, length: int) -> ColumnElement[bool]:
    """An article is its story's version `role` sees in the first language of a chain of `length` that the
    story has one in (the lower id first within a language): seen in the chain, and no version of its story
    seen before it. A correlated probe of the story's group for each row a page reads, so a page of stories
    walks its order's index (a window over every version would rank them all for every page)."""
    other, seen = ARTICLE.alias("other"), _seen(role, length)
    rank = tuple_(position(ARTICLE.c.language, length), ARTICLE.c.id)
    other_rank = tuple_(position(other.c.language, length), other.c.id)
    before = select(other.c.id).where(
        _of_story(other, STORY), other_rank < rank, ClauseAdapter(other).traverse(seen)
    )
    return and_(seen, ~exists(before.correlate(ARTICLE)))


def _seen(role: Role, length: int) -> ColumnElement[bool]:
    """The article is visible to `role` and in a chain of `length` (the tags are `chain_values`')."""
    return and_(among(ARTICLE.c.language, length), *_visible(Viewer(role), NOW))


def _of_story(article: Any, story: ColumnElement[Any]) -> ColumnElement[bool]:
    """`article` (the table or an alias) is a version of `story`, found by the group's index."""
    group = article.c.translation_group
    return or_(group == story, and_(group.is_(None), article.c.id == story))


def linked_page_statement(
    *,
    links: Links,
    parents: list[str],
    viewer: Viewer,
    now: datetime,
    f: ArticleFilter | None,
    order: ArticleOrder,
    page: PageRequest,
    columns: Columns = COLUMNS,
    keys: list[str] | None = None,
) -> tuple[Read, SortKey]:
    """A page of articles for each of `parents` in one statement (`keys`: the parameter's values when they
    are not the parents, see `Links`).

    Rows come back grouped by parent_key, in page order within each parent. One parent (an author or
    category page) is a plain LIMIT that can walk the order's index; several are ranked by a window over
    the narrow (parent, id, sort key) rows, and only each parent's first rows are read in full.
    """
    sort = article_sort(order, f, unpublished_visible=can_preview(viewer))
    single = len(parents) == 1

    def build() -> Select[Any]:
        where = _visible(viewer, NOW, f)
        if page.cursor is not None:  # first, as in `keyset_page`
            where.insert(0, sort.seek(page.cursor, page.forward))
        if single:
            statement, _ = links.joined(True, *columns, sort.key.label("sort_key"))
            return statement.where(*where).order_by(*sort.order_by(page.forward)).limit(page.size + 1)
        ranking, link = links.joined(False, ARTICLE.c.id.label("ranked_id"), sort.key.label("sort_key"))
        rank = func.row_number().over(partition_by=link.c.parent_key, order_by=sort.order_by(page.forward))
        ranked = ranking.add_columns(rank.label("rank")).where(*where).subquery("ranked")
        return (
            select(ranked.c.parent_key, *columns, ranked.c.sort_key)
            .join_from(ranked, ARTICLE, ARTICLE.c.id == ranked.c.ranked_id)
            .where(ranked.c.rank <= page.size + 1)
            .order_by(ranked.c.parent_key, ranked.c.rank)
        )

    shape = (
        "linked",
        links,
        single,
        viewer.role,
        f,
        order,
        page.size,
        page.forward,
        page.cursor is not None,
        columns,
    )
    values = {KEYS: parents if keys is None else keys, "now": now, **sort.after(page.cursor)}
    return Read(_list_statement(shape, build), values | ({PARENT: parents[0]} if single else {})), sort


def linked_count_statement(
    *,
    links: Links,
    parents: list[str],
    viewer: Viewer,
    now: datetime,
    f: ArticleFilter | None,
    keys: list[str] | None = None,
) -> Read:
    """totalCount per parent for `linked_page_statement`, in one statement; the public's, of a list with no
    filter, from its parents' counters (`_counted_per_parent`)."""
    single = len(parents) == 1
    counter = None if can_preview(viewer) or _root_counter(f) != (counts.ALL, "") else links.counter
    values = {KEYS: parents if keys is None else keys, "now": now} | ({PARENT: parents[0]} if single else {})
    if counter is not None and (single or links is not IN_CATEGORIES):
        kind, by_pairs = counter
        statement = _list_statement(
            ("linked counted", links, single), lambda: _counted_per_parent(links, single, by_pairs)
        )
        return Read(statement, values | {counts.KIND: kind})

    def build() -> Select[Any]:
        statement, link = links.joined(single, func.count())
        statement = statement.where(*_visible(viewer, NOW, f))
        return statement if single else statement.group_by(link.c.parent_key)

    return Read(_list_statement(("linked count", links, single, viewer.role, f), build), values)


def _counted_per_parent(links: Links, single: bool, by_pairs: bool) -> Select[Any]:
    """(parent_key, total): the parent's counters (its own, its subtree's categories, or those `links`
    pairs it with when `by_pairs`) less its articles held back."""
    pairs = links.pairs if by_pairs else None
    if single:
        maintained = counts.counted_in_keys() if pairs is None else counts.counted(counts.key_in(pairs))
        total = (maintained - func.count()).label("total")
        statement, _ = links.joined(True, total, few=not links.visibility_indexed)
        return statement.where(held_back(NOW))
    held, link = links.joined(False, (-func.count()).label("n"))
    held = held.where(held_back(NOW)).group_by(link.c.parent_key)
    both = union_all(
        counts.counted_by_parent(None if pairs is None else pairs.subquery("pairs")), held
    ).subquery("counted")
    return select(both.c.parent_key, counts.total(both.c.n)).group_by(both.c.parent_key)


AUTHOR_LINKS = Links(
    select(_BYLINE.author_id.label("parent_key"), _BYLINE.article_id.label("key")).where(
        in_keys(_BYLINE.author_id)
    ),
    ARTICLE.c.id,
    (counts.AUTHOR, False),
)


@cache
def source_links(role: str | None) -> Links:
    pairs = select(_CITED.source_id.label("parent_key"), _CITED.article_id.label("key")).where(
        in_keys(_CITED.source_id)
    )
    if role is not None:
        pairs = pairs.where(_CITED.role == role)
    return Links(pairs.distinct(), ARTICLE.c.id, (counts.source_kind(role), False))


IN_CATEGORIES = Links(None, ARTICLE.c.category_id, (counts.CATEGORY, False), visibility_indexed=True)
"""The articles of one category whose subtree's ids the caller has in hand (from the category tree): SQLite
reads each category's newest from its index, where a recursive subquery has it walk the newest of all."""


@cache
def category_links(include_descendants: bool) -> Links:
    """Categories (with their subtrees) as (category, category in it) pairs, joined on article.category_id."""
    if include_descendants:
        pairs = subtree_pairs().subquery("pairs")
        subtrees = select(pairs.c.root_id.label("parent_key"), pairs.c.id.label("key"))
        return Links(subtrees, ARTICLE.c.category_id, (counts.CATEGORY, True), visibility_indexed=True)
    category = table_of(Category).c.id
    own = select(category.label("parent_key"), category.label("key")).where(in_keys(category))
    return Links(own, ARTICLE.c.category_id, (counts.CATEGORY, True), visibility_indexed=True)


def lookup(
    id: str | None,
    slug: str | None,
    language: str | None,
    *,
    viewer: Viewer,
    now: datetime,
    columns: Columns = COLUMNS,
    fallbacks: Sequence[str] | None = None,
) -> Read | None:
    """`article(id:)` or `article(slug:, language:, fallbackLanguages:)`: exactly one of id or slug, languages
    only with a slug ("en" unless given); None for an id no article can have (ours of another type, or one
    no column holds). Any other is looked up: imported articles keep the ids they came with, whatever their
    form."""
    require_one_of(id, slug)
    if id is None:
        languages = chain(language or "en", fallbacks)
        return by_slug_statement(slug or "", languages, viewer=viewer, now=now, columns=columns)
    if language is not None or fallbacks is not None:
        raise BadInput("language and fallbackLanguages go with slug, not with id")
    if not could_be(id, "Article"):
        return None
    return by_ids_statement([id], viewer=viewer, now=now, columns=columns)


def by_ids_statement(
    ids: Iterable[str], *, viewer: Viewer, now: datetime, columns: Columns = COLUMNS
) -> Read:
    return Read(_by_ids(viewer.role, columns), {"keys": list(ids), "now": now})


def by_slug_statement(
    slug: str, languages: tuple[str, ...], *, viewer: Viewer, now: datetime, columns: Columns = COLUMNS
) -> Read:
    """`article(slug:)` along a `languages.chain`: the first article the caller sees with the slug, in the
    chain's order, names the story; the answer is the story's version the caller sees in the chain's first
    language that has one (the one found, within its language). One language is the article itself."""
    statement = (
        _by_slug(viewer.role, columns)
        if len(languages) == 1
        else _in_story(viewer.role, columns, len(languages))
    )
    return Read(statement, {"slug": slug, "now": now, **chain_values(languages)})


def translations_statement(
    groups: Iterable[str], *, viewer: Viewer, now: datetime, columns: Columns = COLUMNS
) -> Read:
    """Every visible article of the given translation groups, in language order."""
    return Read(_translations(viewer.role, columns), {"keys": list(groups), "now": now})


def authors_statement(article_ids: Iterable[str]) -> Read:
    """Bylines of many articles, in byline order."""
    return Read(_AUTHORS, {"keys": list(article_ids)})


def sources_statement(article_ids: Iterable[str]) -> Read:
    """Source attributions of many articles, in the order given, with their sources."""
    return Read(_SOURCES, {"keys": list(article_ids)})


def tags_statement(article_ids: Iterable[str]) -> Read:
    return Read(_TAGS, {"keys": list(article_ids)})


@lru_cache(maxsize=256)
def _by_ids(role: Role, columns: Columns) -> Select[Any]:
    return select(*columns).where(in_keys(ARTICLE.c.id), *_visible(Viewer(role), NOW))


_SLUG: BindParameter[str] = bindparam("slug")


@lru_cache(maxsize=256)
def _by_slug(role: Role, columns: Columns) -> CompoundSelect:
    query = select(*columns).where(among(ARTICLE.c.language, 1), *_visible(Viewer(role), NOW))
    return holding(query, _SLUG)


@lru_cache(maxsize=256)
def _in_story(role: Role, columns: Columns, length: int) -> Select[Any]:
    """`by_slug_statement` for a chain of `length`: the first article seen with the slug names the story,
    and the story's group gives its versions."""
    rank, seen = position(ARTICLE.c.language, length), _seen(role, length)
    named = select(STORY.label("story"), ARTICLE.c.id.label("found_id"), rank.label("rank")).where(seen)
    found = holding(named, _SLUG).order_by("rank", "found_id").limit(1).subquery("found")
    return (
        select(*columns)
        .select_from(ARTICLE.join(found, _of_story(ARTICLE, found.c.story)))
        .where(seen)
        .order_by(rank, ARTICLE.c.id != found.c.found_id, ARTICLE.c.id)
        .limit(1)
    )


@lru_cache(maxsize=256)
def _translations(role: Role, columns: Columns) -> Select[Any]:
    return (
        select(*columns)
        .where(in_keys(ARTICLE.c.translation_group), *_visible(Viewer(role), NOW))
        .order_by(compared(ARTICLE.c.language), ARTICLE.c.id)
    )


# Bylines and sources with what the API shows of an author or a source: no timestamps, whose conversion
# would cost two datetimes a row.
_AUTHORS = (
    select(
        _BYLINE.article_id,
        *(_AUTHOR.c[name] for name in ("id", "slug", "name", "bio", "avatar_url", "email")),
    )
    .join(_AUTHOR, _AUTHOR.c.id == _BYLINE.author_id)
    .where(in_keys(_BYLINE.article_id))
    .order_by(_BYLINE.article_id, _BYLINE.position)
)
_SOURCES = (
    select(
        _CITED.article_id,
        _CITED.role,
        _CITED.url.label("cited_url"),
        _CITED.note,
        *(_SOURCE.c[name] for name in ("id", "slug", "name", "kind", "url")),
    )
    .join(_SOURCE, _SOURCE.c.id == _CITED.source_id)
    .where(in_keys(_CITED.article_id))
    .order_by(_CITED.article_id, _CITED.position)
)
_TAGS = (
    select(_TAGGED.article_id, _TAGGED.tag)
    .where(in_keys(_TAGGED.article_id))
    .order_by(_TAGGED.article_id, _TAGGED.position)
)


def excerpt_of(row: Any) -> str:
    """The excerpt a reader sees: the one given, else the one derived from the body."""
    return row.excerpt or row.derived_excerpt


BODY_COLUMNS = {"MARKDOWN": "body", "TEXT": "body_text", "HTML": "body_html", None: "body_html"}
"""The body in a format: MARKDOWN as written, TEXT, else (HTML, the default) rendered and sanitised."""


def body_in(row: Any, format_name: str | None) -> str:
    return str(getattr(row, BODY_COLUMNS[format_name]))


class CoverImage(NamedTuple):
    url: str
    alt: str
    caption: str | None
    credit: str | None
    width: int | None
    height: int | None


class SeoFields(NamedTuple):
    title: str
    description: str
    canonical_url: str | None


def cover_image_of(row: Any) -> CoverImage | None:
    """The cover image as readers get it: none without a URL, and an alt text that is never null."""
    image = row.cover_image
    if not image or not image.get("url"):
        return None
    get = image.get
    return CoverImage(
        get("url"), get("alt") or "", get("caption"), get("credit"), get("width"), get("height")
    )


def seo_of(row: Any) -> SeoFields:
    """SEO fields as readers get them: the title and excerpt stand in for what was not given."""
    seo = row.seo or {}
    return SeoFields(
        seo.get("title") or row.title, seo.get("description") or excerpt_of(row), seo.get("canonicalUrl")
    )


def reading_time(row: Any) -> int:
    return reading_time_minutes(row.word_count)
