"""Related articles (`Article.related`): the articles visible to the caller most like one, for every article
of a level in one statement. Likeness is a score: WEIGHTS["tag"] for each tag (slug) the two share,
WEIGHTS["category"] for the same category, WEIGHTS["word"] for each significant word of the article's
title that the other's title, subtitle, excerpt or tags hold (at most WORDS_COUNTED of them), and
WEIGHTS["language"] for the same language, the text's; ties go to the newer, then by id. The article itself
and its translations are never related to it (they are the same story), and only an article sharing a tag,
the category or a word is a candidate at all: language alone would make every article one.

Words are the contract's "text": two stories about one subject name it in their headlines even when their
editors tagged them apart. A word weighs less than a tag, which an editor chose, and only WORDS_COUNTED
count, so that words alone never outweigh a tag; two weigh as much as the category. Which words count and
how the articles holding them are found is `title_words`' (a title's first words that are neither function
words nor common in the archive, through the search index). Bodies are not compared: nearly every word of
a body is in many other bodies, so a body's words would make most of the archive a candidate."""

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
from cms.content.title_words import shared_words
from cms.content.visibility import article_visible, can_preview

DEFAULT, MOST = 5, 20
WEIGHTS = {"tag": 4, "category": 2, "word": 1, "language": 1}
WORDS_COUNTED = 3
"""Shared title words that count, at most: three words still weigh less than a tag."""
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
            source.c.title,
        )
        .where(in_keys(source.c.id))
        .cte("sources")
    )
    mine, theirs, peer = TAGGED.alias("mine"), TAGGED.alias("theirs"), ARTICLE.alias("peer")
    none = cast(null(), String)
    by_tag = (
        select(
            sources.c.source_id, theirs.c.article_id.label("candidate_id"), theirs.c.slug, none.label("word")
        )
        .join_from(sources, mine, mine.c.article_id == sources.c.source_id)
        .join(theirs, theirs.c.slug == mine.c.slug)
        .where(mine.c.slug != "")
    )
    by_category = select(
        sources.c.source_id, peer.c.id.label("candidate_id"), none.label("slug"), none.label("word")
    ).join_from(
        # `|| ''` leaves SQLite no index of the sources to build on their category, so it looks each one's
        # articles up by category instead of walking every article
        sources,
        peer,
        peer.c.category_id == sources.c.category_id.concat(""),
    )
    words = shared_words(sources).subquery("words")
    by_word = select(words.c.source_id, words.c.candidate_id, none.label("slug"), words.c.word)
    pairs = union_all(by_tag, by_category, by_word).subquery("pairs")
    shared = (
        select(
            pairs.c.source_id,
            pairs.c.candidate_id,
            func.count(distinct(pairs.c.slug)).label("tags"),
            func.count(pairs.c.word).label("words"),  # a (source, candidate, word) comes once
        )
        .group_by(pairs.c.source_id, pairs.c.candidate_id)
        .subquery("shared")
    )
    score = (
        shared.c.tags * WEIGHTS["tag"]
        + case((ARTICLE.c.category_id == sources.c.category_id, WEIGHTS["category"]), else_=0)
        + case((shared.c.words > WORDS_COUNTED, WORDS_COUNTED), else_=shared.c.words) * WEIGHTS["word"]
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
