"""Full-text search behind one function: which articles match a query, and how well.

The index covers title, subtitle, excerpt (the one given), tags and the body's plain text (`body_text`).
`reindex` keeps it in step inside the writer's transaction. `search_clause` and `relevance` are SQL
expressions that compile to each engine's own full-text search, so every read path (lists, counts, nested
connections, and/or/not) uses the index.

SQLite: the FTS5 table `article_fts(title, subtitle, excerpt, tags, body)`, tokenizer `unicode61
remove_diacritics 0`. Its rowid is `article_fts_key.key`, an INTEGER PRIMARY KEY (which VACUUM keeps,
unlike an implicit rowid) paired with the article's text id, through which the article's FTS row is found,
replaced and removed. The key orders the public's articles by time (`PUBLIC_EPOCH`), so that the public's
searches read one range of the index (below); every write of an article gives it its key anew.

PostgreSQL: the table `article_search(article_id, search_vector, rank_vector, public_at)`, one row per article
(it goes when its article does), with a GIN index on each vector, `search_vector`'s in two parts: the rows
with a `public_at` (the publishedAt of a PUBLISHED article), and the others, so that a write puts a vector in
one GIN index as before, and a search of every article reads both. `search_vector` holds every field and
answers `@@`. `rank_vector` holds only title, subtitle, excerpt and tags, weighted A, B, C and D, for the
ranking. A table rather than columns of `article`, because every non-HOT update of an article row (the
writer's own included) would put its whole vector into the GIN index again. The vectors have no planner
statistics (STATISTICS 0), so the planner keeps its default estimate for `@@` and takes matches from the
GIN index. With real statistics it seq-scans for a common word and detoasts every vector on the way,
because its cost model does not count the detoasting (300-400 ms for a word in half of 50,000 articles).
The configuration is 'simple' (lowercase, no stemming, no stop words). One configuration has to serve
English, Azerbaijani and Russian. PostgreSQL has no Azerbaijani dictionary, and an English or Russian
stemmer would mangle the other languages' words (and choosing the configuration per row would make a
query depend on a language it does not know). 'simple' also does what unicode61 does, so both engines
find the same words. Before PostgreSQL's parser sees the text, `-./@+&<` become spaces. Otherwise it
keeps hyphenated words, hosts, e-mail addresses, paths, decimals and signed numbers whole (`unesco-nun`,
`trend.az`, `3.5`), where unicode61 splits them.

Letters: matching ignores case (Cyrillic, Azerbaijani and Latin alike), but diacritics count: `ş` is not
`s` and `ü` is not `u`. In Azerbaijani `süd` and `sud` are different words. unicode61's remove_diacritics
would fold `ş` and `ü` but never `ə` or `ı`, so it would help only part of the way. Two folds, applied to
the text and to the query alike, cover what lowercasing cannot:
- I, ı, İ and i are one letter. An upper-case I is `ı` in Azerbaijani and `i` in English, and unicode61
  does not lowercase `İ` at all (nor does lowercasing elsewhere leave a plain i: Python's is i + U+0307).
- Russian `ё` is `е`, the way most Russian text is typed.

Ranking (`orderBy: RELEVANCE`), the same on both engines: each group of the query (a word, a phrase or an
OR of them) scores 1 for matching at all, plus 10 if it is in the title and 4 for each of subtitle,
excerpt and tags it is in. These are bm25's column weights, without its term counts (`relevance` says why
bm25 itself is not used); ties go by id. So title hits rank above subtitle, excerpt and tag hits, and
those above body hits. The score depends on the article alone, so keyset cursors over it stay exact while
other articles are written (bm25's would drift with the corpus statistics).

The public's searches (`public_count`, `public_page`) read only what the public may see, so that neither
a total nor a page tests each match against its article: on SQLite the keys of PUBLISHED articles with a
publishedAt, in time order, on PostgreSQL the rows with a `public_at`. The articles of the second the
request's clock reads (SQLite) are tested by the visibility rule; those after it, scheduled, are not seen.

Query syntax. The query is parsed here, and user text never reaches MATCH or to_tsquery as syntax:
- bare words must all occur: `caspian wind`. Words are runs of letters and digits, and a chunk with
  punctuation inside is a phrase (`UNESCO-nun`, `2007-ci`).
- "quoted phrases" match their words in that order: `"cultural heritage"`.
- a trailing `*` searches by prefix (at least 2 letters): `herit*`, `"cultural herit*"`.
- `OR` (upper case) between words or phrases: `carpet OR manuscript`. It binds tighter than the implicit
  AND: `baku carpet OR manuscript` is baku and either of the others.
- `-word`, `-"a phrase"` and `NOT word` exclude. At least one word must be looked for.
- anything else is punctuation, and a query that leaves nothing to look for is BAD_USER_INPUT.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    true,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from cms.content.errors import BadInput
from cms.content.pagination import AFTER_ID, AFTER_KEY
from cms.content.reads import NOW
from cms.content.roles import PUBLIC
from cms.content.visibility import article_visible
from cms.models import Article, UTCDateTime, table_of

MAX_QUERY_LENGTH = 500
MAX_WORDS = 24
MAX_WORD_LENGTH = 100
MIN_PREFIX_LENGTH = 2

# The folds applied to indexed text and to queries alike (the migration holds a copy of each). U+0307
# COMBINING DOT ABOVE goes first: it is what lowercasing İ leaves (Python's "İ".lower() is "i\u0307").
FOLDS = {"\u0307": "", "İ": "i", "ı": "i", "Ё": "Е", "ё": "е"}
POSTGRES_SPACES = "[-./@+&<]"
# The ranking: what each field adds to a group of the query that it holds (and 1 for matching at all),
# with the FTS5 column and the rank_vector weight that hold the field.
RANK_WEIGHTS = {"title": 10, "subtitle": 4, "excerpt": 4, "tags": 4}
RANK_LABELS = {"title": "A", "subtitle": "B", "excerpt": "C", "tags": "D"}

ARTICLE = table_of(Article)
FTS = table("article_fts", column("rowid", Integer), column("article_fts"))
FTS_KEY = table("article_fts_key", column("key", Integer), column("article_id", String))
SEARCH = table(
    "article_search",
    column("article_id", String),
    column("search_vector"),
    column("rank_vector"),
    column("public_at", UTCDateTime()),
)

_FOLD_TABLE = str.maketrans(FOLDS)
# Letters and digits, with the combining marks both engines keep inside a word (NFC leaves few).
_MARKS = r"\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
_WORD = re.compile(rf"[^\W_](?:[^\W_]|[{_MARKS}])*")
_CHUNK = re.compile(r'(?P<sign>[-+]?)"(?P<phrase>[^"]*)"?(?P<star>\*?)|(?P<bare>[^\s"]+)')
_OPERATORS = ("OR", "AND", "NOT")


# ---------------------------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class Term:
    """A word, or a phrase of words in order; `prefix` lets the last word match any word it begins."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search. Every group must match (a group matches when one of its terms does), and none of
    the excluded terms may."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    def fts5(self) -> str:
        """The FTS5 query: every word quoted, so the only FTS5 syntax in it is what is built here."""
        positive = " AND ".join(_any(_fts5_term, group) for group in self.groups)
        if not self.excluded:
            return positive
        return f"({positive}) NOT ({' OR '.join(_fts5_term(term) for term in self.excluded)})"

    def fts5_in(self, column_name: str, group: tuple[Term, ...]) -> str:
        """The FTS5 query for one group in one column (for ranking)."""
        return f"{{{column_name}}} : ({_any(_fts5_term, group)})"

    def tsquery(self) -> str:
        """The to_tsquery text: every word a quoted lexeme."""
        parts = [_any(_tsquery_term, group, " | ") for group in self.groups]
        parts += [f"!{_tsquery_term(term)}" for term in self.excluded]
        return " & ".join(parts)

    def tsquery_in(self, label: str, group: tuple[Term, ...]) -> str:
        """The to_tsquery text for one group in the field that rank_vector labels so (for ranking)."""
        return _any(lambda term: _tsquery_term(term, label), group, " | ")


def _any(render: Any, terms: tuple[Term, ...], separator: str = " OR ") -> str:
    return render(terms[0]) if len(terms) == 1 else f"({separator.join(render(t) for t in terms)})"


def _fts5_term(term: Term) -> str:
    phrase = '"' + " ".join(term.words).replace('"', '""') + '"'
    return phrase + "*" if term.prefix else phrase


def _tsquery_term(term: Term, label: str = "") -> str:
    lexemes = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in term.words]
    lexemes = [lexeme + (f":{label}" if label else "") for lexeme in lexemes]
    if term.prefix:
        lexemes[-1] = lexemes[-1].replace("':", "':*", 1) if label else lexemes[-1] + ":*"
    return lexemes[0] if len(lexemes) == 1 else f"({' <-> '.join(lexemes)})"


def fold(text: str) -> str:
    """The letters of a text as the index holds them (each engine lowercases them itself)."""
    return unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)


def words(text: str) -> list[str]:
    """The words of a text as the index holds them (before lowercasing): what a query can name."""
    return _WORD.findall(fold(text))


_OR = object()


@lru_cache(maxsize=1024)
def search_terms(query: str) -> SearchQuery:
    """Parse a search. A query that leaves nothing to look for is the caller's mistake (BadInput)."""
    if len(query) > MAX_QUERY_LENGTH:
        raise BadInput(f"a search is at most {MAX_QUERY_LENGTH} characters long")
    items: list[Any] = []  # _OR, or (term, excluded)
    negate_next = False
    for match in _CHUNK.finditer(fold(query)):
        chunk = match.group("bare")
        if chunk in _OPERATORS:
            if chunk == "OR":
                items.append(_OR)
            negate_next = chunk == "NOT"
            continue
        if chunk is None:
            source, negated = match.group("phrase"), match.group("sign") == "-"
            prefix = bool(match.group("star")) or source.rstrip().endswith("*")
        else:
            source, negated, prefix = chunk, chunk.startswith("-"), chunk.rstrip(".,;:!?").endswith("*")
        found = tuple(_WORD.findall(source))
        if not found:
            continue
        items.append((_term(found, prefix, match.group(0)), negated or negate_next))
        negate_next = False
    return _assemble(query, items)


def _term(words: tuple[str, ...], prefix: bool, source: str) -> Term:
    if any(len(word) > MAX_WORD_LENGTH for word in words):
        raise BadInput(f"a word in a search is at most {MAX_WORD_LENGTH} characters long")
    if prefix and len(words[-1]) < MIN_PREFIX_LENGTH:
        raise BadInput(f"a prefix search needs at least {MIN_PREFIX_LENGTH} letters before the *: {source!r}")
    return Term(words, prefix)


def _assemble(query: str, items: list[Any]) -> SearchQuery:
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    previous = ""  # "word", "excluded" or "or"; an OR with no word before it is ignored
    for item in items:
        if item is _OR:
            if previous == "excluded":
                raise BadInput("OR joins words to look for, not excluded ones (-word or NOT word)")
            previous = "or" if previous in ("word", "or") else previous
            continue
        term, negated = item
        if negated:
            if previous == "or":
                raise BadInput("OR joins words to look for, not excluded ones (-word or NOT word)")
            excluded.append(term)
            previous = "excluded"
        else:
            if previous == "or":
                groups[-1].append(term)
            else:
                groups.append([term])
            previous = "word"
    if not groups:
        if excluded:
            raise BadInput(f"the search {query!r} only excludes words: add a word to look for")
        raise BadInput(
            f"the search {query!r} has no words to look for (words are letters and digits; "
            'use "quotes" for a phrase and * after a word for a prefix)'
        )
    terms = [term for group in groups for term in group] + excluded
    if sum(len(term.words) for term in terms) > MAX_WORDS:
        raise BadInput(f"a search has at most {MAX_WORDS} words")
    return SearchQuery(tuple(tuple(group) for group in groups), tuple(excluded))


# ------------------------------------------------------------------------------------ the SQL expressions


class _Among(ColumnElement[bool]):
    """Whether the article is among those whose search row matches: on SQLite its FTS5 query (`fts5`), on
    PostgreSQL its tsquery text (`tsquery`) against one of the vectors. Both texts are bound parameters,
    and each database's subquery is built only when the statement is compiled: the element is all that its
    statement's tree and cache key hold of a search. A statement kept prepared with the 20 searches a filter
    may hold costs about 150 KB; with both databases' subqueries in its tree, and an alias of the article
    table per search, it cost 1.4 MB."""

    inherit_cache = True
    _traverse_internals = [
        ("vector", InternalTraversal.dp_string),
        ("fts5", InternalTraversal.dp_clauseelement),
        ("tsquery", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    _is_implicitly_boolean = True  # no "= 1" after it on SQLite

    def __init__(self, fts5: str, tsquery: str, *, vector: str) -> None:
        self.fts5 = literal(fts5, String)
        self.tsquery = literal(tsquery, String)
        self.vector = vector

    @property
    def _from_objects(self) -> list[Any]:
        return [ARTICLE]


@compiles(_Among)
def _compile_among(element: _Among, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.dialect.name
    if name == "sqlite":
        return str(compiler.process(_sqlite_among(element.fts5), **kw))
    if name == "postgresql":
        among = _postgres_among(element.vector, element.tsquery)
        return str(compiler.process(among.is_(true()) if element.vector == FILTERED else among, **kw))
    raise CompileError(f"full-text search is not available on {name}")


def _of(selectable: Any, name: str, type_: Any = None) -> ColumnElement[Any]:
    """A column of a table that the ORM model does not map (rowid)."""
    found = column(name, type_)
    found.table = selectable
    return found


FILTERED, RANKED = "search_vector", "rank_vector"
# One alias for every search of every statement: each subquery of hits names it on its own.
_FOUND = ARTICLE.alias("found")
_FOUND_ROWID = _of(_FOUND, "rowid", Integer)
_ROWID_PLUS_0 = _of(ARTICLE, "rowid", Integer) + literal_column("0")


def _sqlite_among(match: ColumnElement[str]) -> ColumnElement[bool]:
    """Whether the article is among those whose FTS row matches. The matches are a set of the articles'
    rowids built once per statement (as this statement sees them: rowids are never stored, VACUUM may
    change them); `+ 0` makes it a filter on the rows a query walks, never the walk itself."""
    hits = (
        select(_FOUND_ROWID)
        .select_from(FTS)
        .join(FTS_KEY, FTS_KEY.c.key == FTS.c.rowid)
        .join(_FOUND, _FOUND.c.id == FTS_KEY.c.article_id)
        .where(FTS.c.article_fts.match(match))
    )
    return _ROWID_PLUS_0.in_(hits)


def _postgres_among(vector: str, tsquery: ColumnElement[str]) -> ColumnElement[bool]:
    """Whether the article is among those whose vector matches: a set built once per statement from the
    GIN index (a hashed subplan); `search_vector`'s from both parts of its index, one each side of UNION ALL
    (PostgreSQL folds an OR of the two into a scan of every row)."""
    query = func.to_tsquery(literal_column("'simple'::regconfig"), tsquery)
    matches = SEARCH.c[vector].bool_op("@@")(query)
    if vector == RANKED:
        return ARTICLE.c.id.in_(select(SEARCH.c.article_id).where(matches))
    parts = SEARCH.c.public_at.is_not(None), SEARCH.c.public_at.is_(None)
    return ARTICLE.c.id.in_(union_all(*(select(SEARCH.c.article_id).where(part, matches) for part in parts)))


def search_clause(query: str) -> ColumnElement[bool]:
    """Articles that match the search (BadInput when it has nothing to look for).

    Both engines build the set of matches once per statement and test each row a list walks against it,
    so a list keeps walking its own index and stops when its page is full. On SQLite the test needs no
    row: driven by the matches instead (the planner's choice once ANALYZE has run, without the `+ 0`),
    a list would read every matching row for its status and publishedAt, which sit behind the overflow
    pages of the body columns (150-250 ms for a word in half of 50,000 articles, against 10-50 ms). On
    PostgreSQL `IS TRUE` keeps the IN from becoming a join that looks each match's article up (170 ms).
    """
    parsed = search_terms(query)
    return _Among(parsed.fts5(), parsed.tsquery(), vector=FILTERED)


def relevance(query: str) -> ColumnElement[Any]:
    """How well an article matches the search (see the module's docstring); higher is better. Only
    meaningful for matching articles.

    bm25 does not work here on SQLite. FTS5 computes it only inside a scan of the FTS table. Looking each
    listed article's score up again is either a per-row FTS query that recounts the word's documents for
    bm25's IDF (O(matches^2): 20-40 s for a common word in 50,000 articles), or a per-row scan of a CTE of
    scores (SQLite indexes a CTE for a correlated lookup only when it expects many outer rows, and a
    list's index walk looks like a few). ts_rank on PostgreSQL detoasts every match's vector (300-450 ms
    for a common word). The field hits are sets built once per statement, like the filter.
    """
    parsed = search_terms(query)
    score: ColumnElement[Any] = literal_column("0")
    for group in parsed.groups:
        score = score + literal_column("1")
        for field, weight in RANK_WEIGHTS.items():
            hit = _Among(
                parsed.fts5_in(field, group), parsed.tsquery_in(RANK_LABELS[field], group), vector=RANKED
            )
            score = score + case((hit, literal_column(str(weight))), else_=literal_column("0"))
    return cast(score, Float)


# ------------------------------------------------------------------------------- the public's searches

PUBLIC_EPOCH = 1 << 36
SECOND = 1 << 24
"""SQLite: the key of a PUBLISHED article with a publishedAt is (its second since 1970 + PUBLIC_EPOCH) *
SECOND plus a number of its own in that second, so keys order the public's articles by their seconds, and
the visible ones are the keys below the request's second, and those of that second the rule lets through.
Every other article's key is negative. Years 1 to 9999 fit, with 2^24 articles a second."""


def _second(moment: Any) -> ColumnElement[int]:
    """The first key of a timestamp parameter's second (the request's clock, a cursor's publishedAt), as the
    writes key an article's (`_SQLITE_SECOND`)."""
    since = cast(func.strftime(literal_column("'%s'"), type_coerce(moment, UTCDateTime())), Integer)
    return (since + literal_column(str(PUBLIC_EPOCH))) * literal_column(str(SECOND))


FTS5_QUERY, TSQUERY = "search_fts5", "search_tsquery"
"""The parameters of a public search's words (`public_values`): one statement serves every search."""


class _Public(ColumnElement[Any]):
    """A search of the articles the public sees: its total, or (with `size`) a condition that an article is
    among those a page of `size` rows newest first can hold, after the cursor (`AFTER_KEY`) when `seek`.
    Compiled for each database like `_Among`."""

    inherit_cache = True
    _traverse_internals = [
        ("size", InternalTraversal.dp_plain_obj),
        ("seek", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, size: int | None = None, seek: bool = False) -> None:
        self.size, self.seek = size, seek
        self.type = Integer() if size is None else Boolean()
        self._is_implicitly_boolean = size is not None  # a condition as it is, not `... = 1`

    @property
    def _from_objects(self) -> list[Any]:
        return [] if self.size is None else [ARTICLE]


@compiles(_Public)
def _compile_public(element: _Public, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.dialect.name
    if name == "sqlite":
        made = _sqlite_public(element)
    elif name == "postgresql":
        made = _postgres_public(element)
    else:
        raise CompileError(f"full-text search is not available on {name}")
    return str(compiler.process(made, **kw))


def _sqlite_public(element: _Public) -> ColumnElement[Any]:
    """The keys below `cutoff`'s second are visible and, with a cursor, before it; those of that second are
    tested by the visibility rule (and the cursor's seek, which the page applies). A page's articles are the
    `size + 1` newest keys below that second, with the rest of the last one's second (ties are ordered by id,
    which keys do not know), and that second's."""
    matching = FTS.c.article_fts.match(bindparam(FTS5_QUERY, type_=String()))
    cutoff = _second(NOW)
    if element.seek:
        cutoff = func.min(cutoff, _second(bindparam(AFTER_KEY)))
    second: ColumnElement[int] = literal_column(str(SECOND))
    before = and_(matching, FTS.c.rowid > literal_column("0"), FTS.c.rowid < cutoff)
    within = and_(matching, FTS.c.rowid >= cutoff, FTS.c.rowid < cutoff + second)
    if element.size is None:
        due = select(FTS_KEY.c.article_id).join_from(FTS, FTS_KEY, FTS_KEY.c.key == FTS.c.rowid).where(within)
        seen = select(func.count()).where(ARTICLE.c.id.in_(due), article_visible(PUBLIC, NOW))
        counted = select(func.count()).select_from(FTS).where(before)
        return counted.scalar_subquery() + seen.scalar_subquery()
    last = select(FTS.c.rowid).where(before).order_by(FTS.c.rowid.desc()).limit(1).offset(element.size)
    first = func.coalesce(last.scalar_subquery().op("/")(second) * second, literal_column("1"))
    keys = select(FTS.c.rowid).where(matching, FTS.c.rowid >= first, FTS.c.rowid < cutoff + second)
    return ARTICLE.c.id.in_(select(FTS_KEY.c.article_id).where(FTS_KEY.c.key.in_(keys)))


def _postgres_public(element: _Public) -> ColumnElement[Any]:
    """The rows with a `public_at` up to now match from their own GIN index, with no article to read; a
    page's are the first `size + 1` of them newest first, after the cursor."""
    query = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam(TSQUERY, type_=String()))
    found = [SEARCH.c.public_at <= NOW, SEARCH.c.search_vector.bool_op("@@")(query)]
    if element.size is None:
        return select(func.count()).select_from(SEARCH).where(*found).scalar_subquery()
    if element.seek:
        at = tuple_(bindparam(AFTER_KEY, type_=UTCDateTime()), bindparam(AFTER_ID, type_=String()))
        found.insert(0, tuple_(SEARCH.c.public_at, SEARCH.c.article_id) < at)
    newest = SEARCH.c.public_at.desc(), SEARCH.c.article_id.desc()
    page = select(SEARCH.c.article_id).where(*found).order_by(*newest).limit(element.size + 1)
    return ARTICLE.c.id.in_(page)


def public_count() -> ColumnElement[int]:
    """How many articles the public sees that match the search of `public_values`, at the `now` parameter's
    instant."""
    return _Public()


def public_page(size: int, *, seek: bool) -> ColumnElement[bool]:
    """The articles that a page of `size` of the public's matches of the search of `public_values`, newest
    first (after the cursor's `AFTER_KEY` and `AFTER_ID` when `seek`), can hold: with the visibility rule,
    the cursor's seek and the order, the page."""
    return _Public(size, seek)


def public_values(query: str) -> dict[str, str]:
    """The parameters of a public search (BadInput when it has nothing to look for)."""
    parsed = search_terms(query)
    return {FTS5_QUERY: parsed.fts5(), TSQUERY: parsed.tsquery()}


# ------------------------------------------------------------------------------------------- the index


def _sqlite_fold(expression: str) -> str:
    for old, new in FOLDS.items():
        expression = f"replace({expression}, '{old}', '{new}')"
    return expression


def _postgres_fold(expression: str) -> str:
    for old, new in FOLDS.items():
        expression = f"replace({expression}, '{old}', '{new}')"
    return f"regexp_replace({expression}, '{POSTGRES_SPACES}', ' ', 'g')"


_IDS = "(SELECT value FROM json_each(:ids))"
_SQLITE_COLUMNS = ", ".join(
    _sqlite_fold(expression)
    for expression in (
        "a.title",
        "a.subtitle",
        "a.excerpt",
        (
            "(SELECT group_concat(tag, ' ') FROM"
            " (SELECT t.tag FROM article_tag t WHERE t.article_id = a.id ORDER BY t.position))"
        ),  # in their order, whichever index reads them
        "a.body_text",
    )
)
_SQLITE_SECOND = (
    "CASE WHEN a.status = 'PUBLISHED' AND a.published_at IS NOT NULL"
    f" THEN (CAST(strftime('%s', a.published_at) AS INTEGER) + {PUBLIC_EPOCH}) * {SECOND} END"
)
_SQLITE_KEYS = (
    "SELECT CASE WHEN second IS NULL"
    " THEN (SELECT coalesce(min(key), 0) FROM article_fts_key WHERE key < 0) - rank"
    " ELSE coalesce((SELECT max(key) + 1 FROM article_fts_key WHERE key >= second"
    f" AND key < second + {SECOND}), second) + rank - 1 END, id"
    " FROM (SELECT id, second, row_number() OVER (PARTITION BY second ORDER BY id) AS rank"
    f" FROM (SELECT a.id, {_SQLITE_SECOND} AS second FROM article a WHERE a.id IN {_IDS}))"
)
"""New keys (`PUBLIC_EPOCH`) for these articles: each public one's next in its second, each other's below the
lowest."""
_SQLITE_REINDEX = (
    text(
        f"DELETE FROM article_fts WHERE rowid IN (SELECT key FROM article_fts_key WHERE article_id IN {_IDS})"
    ),
    text(f"DELETE FROM article_fts_key WHERE article_id IN {_IDS}"),
    text(f"INSERT INTO article_fts_key (key, article_id) {_SQLITE_KEYS}"),
    # in rowid order: FTS5 flushes what it holds in memory whenever a rowid is not above the last one
    text(
        "INSERT INTO article_fts (rowid, title, subtitle, excerpt, tags, body)"
        f" SELECT k.key, {_SQLITE_COLUMNS} FROM article a JOIN article_fts_key k ON k.article_id = a.id"
        f" WHERE a.id IN {_IDS} ORDER BY k.key"
    ),
)
_POSTGRES_FIELDS = {
    "title": "article.title",
    "subtitle": "article.subtitle",
    "excerpt": "article.excerpt",
    "tags": (
        "(SELECT string_agg(t.tag, ' ' ORDER BY t.position)"
        " FROM article_tag t WHERE t.article_id = article.id)"
    ),
}


def _postgres_ranked(fields: dict[str, str]) -> str:
    weighted = "setweight(to_tsvector('simple', coalesce({}, '')), '{}')"
    return " || ".join(
        weighted.format(_postgres_fold(expression), RANK_LABELS[field])
        for field, expression in fields.items()
    )


def _postgres_searched(body: str) -> str:
    return f"ranked || to_tsvector('simple', {_postgres_fold(body)})"


_POSTGRES_PUBLIC = "CASE WHEN article.status = 'PUBLISHED' THEN article.published_at END AS public_at"
_POSTGRES_UPSERT = (
    " ON CONFLICT (article_id) DO UPDATE SET search_vector = excluded.search_vector,"
    " rank_vector = excluded.rank_vector, public_at = excluded.public_at"
)
_POSTGRES_REINDEX = (
    text(
        "INSERT INTO article_search (article_id, search_vector, rank_vector, public_at)"
        f" SELECT id, {_postgres_searched('body_text')}, ranked, public_at"
        f" FROM (SELECT article.id, article.body_text, {_postgres_ranked(_POSTGRES_FIELDS)} AS ranked,"
        f" {_POSTGRES_PUBLIC} FROM article WHERE article.id = ANY(:ids) OFFSET 0) AS fields ORDER BY id"
        f"{_POSTGRES_UPSERT}"  # `ranked` once
    ),  # the row of an article that is gone went with it (ON DELETE CASCADE)
)
_GIVEN = ("title", "subtitle", "excerpt", "tags", "body_text")
_POSTGRES_VECTORS = text(
    f"SELECT ({_postgres_searched('body_text')})::text, ranked::text FROM (SELECT n, body_text,"
    f" {_postgres_ranked({field: field for field in _POSTGRES_FIELDS})} AS ranked"
    f" FROM unnest({', '.join(f'CAST(:{field} AS TEXT[])' for field in _GIVEN)})"
    f" WITH ORDINALITY AS given ({', '.join(_GIVEN)}, n) OFFSET 0) AS fields ORDER BY n"
)
_POSTGRES_GIVEN_VECTORS = text(
    "INSERT INTO article_search (article_id, search_vector, rank_vector, public_at)"
    f" SELECT article.id, given.searched::tsvector, given.ranked::tsvector, {_POSTGRES_PUBLIC}"
    " FROM unnest(CAST(:ids AS TEXT[]), CAST(:searched AS TEXT[]), CAST(:ranked AS TEXT[]))"
    " AS given (id, searched, ranked) JOIN article ON article.id = given.id ORDER BY article.id"
    f"{_POSTGRES_UPSERT}"
)


@dataclass(frozen=True)
class Indexed:
    """What an article's search row is made of, as its rows will hold it (`of`)."""

    title: str
    subtitle: str | None
    excerpt: str | None
    tags: str | None
    body_text: str

    @classmethod
    def of(
        cls, title: str, subtitle: str | None, excerpt: str | None, tags: Sequence[str], body_text: str
    ) -> Indexed:
        """Its tags in their order joined by spaces, None for none, as `_POSTGRES_FIELDS` joins them."""
        return cls(title, subtitle, excerpt, " ".join(tags) or None, body_text)


Vectors = dict[str, tuple[str, str]]
"""PostgreSQL: articles' search and rank vectors (as text), by id, made before their rows are written."""
MakeVectors = Callable[[dict[str, Indexed]], Awaitable[Vectors]]


@asynccontextmanager
async def vectors_aside(engine: AsyncEngine) -> AsyncIterator[MakeVectors]:
    """PostgreSQL: articles' vectors made on a connection of their own, beside a writer's transaction. A
    big import's one transaction otherwise parses every text into its vectors on its own backend, in turn
    with all its writes (most of their time); a vector depends on its texts alone, so another backend makes
    the next batch's while the writer stores this one. The same vectors, from the same expressions."""
    async with engine.connect() as connection:

        async def make(articles: dict[str, Indexed]) -> Vectors:
            given = {field: [getattr(indexed, field) for indexed in articles.values()] for field in _GIVEN}
            made = (await connection.execute(_POSTGRES_VECTORS, given)).all()
            await connection.rollback()  # nothing to keep: no transaction left open between batches
            return {id_: (searched, ranked) for id_, (searched, ranked) in zip(articles, made, strict=True)}

        yield make


async def reindex(
    session: AsyncSession, article_ids: Collection[str], vectors: Vectors | None = None
) -> None:
    """Bring the search index in step with these articles as the transaction now holds them: index the
    ones that exist, forget the ones that do not. A fixed number of set-based statements, whatever the count.
    On PostgreSQL, `vectors` (`vectors_aside`) are the given articles' own, as their rows now say.
    """
    ids = sorted(set(article_ids))
    if not ids:
        return
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_REINDEX:
            await session.execute(statement, {"ids": json.dumps(ids)})
    elif vectors is not None:
        made = [vectors[i] for i in ids]
        await session.execute(
            _POSTGRES_GIVEN_VECTORS,
            {"ids": ids, "searched": [m[0] for m in made], "ranked": [m[1] for m in made]},
        )
    else:
        for statement in _POSTGRES_REINDEX:
            await session.execute(statement, {"ids": ids})
