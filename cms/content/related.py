"""Related articles (`Article.related`): the articles visible to the caller most like one, for every article
of a level in one statement. Likeness is a score: WEIGHTS["tag"] for each tag (slug) the two share, then
WEIGHTS["category"] for the same category and WEIGHTS["language"] for the same language, the text's; ties
go to the newer, then by id. The article itself and its translations are never related to it (they are the
same story), and only an article sharing a tag or the category is a candidate at all: language alone would
make every article one."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, String, bindparam, case, cast, distinct, func, null, or_, select, union_all

from cms.content.articles import ARTICLE, COLUMNS, Columns
from cms.content.errors import BadInput
from cms.content.filters import NEWEST_FIRST, article_sort
from cms.content.reads import NOW, Read, in_keys
from cms.content.roles import Role, Viewer
from cms.content.tags import TAGGED
from cms.content.visibility import article_visible, can_preview

DEFAULT, MOST = 5, 20
WEIGHTS = {"tag": 4, "category": 2, "language": 1}
FIRST = "first"


def checked(first: int | None) -> int:
    """`related(first:)`: 1..MOST, the contract's bound, else BAD_USER_INPUT."""
    if first is None:
        return DEFAULT
    if not 1 <= first <= MOST:
        raise BadInput(f"first must be between 1 and {MOST}, got {first}")
    return first


def statement(
    ids: list[str], first: int, *, viewer: Viewer, now: datetime, columns: Columns = COLUMNS
) -> Read:
    """The related articles of each of `ids`: rows of (source_id, columns), grouped by source_id, most like
    it first, at most `first` each."""
    return Read(_statement(viewer.role, columns), {"keys": ids, FIRST: first, "now": now})


@lru_cache(maxsize=64)
def _statement(role: Role, columns: Columns) -> Select[Any]:
    source = ARTICLE.alias("source")
    sources = (
        select(
            source.c.id.label("source_id"),
            source.c.category_id,
            source.c.language,
            source.c.translation_group,
        )
        .where(in_keys(source.c.id))
        .cte("sources")
    )
    mine, theirs, peer = TAGGED.alias("mine"), TAGGED.alias("theirs"), ARTICLE.alias("peer")
    by_tag = (
        select(sources.c.source_id, theirs.c.article_id.label("candidate_id"), theirs.c.slug)
        .join_from(sources, mine, mine.c.article_id == sources.c.source_id)
        .join(theirs, theirs.c.slug == mine.c.slug)
        .where(mine.c.slug != "")
    )
    by_category = select(
        sources.c.source_id, peer.c.id.label("candidate_id"), cast(null(), String).label("slug")
    ).join_from(sources, peer, peer.c.category_id == sources.c.category_id)
    pairs = union_all(by_tag, by_category).subquery("pairs")
    shared = (
        select(pairs.c.source_id, pairs.c.candidate_id, func.count(distinct(pairs.c.slug)).label("tags"))
        .group_by(pairs.c.source_id, pairs.c.candidate_id)
        .subquery("shared")
    )
    score = (
        shared.c.tags * WEIGHTS["tag"]
        + case((ARTICLE.c.category_id == sources.c.category_id, WEIGHTS["category"]), else_=0)
        + case((ARTICLE.c.language == sources.c.language, WEIGHTS["language"]), else_=0)
    )
    viewer = Viewer(role)
    newest = article_sort(NEWEST_FIRST, None, unpublished_visible=can_preview(viewer))
    rank = func.row_number().over(
        partition_by=shared.c.source_id, order_by=[score.desc(), *newest.order_by()]
    )
    ranked = (
        select(shared.c.source_id, ARTICLE.c.id.label("ranked_id"), rank.label("rank"))
        .join_from(shared, ARTICLE, ARTICLE.c.id == shared.c.candidate_id)
        .join(sources, sources.c.source_id == shared.c.source_id)
        .where(
            article_visible(viewer, NOW),
            ARTICLE.c.id != sources.c.source_id,
            or_(
                sources.c.translation_group.is_(None),
                ARTICLE.c.translation_group.is_distinct_from(sources.c.translation_group),
            ),
        )
        .subquery("ranked")
    )
    return (
        select(ranked.c.source_id, *columns)
        .join_from(ranked, ARTICLE, ARTICLE.c.id == ranked.c.ranked_id)
        .where(ranked.c.rank <= bindparam(FIRST))
        .order_by(ranked.c.source_id, ranked.c.rank)
    )
