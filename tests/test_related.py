"""Related articles' text likeness (`content.title_words`), through the real app on both databases: an article
that shares significant title words is related, below one that shares a tag; function words, common words and
words beyond a title's first ones do not count; hidden articles never show for the public; and a level of
articles still costs one statement, whatever its size."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content import title_words
from cms.content.records import ArticleRecord
from cms.content.related import WEIGHTS, WORDS_COUNTED
from cms.content.roles import Role
from cms.db import StatementCounter
from tests.conftest import checked_app, data
from tests.test_tags import RELATED, as_role, published, write

SOURCE = "The Caspian sturgeon hatchery opens in Lankaran with new tanks"


async def _alike(engine: AsyncEngine) -> None:
    """The source and articles that share with it a tag, its category, title words, or only what does not
    count. Scores as `related.WEIGHTS` gives them, in the comments."""
    desk, other = ["Desk"], ["Elsewhere"]
    await write(
        engine,
        published(SOURCE, ["fish"], hours_ago=100, category=desk, slug="source"),
        # a tag 4, language 1
        published("Fish market weekly", ["fish"], hours_ago=30, category=other, slug="tag-only"),
        # three words (of four shared) 3, language 1
        published("Sturgeon hatchery opens in Lankaran", ["x"], hours_ago=20, category=other, slug="words-4"),
        # two words 2, language 1
        published("Sturgeon hatchery expands", ["x"], hours_ago=10, category=other, slug="words-2"),
        # the category 2, language 1: as much as two words, and older
        published("Desk notes", ["y"], hours_ago=40, category=desk, slug="desk-only"),
        # one word, in the excerpt: 1, language 1
        published(
            "Market report",
            ["z"],
            hours_ago=5,
            category=other,
            excerpt="Sturgeon prices.",
            slug="excerpt-word",
        ),
        # one word, another language: 1
        published("Lankaran xəbərləri", ["q"], hours_ago=1, category=other, language="az", slug="az-word"),
        # only function words and short ones in common: not related
        published("In with the new", ["r"], hours_ago=1, category=other, slug="function-words"),
        # hidden from the public, though alike
        ArticleRecord(
            title="Sturgeon hatchery draft", body="Soon.", tags=["x"], category=other, slug="draft"
        ),
        published("Sturgeon hatchery scheduled", ["x"], hours_ago=-5, category=other, slug="scheduled"),
        # its translation: never
        published(
            "Lənkəranda sturgeon hatchery", ["fish"], language="az", translation_of="source", slug="source"
        ),
    )


PUBLIC = ["tag-only", "words-4", "words-2", "desk-only", "excerpt-word", "az-word"]


@pytest.mark.parametrize("role", [Role.READER, Role.EDITOR])
async def test_shared_title_words_relate_articles_below_a_shared_tag(
    engine: AsyncEngine, clock: FixedClock, role: Role
) -> None:
    """Each shared word counts WEIGHTS["word"], at most WORDS_COUNTED of them: less than a tag, and two
    words as much as the category. Drafts and scheduled articles for those who see them only."""
    assert WORDS_COUNTED * WEIGHTS["word"] < WEIGHTS["tag"]
    assert 2 * WEIGHTS["word"] == WEIGHTS["category"]
    await _alike(engine)
    async with as_role(engine, clock, role) as http:
        found = (await data(http, RELATED, {"slug": "source", "first": 20}))["article"]["related"]
    slugs = [a["slug"] for a in found]
    if role is Role.READER:
        assert slugs == PUBLIC
    else:  # the draft (newest: it has no publishedAt) and the scheduled one score as words-2 does
        assert slugs == ["tag-only", "words-4", "draft", "scheduled", "words-2", "desk-only", *PUBLIC[4:]]


async def test_an_article_is_related_through_its_words_both_ways(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """Text likeness needs no tag and no category: an article's title words find the other's ranked fields,
    whichever is asked about."""
    await write(
        engine,
        published("Nakhchivan salt mines reopen", ["a"], hours_ago=3, slug="mines"),
        published("Salt mines of Nakhchivan draw visitors", ["b"], hours_ago=2, slug="visitors"),
        published("Unrelated weather", ["c"], hours_ago=1, slug="weather"),
    )
    async with checked_app(engine, clock) as http:
        for slug, other in (("mines", "visitors"), ("visitors", "mines"), ("weather", None)):
            found = (await data(http, RELATED, {"slug": slug}))["article"]["related"]
            assert [a["slug"] for a in found] == ([other] if other else [])


async def test_a_common_word_does_not_count(engine: AsyncEngine, clock: FixedClock) -> None:
    """A word that more than COMMON articles hold says nothing: held by COMMON (the source among them), it
    relates them; held by one more, none."""
    holders = [
        published(f"Bulletin number {n}", [f"t{n}"], hours_ago=n + 2, slug=f"bulletin-{n}")
        for n in range(title_words.COMMON - 1)
    ]
    await write(engine, published("Evening bulletin", ["s"], hours_ago=1, slug="source"), *holders)
    async with checked_app(engine, clock) as http:
        found = (await data(http, RELATED, {"slug": "source", "first": 3}))["article"]["related"]
        assert [a["slug"] for a in found] == ["bulletin-0", "bulletin-1", "bulletin-2"]
        await write(engine, published("Morning bulletin", ["m"], hours_ago=500, slug="one-more"))
        found = (await data(http, RELATED, {"slug": "source", "first": 3}))["article"]["related"]
        assert found == []


async def test_only_a_title_s_first_words_are_looked_up(engine: AsyncEngine, clock: FixedClock) -> None:
    """At most TITLE_WORDS words of a title, its first ones that count: a word after them relates nothing."""
    words = [f"word{chr(ord('a') + n)}" for n in range(title_words.TITLE_WORDS + 1)]
    await write(
        engine,
        published(" ".join(words), ["s"], hours_ago=3, slug="source"),
        published(f"About {words[-2]}", ["a"], hours_ago=2, slug="last-counted"),
        published(f"About {words[-1]}", ["b"], hours_ago=1, slug="one-too-many"),
    )
    async with checked_app(engine, clock) as http:
        found = (await data(http, RELATED, {"slug": "source"}))["article"]["related"]
    assert [a["slug"] for a in found] == ["last-counted"]


async def test_punctuation_and_case_do_not_hide_a_word(engine: AsyncEngine, clock: FixedClock) -> None:
    """Words are found as a search finds them: whatever the case and the punctuation around them, and
    Azerbaijani's I and İ as the search index folds them."""
    await write(
        engine,
        published("«İSMAYILLI» wine, harvest: record!", ["a"], hours_ago=3, slug="source"),
        published("Ismayilli's WINE-makers", ["b"], hours_ago=2, slug="alike"),
        published("Record? No.", ["c"], hours_ago=1, slug="record"),
    )
    async with checked_app(engine, clock) as http:
        found = (await data(http, RELATED, {"slug": "source"}))["article"]["related"]
    assert [a["slug"] for a in found] == ["alike", "record"]


LEVEL = "query ($n: Int!) { articles(first: $n) { nodes { slug related(first: 5) { slug } } } }"


@pytest.mark.parametrize("planner", ["on", "off"])
async def test_a_level_of_related_articles_is_one_statement_whatever_its_size(
    engine: AsyncEngine, clock: FixedClock, planner: str
) -> None:
    """The content version, the page, and one statement for every article's related ones, words and all."""
    await write(
        engine,
        *(
            published(f"Harbour {n % 5} dredging report", [f"t{n % 4}"], hours_ago=n + 1, slug=f"harbour-{n}")
            for n in range(40)
        ),
    )
    counts = {}
    for n in (2, 30):
        async with checked_app(engine, clock, planner=planner, response_cache_mib=0) as http:
            await data(http, LEVEL, {"n": n})
            with StatementCounter(engine) as counter:
                result = await data(http, LEVEL, {"n": n})
        assert len(result["articles"]["nodes"]) == n
        assert all(len(node["related"]) == 5 for node in result["articles"]["nodes"])
        counts[n] = counter.count
    assert counts == {2: 3, 30: 3}
