"""Title words, `Article.related`'s text likeness: for every article of a level at once, its significant
title words and the articles whose search index holds each of them, as one part of one statement, on both
engines.

An article's words are its title's, folded as the search index folds text (`search.FOLDS`), split at spaces
and stripped of the punctuation around them. A word counts when it has at least MIN_LENGTH letters, is not
a function word of the archive's languages (STOPWORDS) and is not common: a word that the ranked fields
(title, subtitle, excerpt, tags) of more than COMMON articles hold says little about what one is about, and
would bring that many candidates. So a large archive names its common words itself, in any language, and
the list serves a small one. An article looks up at most TITLE_WORDS words, its first that count, so what a
level costs is bounded by its size: per word, a check that stops at the (COMMON + 1)th article holding it,
and for a word that counts, at most COMMON articles.

The words are looked up in the search index, one by one, each lookup driven by its word: on SQLite an FTS5
query of `article_fts` for the word as a phrase of the ranked columns, its rowids naming `article_fts_key`
rows; on PostgreSQL a bitmap scan of `article_search.rank_vector`'s GIN index, without the fields' weights
(a weighted query would have the index recheck every row it finds). Neither reads an article's row to find
the articles that hold a word.

The split is SQL (a recursive CTE) because `statement` has only the articles' ids. It cuts where the index's
tokenizers cut for the punctuation of English, Azerbaijani and Russian titles (and on PostgreSQL at
`search.POSTGRES_SPACES`, as its index does); a chunk with another symbol inside is looked up as a phrase of
its words, as a search would look it up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement, TableClause
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeEngine

from cms.content.search import FOLDS, POSTGRES_SPACES, fold

TITLE_WORDS = 8
"""Words of a title looked up, at most: its first ones that count."""
COMMON = 100
"""A word held by more articles than this is common, and does not count."""
MIN_LENGTH = 3
CHUNKS = 64
"""Chunks of a title split, at most (a title is at most 300 characters)."""

SPACES = "\t\n\r\u00a0"
"""What else separates a title's chunks, besides a space (and on PostgreSQL, `search.POSTGRES_SPACES`)."""
PUNCTUATION = "\"'`.,;:!?()[]{}<>«»“”„‘’‹›—–-…·*#%|~^=_/\\+&@"
"""What a chunk loses at its ends: the punctuation of English, Azerbaijani and Russian titles."""
_FUNCTION_WORDS = {
    "en": (
        "the and for with from that this these those are was were has have had will would can could its their"
        " his her our your not but all any more than over after into about says said new how what who why"
        " when where which out off one two now year also per cent been being they them you she him may amid"
        " among against before under onto upon does did via yet just most"
    ),
    "az": (
        "ilə üçün olan olaraq görə sonra əvvəl artıq hələ həmçinin bildirib qeyd edib olub edilib keçirilib"
        " ildə yeni daha çox həm isə amma lakin kimi qədər haqqında barədə bütün hər necə"
        " niyə harada ilk iki üzrə arasında tərəfindən"
    ),
    "ru": (
        "для что как это этот эта эти или при после перед более также его она они был была были будет уже ещё"
        " над под без про между через года году год все всех новый новые новая где когда почему который"
        " которые которая"
    ),
}
STOPWORDS = frozenset(fold(word) for words in _FUNCTION_WORDS.values() for word in words.split())
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lowered_forms(word: str) -> set[str]:
    """What `lower()` may make of the word as a title writes it, first in a title or not: SQLite lowers
    ASCII letters only."""
    return {form.translate(_ASCII_LOWER) for form in (word, word.capitalize())}


_STOPPED = sorted({form for word in STOPWORDS for form in _lowered_forms(word)})


def _renamed(name: str, postgresql: str, type_: TypeEngine[Any]) -> Any:
    """A function of the same arguments that PostgreSQL names otherwise (`name` is SQLite's, and str()'s)."""
    function: Any = type(f"_{name}", (FunctionElement,), {"type": type_, "inherit_cache": True})
    for dialect, called in ((None, name), ("postgresql", postgresql)):

        def compile_(element: Any, compiler: SQLCompiler, called: str = called, **kw: Any) -> str:
            return f"{called}({compiler.process(element.clauses, **kw)})"

        compiles(function, *([dialect] if dialect else []))(compile_)
    return function


_Position = _renamed("instr", "strpos", Integer())
"""Where a text's second argument first is in its first, from 1 (0: nowhere)."""
_Trimmed = _renamed("trim", "btrim", Text())
"""A text without the characters of its second argument at either end."""


class _Spaced(FunctionElement[str]):
    """A text with what PostgreSQL's parser would keep inside a word made spaces, as the search index
    has it there (`search.POSTGRES_SPACES`); on SQLite, the text as it is."""

    type = Text()
    inherit_cache = True


@compiles(_Spaced)  # and how str() shows it
def _spaced_sqlite(element: _Spaced, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_Spaced, "postgresql")
def _spaced_postgres(element: _Spaced, compiler: SQLCompiler, **kw: Any) -> str:
    return f"regexp_replace({compiler.process(element.clauses, **kw)}, {_quoted(POSTGRES_SPACES)}, ' ', 'g')"


def _words_of(title: ColumnElement[str]) -> ColumnElement[str]:
    """The title folded, its separators spaces, and a space at its end: what the split takes."""
    folded: ColumnElement[str] = cast(title, Text)
    for old, new in {**FOLDS, **dict.fromkeys(SPACES, " ")}.items():
        folded = func.replace(folded, literal_column(_quoted(old)), literal_column(_quoted(new)), type_=Text)
    return _Spaced(folded) + literal_column("' '", Text)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ------------------------------------------------------------------------------------------ the lookups


class _Significant(ColumnElement[bool]):
    """Whether a word may count: it names something to look up, and no more than COMMON articles hold it.
    The check stops at the (COMMON + 1)th hit."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [("word", InternalTraversal.dp_clauseelement)]

    def __init__(self, word: ColumnElement[str]) -> None:
        self.word = word


def _fts5_phrase(word: str) -> str:
    """The FTS5 query for a word in the ranked columns: a quoted phrase (an empty one matches nothing)."""
    return f"""'{{title subtitle excerpt tags}} : "' || replace({word}, '"', '""') || '"'"""


def _tsquery(word: str) -> str:
    return f"phraseto_tsquery('simple', {word})"


@compiles(_Significant)  # and how str() shows it
def _significant_sqlite(element: _Significant, compiler: SQLCompiler, **kw: Any) -> str:
    phrase = _fts5_phrase(compiler.process(element.word, **kw))
    return f"NOT EXISTS (SELECT 1 FROM article_fts WHERE article_fts MATCH {phrase} LIMIT 1 OFFSET {COMMON})"


@compiles(_Significant, "postgresql")
def _significant_postgres(element: _Significant, compiler: SQLCompiler, **kw: Any) -> str:
    query = _tsquery(compiler.process(element.word, **kw))
    # numnode first: a query with no lexeme makes the GIN index say so (a NOTICE) and matches nothing
    return (
        f"(numnode({query}) > 0 AND NOT EXISTS (SELECT 1 FROM article_search"
        f" WHERE article_search.rank_vector @@ {query} OFFSET {COMMON}))"
    )


class _Index(TableClause):
    """The search index's table of article ids, whichever the engine's: `article_fts_key` (`key`, the FTS
    rowid) on SQLite, `article_search` (`rank_vector`) on PostgreSQL. Alias it: columns are named by it."""

    inherit_cache = True


@compiles(_Index)  # and how str() shows it
def _index_sqlite(element: _Index, compiler: SQLCompiler, **kw: Any) -> str:
    return "article_fts_key"


@compiles(_Index, "postgresql")
def _index_postgres(element: _Index, compiler: SQLCompiler, **kw: Any) -> str:
    return "article_search"


class _Holds(ColumnElement[bool]):
    """Whether the search index's row `hit` (an alias of `_Index`) is of an article that holds `word` in
    its ranked fields. SQLite: its key among the FTS5 query's rowids (the query runs once per word and its
    rowids find the keys); PostgreSQL: its vector matches (the GIN index finds the rows)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("hit", InternalTraversal.dp_clauseelement),
        ("word", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, hit: Any, word: ColumnElement[str]) -> None:
        self.hit = hit
        self.word = word


@compiles(_Holds)  # and how str() shows it
def _holds_sqlite(element: _Holds, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.hit.c.key, **kw)
    phrase = _fts5_phrase(compiler.process(element.word, **kw))
    return f"{key} IN (SELECT article_fts.rowid FROM article_fts WHERE article_fts MATCH {phrase})"


@compiles(_Holds, "postgresql")
def _holds_postgres(element: _Holds, compiler: SQLCompiler, **kw: Any) -> str:
    vector = compiler.process(element.hit.c.rank_vector, **kw)
    return f"{vector} @@ {_tsquery(compiler.process(element.word, **kw))}"


_INDEX = _Index("search_index", column("article_id", String), column("key", Integer), column("rank_vector"))


def shared_words(sources: CTE) -> Select[Any]:
    """Rows of (source_id, candidate_id, word): for each of `sources` (source_id, title), its significant
    title words, and each article whose ranked fields hold one (the source among them)."""
    first, rest, position = cast(literal(""), Text), _words_of(sources.c.title), literal(0)
    split = select(
        sources.c.source_id, first.label("word"), rest.label("rest"), position.label("position")
    ).cte("split", recursive=True)
    space = _Position(split.c.rest, literal_column("' '"))
    split = split.union_all(
        select(
            split.c.source_id,
            func.substr(split.c.rest, 1, space - 1),
            func.substr(split.c.rest, space + 1),
            split.c.position + 1,
        ).where(space > 0, split.c.position < CHUNKS)
    )
    chunks = select(
        split.c.source_id,
        _Trimmed(split.c.word, literal_column(_quoted(PUNCTUATION))).label("word"),
        split.c.position,
    ).subquery("chunks")
    lowered = func.lower(chunks.c.word)
    candidates = (
        select(
            chunks.c.source_id,
            func.min(chunks.c.word).label("word"),
            func.row_number()
            .over(partition_by=chunks.c.source_id, order_by=func.min(chunks.c.position))
            .label("rank"),
        )
        .where(
            func.length(chunks.c.word) >= MIN_LENGTH,
            lowered.not_in([literal_column(_quoted(word)) for word in _STOPPED]),
        )
        .group_by(chunks.c.source_id, lowered)
        .subquery("title_words")
    )
    significant = (
        select(candidates.c.source_id, candidates.c.word)
        .where(candidates.c.rank <= TITLE_WORDS, _Significant(candidates.c.word))
        .cte("significant_words")
    )
    hit = _INDEX.alias("hit")
    return select(
        significant.c.source_id, hit.c.article_id.label("candidate_id"), significant.c.word
    ).join_from(significant, hit, _Holds(hit, significant.c.word))
