"""Fuzzing the public endpoint (delivery.md, "Guarding the public endpoint"; issue 15): queries and mutations
generated from the served schema by hypothesis-graphql, and a corpus of hostile requests, sent through the
real app on SQLite and PostgreSQL. Whatever is asked, every answer is a JSON body with a status below 500,
no internal text (tracebacks, SQL, driver or exception names), an `extensions.code` on every error, no
unexpected error behind a masked one, and a bounded number of statements.

The default run sends FUZZ_EXAMPLES (300) cases per test and database, derandomized so CI sees the same
cases every time; `CMS_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/test_fuzz.py` runs thousands."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import graphql
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes, queries
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bench.generate import write_archive
from cms.app import create_app
from cms.clock import FixedClock
from cms.content.roles import Role
from cms.db import StatementCounter, create_engine
from cms.files.importer import import_paths
from cms.graphql.schema import schema
from cms.migrate import upgrade
from cms.models import ApiToken, Article, Author, Category, Source
from cms.settings import Settings, async_database_url
from tests.conftest import IN_CI, NOW, POSTGRES_URL, ROOT, _admin, token_for

STATEMENT_BUDGET = 30
"""The most statements one request may run to read. A read costs statements by the shape of its document,
not by the data: one batched statement per relation level (authors, category, translations...) whatever
the number of items, plus the token and the content version, and the planner answers most reads in a few.
Generated documents ask several root fields a few levels deep and ran 15 at most in 6,000 cases; twice
that leaves room for a new relation, while an N+1 (a statement per item: the seeds' 15 articles, a page of
up to 100) goes over."""
WRITE_STATEMENTS = 25
"""What each root field of a mutation adds to the budget: its transaction writes the row, its revision,
change event, relations, outbox and the content version, then the payload is read (about 20; documents of
several writes ran 49 at most)."""
REQUEST_SECONDS = 30.0
"""The longest an answer may take. No statement runs past CMS_STATEMENT_TIMEOUT_MS (5 s) and a request
runs a few: an answer later than this is a request that stalls its process (and it bounds the suite)."""
GRAPHQL_RESPONSE = "application/graphql-response+json"
INTERNAL = re.compile(
    r"Traceback|File \"|\bline \d+|sqlalchemy|sqlite3?\b|aiosqlite|asyncpg|psycopg|postgres|"
    r"SELECT |INSERT |UPDATE \w+ SET|DELETE FROM|\bFROM \w+ WHERE\b|"
    r"OperationalError|ProgrammingError|IntegrityError|DataError|InterfaceError|DatabaseError|"
    r"KeyError|TypeError|ValueError|AttributeError|AssertionError|IndexError|RuntimeError|"
    r"RecursionError|OverflowError|UnicodeError|Exception\b|object at 0x|<class '|/site-packages/|\.py\b",
    re.IGNORECASE,
)
"""What only the server's insides say: a trace, a source path, SQL, a driver, an exception's name."""


# --- sending a case and judging its answer ----------------------------------------------------------------


@dataclass
class Request:
    """One case as it is sent: a JSON body (or raw bytes), by POST or GET, asking for one media type."""

    body: Any
    method: str = "POST"
    accept: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def shown(self) -> str:
        text = self.body if isinstance(self.body, bytes | str) else orjson.dumps(self.body).decode()
        return f"{self.method} accept={self.accept} {text[:2000]!r}"


class Errors(logging.Handler):
    """ERROR records of the app's loggers: an unexpected exception is logged there even when it is masked."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def logged_errors() -> Iterator[Errors]:
    handler = Errors()
    logger = logging.getLogger("cms")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@contextlib.asynccontextmanager
async def app_client(
    engine: AsyncEngine, token: str | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real app (as `checked_app`, with the planner as production runs it)."""
    app = create_app(
        Settings(webhooks=False, **overrides),
        engine=engine,
        clock=FixedClock(NOW),
        examples=ROOT / "schema" / "examples",
    )
    headers = {"authorization": f"Bearer {token}"} if token else None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers, timeout=60
    ) as http:
        yield http


async def send(http: httpx.AsyncClient, engine: AsyncEngine, request: Request) -> tuple[int, dict[str, Any]]:
    """Send `request`, check every invariant of its answer, and return its status and JSON body."""
    with StatementCounter(engine) as counter, logged_errors() as errors:
        try:
            response = await asyncio.wait_for(_sent(http, request), REQUEST_SECONDS)
        except TimeoutError:
            raise AssertionError(f"no answer within {REQUEST_SECONDS} s to {request.shown()}") from None
    return response.status_code, judge(request, response, counter.count, errors.records)


async def _sent(http: httpx.AsyncClient, request: Request) -> httpx.Response:
    headers = {"accept": request.accept, **request.headers}
    if request.method == "GET":
        params = {
            key: value if isinstance(value, str) else orjson.dumps(value).decode()
            for key, value in request.body.items()
            if value is not None
        }
        return await http.get("/graphql", params=params, headers=headers)
    if isinstance(request.body, bytes):
        headers.setdefault("content-type", "application/json")
        return await http.post("/graphql", content=request.body, headers=headers)
    return await http.post("/graphql", json=request.body, headers=headers)


def judge(
    request: Request, response: httpx.Response, statements: int, logged: list[logging.LogRecord]
) -> dict[str, Any]:
    case = request.shown()
    answer = f"{response.status_code} {response.text[:2000]!r}"
    assert response.status_code < 500, f"a 5xx for {case}: {answer}"
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise AssertionError(f"not a JSON body for {case}: {answer}") from None
    assert isinstance(body, dict), f"not a JSON object for {case}: {answer}"
    errors = body.get("errors") or []
    assert isinstance(errors, list), f"errors is not a list for {case}: {answer}"
    echoed = _strings(request.body)
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str), f"an error without extensions.code for {case}: {answer}"
        assert code, f"an empty extensions.code for {case}: {answer}"
        assert code != "INTERNAL_SERVER_ERROR", f"an unexpected error, masked, for {case}: {answer}"
        _no_internal_text(orjson.dumps(error).decode(), echoed, case, answer)
    for message in _user_errors(body.get("data")):
        _no_internal_text(message, echoed, case, answer)
    if "data" not in body:
        _no_internal_text(response.text, echoed, case, answer)
    shown_logs = [
        f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in logged
    ]
    assert not shown_logs, f"the app logged an error for {case}: {answer}\n{shown_logs}"
    budget = STATEMENT_BUDGET + WRITE_STATEMENTS * _writes(request.body)
    assert statements <= budget, f"{statements} statements (budget {budget}) for {case}: {answer}"
    return dict(body)


def _writes(body: Any) -> int:
    """How many root fields of a mutation the request asks for (0 for a query or no document)."""
    try:
        document = graphql.parse(body["query"], no_location=True)
    except (TypeError, KeyError, graphql.GraphQLError, RecursionError):
        return 0
    return sum(
        len(definition.selection_set.selections)
        for definition in document.definitions
        if isinstance(definition, graphql.OperationDefinitionNode)
        and definition.operation is graphql.OperationType.MUTATION
    )


def _no_internal_text(text: str, echoed: list[str], case: str, answer: str) -> None:
    """`text` (an error, a user error's message) says nothing of the server's insides. Whatever the caller
    sent may come back in a message (`Expected type Int, found "x"`), so what was sent is taken out first."""
    for sent in echoed:
        text = text.replace(sent, "").replace(orjson.dumps(sent).decode()[1:-1], "")
    found = INTERNAL.search(text)
    assert found is None, f"internal text {found[0]!r} in the answer to {case}: {answer}"


def _strings(value: Any) -> list[str]:
    """Every string in a request (longest first), and those the document's literals hold."""
    found: list[str] = []
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        found.append(value)
        with contextlib.suppress(graphql.GraphQLError, RecursionError):
            found.extend(_literals(graphql.parse(value, no_location=True)))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend([key, *_strings(item)])
    elif isinstance(value, list):
        for item in value:
            found.extend(_strings(item))
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def _literals(document: graphql.DocumentNode) -> list[str]:
    found: list[str] = []

    class Literals(graphql.Visitor):
        def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> None:
            found.append(node.value)

        def enter_name(self, node: graphql.NameNode, *_: Any) -> None:
            found.append(node.value)

    graphql.visit(document, Literals())
    return found


def _user_errors(data: Any) -> Iterator[str]:
    """The messages of every userErrors list in `data`."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "userErrors" and isinstance(value, list):
                yield from (str(e.get("message")) for e in value if isinstance(e, dict))
            else:
                yield from _user_errors(value)
    elif isinstance(data, list):
        for item in data:
            yield from _user_errors(item)


# --- the corpus: what was found to hurt (issue 15), on an archive of 5,000 articles ------------------------

ARCHIVE_ARTICLES = int(os.environ.get("CMS_FUZZ_ARCHIVE", "5000"))
"""The size of the archive the hostile requests were found against."""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def archive_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database holding the benchmark's archive of ARCHIVE_ARTICLES articles (bench/generate.py), made once
    per module: on SQLite a file, on PostgreSQL a database of its own, dropped after."""
    folder = tmp_path_factory.mktemp(f"archive-{request.param}")
    archive = folder / "archive.ndjson"
    write_archive(archive, ARCHIVE_ARTICLES, seed=15)
    if request.param == "sqlite":
        url = async_database_url(f"sqlite:///{folder / 'cms.db'}")
        name = None
    else:
        name = f"cms_fuzz_{uuid.uuid4().hex[:10]}"
        try:
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        except (OSError, asyncpg.PostgresError) as error:
            if IN_CI:
                pytest.fail(f"PostgreSQL is required in CI and cannot be used at {POSTGRES_URL}: {error}")
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
        url = async_database_url(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(url)
        asyncio.run(_import(url, archive))
        yield url
    finally:
        if name is not None:
            asyncio.run(_drop(name))


async def _drop(name: str, seconds: float = 60) -> None:
    """Drop the database `name`, once every session on it has ended: a statement that ran past its
    request's deadline goes on in its backend until that backend notices the cancel (bounded wait)."""
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.ObjectInUseError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.5)  # a backend still ending its statement: look again
    finally:
        await connection.close()


async def _import(url: str, archive: Path) -> None:
    engine = create_engine(url)
    try:
        await import_paths(engine, [archive], actor="test", now=NOW)
    finally:
        await engine.dispose()


@pytest.fixture
async def archived(archive_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(archive_url)
    yield engine
    await engine.dispose()


HUGE = """{ articles(first: 100) { nodes { authors { articles(first: 100) { nodes { authors {
  articles(first: 100) { nodes { slug body(format: TEXT) } } } } } } } } }"""
"""Depth 9, lists of 100 in lists of 100: a billion article bodies, about a gigabyte of answer."""
SEARCH_WORDS = [f"{word}{n}" for n in range(100) for word in ("baku", "caspian", "festival", "heritage")]
FILTERED = "query ($f: ArticleFilter) { articles(first: 20, filter: $f) { totalCount nodes { slug } } }"


def _nested_not(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {"search": "baku"}
    for _ in range(levels):
        inner = {"not": inner}
    return inner


def _deep(levels: int) -> str:
    """A query of `levels` fields, each inside the one before (the leaf counts)."""
    inner = "slug"
    for _ in range(levels - 2):
        inner = f"parent {{ {inner} }}"
    return f'{{ category(slug: "culture") {{ {inner} }} }}'


@dataclass(frozen=True)
class Case:
    """A hostile request, and what its guard answers where the guard exists already."""

    request: Request
    status: int | None = None
    codes: tuple[str, ...] | None = None
    role: Role | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    """What `data` must be, where the guard answers in it (a payload's userErrors)."""


def _post(body: Any, **expected: Any) -> Case:
    return Case(Request(body, accept=GRAPHQL_RESPONSE), **expected)


PRIVATE_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "http://localhost:5432/",
    "http://[::1]/hook",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
]
WEBHOOK = """mutation ($url: String!) {
  createWebhook(input: {url: $url, events: [ARTICLE_PUBLISHED]}) {
    webhook { id url } userErrors { field code message } } }"""
NUL_ARGUMENTS = {
    "article slug": '{ article(slug: "a\\u0000b") { id } }',
    "article language": '{ article(slug: "a", language: "e\\u0000n") { id } }',
    "article id": '{ article(id: "art_\\u0000") { id } }',
    "node id": '{ node(id: "\\u0000") { id } }',
    "author slug": '{ author(slug: "\\u0000") { id } }',
    "authors search": '{ authors(search: "a\\u0000") { totalCount } }',
    "category slug": '{ category(slug: "culture\\u0000") { id } }',
    "source slug": '{ source(slug: "\\u0000trend") { id } }',
    "articles after": '{ articles(after: "\\u0000") { totalCount } }',
    "changes since": '{ changes(since: "\\u0000") { cursor } }',
    "filter search": '{ articles(filter: {search: "x\\u0000"}) { totalCount } }',
    "filter tag": '{ articles(filter: {tag: "\\u0000"}) { totalCount } }',
    "filter category": '{ articles(filter: {category: "\\u0000"}) { totalCount } }',
    "filter title": '{ articles(filter: {title: {contains: "\\u0000"}}) { totalCount } }',
    "filter nested": '{ articles(filter: {or: [{not: {author: "\\u0000"}}]}) { totalCount } }',
}
CORPUS: dict[str, Case] = {
    "depth 9, lists of 100 (a 1 GB answer)": _post({"query": HUGE}, status=400, codes=("QUERY_TOO_COMPLEX",)),
    "700-way or of searches in variables": _post(
        {"query": FILTERED, "variables": {"f": {"or": [{"search": w} for w in SEARCH_WORDS[:350] * 2]}}}
    ),
    "2,000-way or of searches in variables": _post(
        {"query": FILTERED, "variables": {"f": {"or": [{"search": w} for w in SEARCH_WORDS * 5]}}}
    ),
    "a search of 2,000 terms": _post(
        {"query": FILTERED, "variables": {"f": {"search": " OR ".join(SEARCH_WORDS * 5)}}}
    ),
    "800 duplicate fields": _post(
        {"query": "{ articles { nodes { " + "title " * 800 + "} } }"},
        status=400,
        codes=("GRAPHQL_VALIDATION_FAILED",),
    ),
    "a 10 MB document": _post(
        {"query": "{ viewer { role } }" + " " * (10 << 20)}, status=413, codes=("PAYLOAD_TOO_LARGE",)
    ),
    "a 50,000-character title.contains": _post(
        {"query": FILTERED, "variables": {"f": {"title": {"contains": "carpet " * 7143}}}}
    ),
    "60 nested not": _post({"query": FILTERED, "variables": {"f": _nested_not(60)}}),
    **{
        f"NUL in {name}": _post({"query": query}, status=400, codes=("BAD_USER_INPUT",))
        for name, query in NUL_ARGUMENTS.items()
    },
    "NUL in a variable": _post(
        {"query": FILTERED, "variables": {"f": {"and": [{"title": {"contains": "a\x00"}}]}}},
        status=400,
        codes=("BAD_USER_INPUT",),
    ),
    "NUL in the operation name": _post(
        {"query": "query A { viewer { role } }", "operationName": "A\x00"}, status=400
    ),
    "an unknown fragment": _post(
        {"query": "{ articles { ...Nope } }"}, status=400, codes=("GRAPHQL_VALIDATION_FAILED",)
    ),
    "body null": Case(Request(b"null", accept=GRAPHQL_RESPONSE), status=400, codes=("BAD_REQUEST",)),
    "body 123": Case(Request(b"123", accept=GRAPHQL_RESPONSE), status=400, codes=("BAD_REQUEST",)),
    "body a string": Case(
        Request(b'"{ viewer { role } }"', accept=GRAPHQL_RESPONSE), status=400, codes=("BAD_REQUEST",)
    ),
    "body not JSON": Case(Request(b"{query", accept=GRAPHQL_RESPONSE), status=400),
    "body not UTF-8": Case(Request(b'{"query": "\xff\xfe"}', accept=GRAPHQL_RESPONSE), status=400),
    **{
        f"createWebhook to {url}": Case(
            Request({"query": WEBHOOK, "variables": {"url": url}}, accept=GRAPHQL_RESPONSE),
            status=200,
            codes=(),
            role=Role.ADMIN,
            data={
                "createWebhook": {
                    "webhook": None,
                    "userErrors": [{"field": ["input", "url"], "code": "INVALID"}],
                }
            },
        )
        for url in PRIVATE_TARGETS
    },
    "introspection, turned off": _post(
        {"query": "{ __schema { types { name } } }"},
        codes=("INTROSPECTION_DISABLED",),
        settings={"introspection": False},
    ),
    "suggestions, turned off": _post(
        {"query": '{ articel(slug: "x") { id } }'},
        status=400,
        codes=("GRAPHQL_VALIDATION_FAILED",),
        settings={"introspection": False},
    ),
    "depth 12": _post({"query": _deep(12)}, status=200, codes=()),
    "depth 13": _post({"query": _deep(13)}, status=400, codes=("GRAPHQL_VALIDATION_FAILED",)),
}


@pytest.mark.parametrize("name", list(CORPUS))
async def test_the_hostile_corpus(archived: AsyncEngine, name: str) -> None:
    case = CORPUS[name]
    token = await token_for(archived, case.role, f"corpus-{uuid.uuid4().hex[:8]}") if case.role else None
    async with app_client(archived, token, **case.settings) as http:
        status, body = await send(http, archived, case.request)
    codes = {error["extensions"]["code"] for error in body.get("errors", [])}
    shown = orjson.dumps(body).decode()[:2000]
    if case.codes is not None:
        assert codes == set(case.codes), f"{name}: {status} {shown}"
    if case.status is not None:
        assert status == case.status, f"{name}: {status} {shown}"
    if case.data is not None:
        assert _without_messages(body.get("data")) == case.data, f"{name}: {status} {shown}"
    if name.startswith("suggestions"):
        assert "Did you mean" not in orjson.dumps(body).decode()


async def test_a_revoked_and_an_expired_token_are_told_the_same(archived: AsyncEngine) -> None:
    names = {"revoked": f"revoked-{uuid.uuid4().hex[:8]}", "expired": f"expired-{uuid.uuid4().hex[:8]}"}
    revoked, expired = [await token_for(archived, Role.READER, name) for name in names.values()]
    named = col(ApiToken.name)
    async with archived.begin() as connection:
        await connection.execute(update(ApiToken).where(named == names["revoked"]).values(revoked_at=NOW))
        await connection.execute(
            update(ApiToken).where(named == names["expired"]).values(expires_at=NOW - timedelta(days=1))
        )
    answers = []
    for token in (revoked, expired, "cms_" + "0" * 40, "x" * 5000, "Bearer", "cms_\x7f"):
        async with app_client(archived, token) as http:
            status, body = await send(http, archived, Request({"query": "{ viewer { role } }"}))
            answers.append((status, tuple(e["message"] for e in body["errors"])))
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 401


def _without_messages(data: Any) -> Any:
    """`data` with the userErrors' messages left out (their words are not the contract; codes are)."""
    if isinstance(data, dict):
        return {k: _without_messages(v) for k, v in data.items() if k != "message"}
    if isinstance(data, list):
        return [_without_messages(item) for item in data]
    return data


# --- generated documents: the strategies, and the property tests ---------------------------------------

SDL = schema.as_str()
"""The served schema, as `cms schema` writes it: what the generated documents are valid against."""
SERVED = graphql.build_schema(SDL)
FUZZ_EXAMPLES = int(os.environ.get("CMS_FUZZ_EXAMPLES", "300"))

KNOWN_IDS: list[str] = ["art_" + "0" * 32]
"""The ids of the test's database (filled in when it is seeded): arguments that name real items reach
further than random text does."""
SLUGS = [
    "baku-carpet-weaving-festival",
    "caspian-offshore-wind-study",
    "unesco-mission-nagorno-karabakh",
    "culture",
    "azerbaijan",
    "fidan-abdullayeva",
    "rashad-mammadov",
    "trend",
    "unesco",
]
WORDS = [
    *SLUGS,
    "en",
    "az",
    "ru",
    "",
    " ",
    "the",
    '"cultural heritage"',
    "herit*",
    "baku OR caspian",
    "baku -carpet",
    "NOT baku",
    "-",
    "*",
    '"',
    "(",
    "%",
    "_",
    "\\",
    "'; DROP TABLE article; --",
    "' OR '1'='1",
    "https://news.example.org/a",
    "http://127.0.0.1:1/hook",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "Şəki bazarında",
    "Новости Баку",
    "\u202e\u200b",
    "\U0001f4a5",
    "x" * 301,
]
ALPHABET = st.characters(codec="utf-8", min_codepoint=1, max_codepoint=0x10FFFF, exclude_categories=["Cs"])
"""No NUL: one anywhere refuses the whole request (BAD_USER_INPUT, tests/test_guards.py), so it is drawn
only now and then (STRINGS) rather than in most documents."""
STRINGS = st.tuples(
    st.integers(min_value=0, max_value=199), st.one_of(st.sampled_from(WORDS), st.text(ALPHABET, max_size=40))
).map(lambda drawn: "nul\x00inside" if drawn[0] == 199 else drawn[1])
"""Known slugs and words, syntax of searches, hostile text; and now and then a NUL."""
IDS = st.one_of(
    st.integers(min_value=0, max_value=1 << 16).map(lambda n: KNOWN_IDS[n % len(KNOWN_IDS)]),
    st.sampled_from(["art_", "cat_food", "tok_" + "f" * 32, "x" * 41, "art_" + "0" * 31 + "\u200b"]),
    st.text(ALPHABET, max_size=45),
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=4)), timezone(-timedelta(hours=9, minutes=30))])
INSTANTS = st.one_of(
    *[st.datetimes(min_value=datetime(2000, 1, 1), timezones=ZONES).map(datetime.isoformat)] * 2,
    st.datetimes(min_value=datetime(2000, 1, 1)).map(datetime.isoformat),  # no time zone
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES).map(
        datetime.isoformat
    ),
    st.sampled_from(
        [
            *("2026-13-01T00:00:00Z", "now", "0", "", "2026-11-27T12:00:00Z", "2026-11-27"),
            *("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-12:00"),  # out of range in UTC
        ]
    ),
    st.text(string.digits + "-:TZ+.", max_size=30),
)
"""Instants in and out of UTC, some with no time zone (a client that forgot the Z), and some not ISO."""
SMALL = st.integers(min_value=1, max_value=25)
COUNTS = st.one_of(SMALL, SMALL, SMALL, st.integers(min_value=-(2**31), max_value=2**31 - 1))
"""Mostly sizes a list may have (first: 1..100), else any Int."""
SCALARS = {
    "Int": COUNTS.map(nodes.Int),
    "String": STRINGS.map(nodes.String),
    "ID": IDS.map(nodes.String),
    "DateTime": INSTANTS.map(nodes.String),
}
QUERIES = st.one_of(
    *[queries(SERVED, custom_scalars=SCALARS, allow_null=False)] * 3,
    queries(SERVED, custom_scalars=SCALARS),
    *[queries(SERVED, fields=["articles"], custom_scalars=SCALARS, allow_null=False)] * 2,
)
"""Queries, with explicit nulls in some of them (a null where one of two arguments is wanted is as good as
neither, `article(id: null, slug: null)`, and hypothesis-graphql draws nulls often), and a third that ask
`articles` alone: its filter (searches, ranges, and/or/not) is the richest input there is."""
OPERATIONS = st.one_of(
    *[from_schema(SERVED, custom_scalars=SCALARS, allow_null=False)] * 3,
    from_schema(SERVED, custom_scalars=SCALARS),
)
"""Queries and mutations, as QUERIES."""
PHASES = [Phase.explicit, Phase.generate, *([Phase.shrink] if os.environ.get("CMS_FUZZ_SHRINK") else [])]
"""A failure is reported as found: shrinking a generated document can take minutes, so it runs only when
asked (`CMS_FUZZ_SHRINK=1`), for the smallest case that still fails."""
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    phases=PHASES,
    deadline=None,
    derandomize=True,  # the same cases on every run and machine; no example database to replay
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def lifted(document: str) -> tuple[str, dict[str, Any]]:
    """`document` with every argument's literal moved into a variable of the argument's type, as clients
    send them: the same values then travel as JSON and are coerced by another path."""
    ast = graphql.parse(document, no_location=True)
    info = graphql.TypeInfo(SERVED)
    variables: dict[str, Any] = {}
    definitions: list[graphql.VariableDefinitionNode] = []

    class Lift(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> graphql.ArgumentNode | None:
            argument = info.get_argument()
            if argument is None:
                return None
            name = f"v{len(variables)}"
            variables[name] = graphql.value_from_ast_untyped(node.value)
            variable = graphql.VariableNode(name=graphql.NameNode(value=name))
            type_node = graphql.parse_type(str(argument.type), no_location=True)
            definitions.append(graphql.VariableDefinitionNode(variable=variable, type=type_node))
            return graphql.ArgumentNode(name=node.name, value=variable)

    edited = graphql.visit(ast, graphql.TypeInfoVisitor(info, Lift()))
    (operation,) = edited.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    operation = dataclasses.replace(operation, variable_definitions=tuple(definitions))
    return graphql.print_ast(graphql.DocumentNode(definitions=(operation,))), variables


EXCLUSIVE = ({"id", "slug"}, {"first", "last"}, {"after", "before"})
"""Arguments of which a field takes one: both, or neither for id/slug, is a user error."""
RARE = {"after", "before", "since", "expectedVersion"}
"""Arguments mostly left out: a cursor or version drawn at random is refused, whatever else is asked."""


def thinned(draw: st.DrawFn, document: str) -> str:
    """`document` with some of its optional arguments left out. hypothesis-graphql gives every argument,
    and most fields take alternatives (`id` or `slug`, `first` or `last`) that cannot all be given: of each
    such pair, mostly one is kept."""
    ast = graphql.parse(document, no_location=True)
    info = graphql.TypeInfo(SERVED)
    kept: list[set[str]] = []

    class Thin(graphql.Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
            names = {argument.name.value for argument in node.arguments or ()}
            keep = set(names)
            for group in EXCLUSIVE:
                given = sorted(group & names)
                if len(given) == 2 and draw(st.integers(0, 7)) < 7:  # Hypothesis's simplest draw is 0
                    keep -= {given[draw(st.integers(0, 1))]}
            kept.append(keep)

        def leave_field(self, *_: Any) -> None:
            kept.pop()

        def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
            argument = info.get_argument()
            if argument is None or graphql.is_required_argument(argument):
                return None
            name = node.name.value
            if name not in kept[-1]:
                return graphql.REMOVE
            if name in RARE:
                return graphql.REMOVE if draw(st.integers(0, 3)) < 3 else None
            if any(name in group for group in EXCLUSIVE):
                return None
            return graphql.REMOVE if draw(st.booleans()) else None

    return graphql.print_ast(graphql.visit(ast, graphql.TypeInfoVisitor(info, Thin())))


@st.composite
def requests(draw: st.DrawFn, documents: st.SearchStrategy[str], *, get: bool) -> Request:
    """A generated document, some optional arguments left out, the others inline or as variables, sent as
    a client would send it."""
    document = thinned(draw, draw(documents))
    body: dict[str, Any] = {"query": document}
    if draw(st.booleans()):
        body["query"], body["variables"] = lifted(document)
    method = draw(st.sampled_from(["POST", "GET"])) if get else "POST"
    accept = draw(st.sampled_from(["application/json", GRAPHQL_RESPONSE]))
    return Request(body, method, accept)


async def _remember_ids(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        found = [
            row[0]
            for column in (Article.id, Author.id, Category.id, Source.id)
            for row in (await connection.execute(select(col(column)))).all()
        ]
    KNOWN_IDS[:] = sorted(found)


@pytest.fixture
async def public(seeded: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await _remember_ids(seeded)
    async with app_client(seeded) as http:
        yield http


@FUZZ
@given(request=requests(QUERIES, get=True))
async def test_generated_queries_from_the_public(
    seeded: AsyncEngine, public: httpx.AsyncClient, request: Request
) -> None:
    await send(public, seeded, request)


@pytest.fixture
async def editor(seeded: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await _remember_ids(seeded)
    async with app_client(seeded, await token_for(seeded, Role.EDITOR)) as http:
        yield http


@FUZZ
@given(request=requests(OPERATIONS, get=False))
async def test_generated_queries_and_mutations_from_an_editor(
    seeded: AsyncEngine, editor: httpx.AsyncClient, request: Request
) -> None:
    await send(editor, seeded, request)
