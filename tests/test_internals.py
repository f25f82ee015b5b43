"""The libraries' internals the code relies on, one small test each, used the way the code uses them: an
upgrade that moves one fails here, by name, before it fails somewhere in the suite (or in production).
Each docstring says which module relies on it. The last test holds the installed versions to the lock."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    GraphQLSkipDirective,
    OperationDefinitionNode,
    Undefined,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)
from graphql.utilities.coerce_input_value import coerce_default_value, coerce_input_literal
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import CompileError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from starlette.middleware.gzip import IdentityResponder
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.types.arguments import convert_arguments

from cms.commits import Commits
from cms.content import reads, search
from cms.graphql.inputs import ArticleFilter, ArticleOrder
from cms.graphql.schema import schema
from cms.models import Author, UTCDateTime
from tests.conftest import ROOT

ITEMS = Table(
    "items",
    MetaData(),
    Column("id", String(40), primary_key=True),
    Column("slug", String(200)),
    Column("at", UTCDateTime()),
    Column("n", Integer),
)
SQLITE = create_engine("sqlite://").dialect
POSTGRESQL = postgresql.asyncpg.dialect()


# ---------------------------------------------------------------- SQLAlchemy: compiling once (cms/db.py)


def test_statements_of_one_shape_share_a_cache_key_with_their_own_values() -> None:
    """`Executable._generate_cache_key()`: cms/db.py keeps one compiled statement per `key.key` and takes
    each statement's values from `key.bindparams`."""
    one = select(ITEMS.c.id).where(ITEMS.c.slug == "a", ITEMS.c.n > 1)
    other = select(ITEMS.c.id).where(ITEMS.c.slug == "b", ITEMS.c.n > 2)
    shape = select(ITEMS.c.id).where(ITEMS.c.slug == "a")
    one_key, other_key, shape_key = (s._generate_cache_key() for s in (one, other, shape))
    assert one_key is not None
    assert other_key is not None
    assert shape_key is not None
    assert one_key.key == other_key.key
    assert hash(one_key.key) == hash(other_key.key)
    assert one_key.key != shape_key.key
    assert [p.effective_value for p in other_key.bindparams] == ["b", 2]


def test_a_statement_compiled_once_takes_the_values_of_another_of_its_shape() -> None:
    """`compile(dialect=, cache_key=)` and `construct_params(extracted_parameters=, _check=False)`: cms/db.py
    compiles the first statement of a shape and runs every later one with its own values; a parameter with
    no value yet (the call gives it, like `now`) must not raise."""
    one = select(ITEMS.c.id).where(ITEMS.c.slug == "a", ITEMS.c.n < bindparam("now"))
    other = select(ITEMS.c.id).where(ITEMS.c.slug == "b", ITEMS.c.n < bindparam("now"))
    one_key, other_key = one._generate_cache_key(), other._generate_cache_key()
    assert one_key is not None
    assert other_key is not None
    compiled: Any = one.compile(dialect=SQLITE, cache_key=one_key)
    own = compiled.construct_params(extracted_parameters=other_key.bindparams, _check=False)
    assert own == {"slug_1": "b", "now": None}
    with pytest.raises(InvalidRequestError, match="now"):
        compiled.construct_params(extracted_parameters=other_key.bindparams)


def test_a_compiled_statement_names_its_columns_parameters_and_processors() -> None:
    """`compiled._result_columns` (entry 0: the row's field name, entry 3: its type), `positiontup`,
    `binds[name].effective_value`, `post_compile_params`, `literal_execute_params`, and the types'
    `_cached_bind_processor` / `_cached_result_processor`: cms/db.py runs SQLite reads on the sqlite3
    connection itself with what these give."""
    statement = select(ITEMS.c.id, ITEMS.c.at.label("moment")).where(
        ITEMS.c.slug == "x", ITEMS.c.at > bindparam("now")
    )
    compiled: Any = statement.compile(dialect=SQLITE)
    assert [entry[0] for entry in compiled._result_columns] == ["id", "moment"]
    assert [type(entry[3]) for entry in compiled._result_columns] == [String, UTCDateTime]
    assert compiled.positiontup == ["slug_1", "now"]
    assert compiled.binds["slug_1"].effective_value == "x"
    assert not compiled.post_compile_params
    assert not compiled.literal_execute_params
    assert compiled.binds["slug_1"].type._cached_bind_processor(SQLITE) is None
    to_sqlite = compiled.binds["now"].type._cached_bind_processor(SQLITE)
    from_sqlite = compiled._result_columns[1][3]._cached_result_processor(SQLITE, None)
    assert to_sqlite is not None
    assert from_sqlite is not None
    expanding: Any = select(ITEMS.c.id).where(ITEMS.c.slug.in_(["a", "b"])).compile(dialect=SQLITE)
    assert expanding.post_compile_params, "an expanding IN: its text depends on its values"


def test_a_connection_made_on_a_pooled_connection_shares_its_transaction(tmp_path: Path) -> None:
    """`Connection(engine, pooled)` over `engine.raw_connection()`, whose `driver_connection` is the sqlite3
    connection, and a "begin" listener reading `connection.connection.driver_connection`: cms/db.py runs
    what only SQLAlchemy can run inside a snapshot's own transaction."""
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    begun: list[bool] = []

    def on_begin(connection: Connection) -> None:
        raw = connection.connection.driver_connection
        assert raw is not None
        begun.append(raw.in_transaction)

    event.listen(engine, "begin", on_begin)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    pooled = engine.raw_connection()
    raw = pooled.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    raw.isolation_level = None
    raw.execute("BEGIN")
    raw.execute("INSERT INTO t VALUES (1)")
    connection = Connection(engine, pooled)
    assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1, "the snapshot's transaction"
    assert begun[-1] is True
    raw.rollback()
    pooled.close()
    engine.dispose()


# ---------------------------------------------------------------- SQLite: the WAL index


def test_the_wal_index_header_changes_with_every_commit_and_only_then(tmp_path: Path) -> None:
    """cms/commits.py reads SQLite's WAL-index header (walformat.html) from the -shm file mapped: two equal
    copies at rest, iVersion 3007000 and isInit set; a commit by any connection changes it, a read does not.
    A connection that has read holds the file open when the others close (cms/db.py `_Readers.own`)."""
    path = tmp_path / "t.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("PRAGMA schema_version").fetchall()
    commits = Commits(str(path))
    try:
        first = commits.mark()
        assert first is not None
        reader.execute("SELECT * FROM t").fetchall()
        assert commits.mark() == first
        writer.execute("INSERT INTO t VALUES (1)")
        second = commits.mark()
        assert second not in (None, first)
        writer.close()
        assert Path(f"{path}-shm").exists()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("INSERT INTO t VALUES (2)")
        other.close()
        assert commits.mark() not in (None, second)
    finally:
        commits.close()
        reader.close()
    assert Commits(str(tmp_path / "none.db")).mark() is None


# ---------------------------------------------------------------- SQLAlchemy: custom constructs


def test_custom_elements_are_cached_by_their_traversed_children() -> None:
    """`inherit_cache = True` with `_traverse_internals` of `InternalTraversal.dp_clauseelement`:
    cms/content/reads.py (`_InKeys`) and cms/content/search.py (`_Among`) are part of the statements'
    cache keys by what they hold, so cms/db.py's per-shape compilation tells them apart."""
    by_id = select(ITEMS.c.slug).where(reads.in_keys(ITEMS.c.id))
    by_id_again = select(ITEMS.c.slug).where(reads.in_keys(ITEMS.c.id, ["a"]))
    by_slug = select(ITEMS.c.slug).where(reads.in_keys(ITEMS.c.slug))
    keys = [key for s in (by_id, by_id_again, by_slug) if (key := s._generate_cache_key()) is not None]
    assert len(keys) == 3
    assert keys[0].key == keys[1].key
    assert keys[0].key != keys[2].key
    assert dict(reads._InKeys._traverse_internals) == {
        "column": InternalTraversal.dp_clauseelement,
        "keys": InternalTraversal.dp_clauseelement,
    }


def test_a_parameter_an_element_holds_is_bound_where_its_compile_puts_it() -> None:
    """A bound parameter among an element's `_traverse_internals` is one of its statement's
    `key.bindparams`, and a construct its `@compiles` builds around it binds it: cms/content/search.py's
    `_Among` builds each database's subquery only when compiled, so statements of searches for other words
    share one compiled statement and each brings its words."""
    one = select(ITEMS.c.id).where(search._Among('"baku"', "'baku'", vector=search.FILTERED))
    other = select(ITEMS.c.id).where(search._Among('"wind"', "'wind'", vector=search.FILTERED))
    one_key, other_key = one._generate_cache_key(), other._generate_cache_key()
    assert one_key is not None
    assert other_key is not None
    assert one_key.key == other_key.key
    for dialect, words in ((SQLITE, '"wind"'), (POSTGRESQL, "'wind'")):
        compiled: Any = one.compile(dialect=dialect, cache_key=one_key)
        own = compiled.construct_params(extracted_parameters=other_key.bindparams, _check=False)
        assert list(own.values()) == [words], compiled.string


def test_compiles_picks_the_construct_of_each_dialect() -> None:
    """`sqlalchemy.ext.compiler.compiles(cls)` and `compiles(cls, "sqlite" | "postgresql")`:
    cms/content/reads.py gives `in_keys` a json_each on SQLite and `= ANY` on PostgreSQL, and
    cms/content/search.py its full-text expressions per database (CompileError on any other)."""
    condition = reads.in_keys(ITEMS.c.id)
    assert str(condition.compile(dialect=SQLITE)) == "items.id IN (SELECT value FROM json_each(?))"
    assert str(condition.compile(dialect=POSTGRESQL)) == "items.id = ANY($1::VARCHAR[])"
    assert str(condition) == "items.id IN (:keys)"

    class Both(ColumnElement[Any]):
        inherit_cache = True
        type = Integer()

    @compiles(Both, "sqlite")
    def _sqlite(element: Both, compiler: SQLCompiler, **kw: Any) -> str:
        return "1"

    @compiles(Both)
    def _other(element: Both, compiler: SQLCompiler, **kw: Any) -> str:
        raise CompileError(f"not on {compiler.dialect.name}")

    assert str(select(Both()).compile(dialect=SQLITE)) == "SELECT 1 AS anon_1"
    with pytest.raises(CompileError, match="not on postgresql"):
        select(Both()).compile(dialect=POSTGRESQL)


def test_an_implicitly_boolean_element_is_a_condition_as_it_is_on_sqlite() -> None:
    """`_is_implicitly_boolean`: cms/content/reads.py and cms/content/search.py set it so that SQLite gets
    `WHERE <condition>`, not `WHERE <condition> = 1`, which no index serves."""
    where = str(select(ITEMS.c.slug).where(reads.in_keys(ITEMS.c.id)).compile(dialect=SQLITE))
    assert where.endswith("WHERE items.id IN (SELECT value FROM json_each(?))")

    class NotSaid(ColumnElement[bool]):
        inherit_cache = True
        type = Boolean()

    @compiles(NotSaid)
    def _not_said(element: NotSaid, compiler: SQLCompiler, **kw: Any) -> str:
        return "f(x)"

    class Said(NotSaid):
        inherit_cache = True
        _is_implicitly_boolean = True

    assert str(select(ITEMS.c.id).where(NotSaid()).compile(dialect=SQLITE)).endswith("WHERE f(x) = 1")
    assert str(select(ITEMS.c.id).where(Said()).compile(dialect=SQLITE)).endswith("WHERE f(x)")


def test_an_element_names_its_from_objects_and_a_column_its_table() -> None:
    """`_from_objects` (overridden by cms/content/search.py's `_Among`, so a statement selecting only a
    search rank reads FROM article) and a `column()` given its `.table` (search's `_of`: rowid)."""
    hit = search._Among('"baku"', "'baku'", vector=search.RANKED)
    assert str(select(hit).compile(dialect=SQLITE)).endswith("FROM article")
    found = search.ARTICLE.alias("found")
    assert str(select(search._of(found, "rowid", Integer)).compile(dialect=SQLITE)) == (
        "SELECT found.rowid \nFROM article AS found"
    )


# ---------------------------------------------------------------- SQLModel


def test_a_field_max_length_is_its_column_length() -> None:
    """`Field(max_length=)` becomes the column type's `length`, and a model's `__table__` is its Table:
    cms/content/references.py (`Entity.limit`: TOO_LONG) and cms/content/directory.py (`Kind.fits`) read
    the limits there."""
    table: Table = Author.__table__  # type: ignore[attr-defined]
    lengths = [getattr(table.c[name].type, "length", None) for name in ("name", "slug", "email", "bio")]
    assert lengths == [200, 200, 320, None]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_the_asyncpg_adapter_begins_a_transaction_before_any_statement(engine: AsyncEngine) -> None:
    """`fairy.dbapi_connection._start_transaction()` (SQLAlchemy's asyncpg adapter, `await`ed), under the
    isolation level and read-only flag that `execution_options` set, and its `_transaction` after it, which
    SQLAlchemy's next statement then runs in rather than beginning its own: cms/db.py (`_begun`) begins a
    snapshot with no statement through SQLAlchemy."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        fairy = await connection.get_raw_connection()
        adapter: Any = fairy.dbapi_connection
        await adapter._start_transaction()
        assert adapter._transaction is not None
        driver: Any = fairy.driver_connection
        assert driver.is_in_transaction()
        settings = "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
        assert tuple((await connection.execute(text(settings))).one()) == ("repeatable read", "on")


# ---------------------------------------------------------------- graphql-core (cms/graphql/plan)

DOCUMENT = parse(
    """query ($first: Int, $skip: Boolean!, $status: [ArticleStatus!]) {
      articles(first: $first, filter: {status: $status, language: "az"}, orderBy: {field: TITLE})
          @skip(if: $skip) {
        totalCount
      }
    }"""
)


def first_field(document: DocumentNode) -> tuple[OperationDefinitionNode, FieldNode]:
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    return operation, field


def query_field(name: str) -> GraphQLField:
    query = schema._schema.query_type
    assert query is not None
    return query.fields[name]


OPERATION, FIELD = first_field(DOCUMENT)
DEFINITIONS = OPERATION.variable_definitions or ()


def test_variables_are_coerced_into_variable_values_or_errors() -> None:
    """`graphql.execution.values.get_variable_values(schema, definitions, inputs)`: cms/graphql/plan/
    planner.py coerces a request's variables once per values; a `VariableValues` with `.coerced`, or a list
    of errors when they do not fit."""
    definitions = DEFINITIONS
    coerced = get_variable_values(
        schema._schema, definitions, {"first": 5, "skip": False, "status": ["DRAFT"]}
    )
    assert isinstance(coerced, VariableValues)
    assert coerced.coerced["first"] == 5
    assert coerced.coerced["skip"] is False
    wrong = get_variable_values(schema._schema, definitions, {"first": "five", "skip": False})
    assert isinstance(wrong, list)
    assert all(isinstance(error, GraphQLError) for error in wrong)


def test_a_field_argument_and_a_directive_are_read_with_the_variables() -> None:
    """`get_argument_values(field, node, variables)` (None: the arguments hold no variable) and
    `get_directive_values(GraphQLSkipDirective, node, variables)`: cms/graphql/plan/compiler.py."""
    definition = query_field("articles")
    variables = get_variable_values(schema._schema, DEFINITIONS, {"first": 3, "skip": True})
    assert isinstance(variables, VariableValues)
    raw = get_argument_values(definition, FIELD, variables)
    assert raw["first"] == 3
    assert (raw["filter"]["language"], raw["filter"]["status"]) == ("az", None), "absent: the default"
    assert get_directive_values(GraphQLSkipDirective, FIELD, variables) == {"if": True}
    _, node = first_field(parse('{ article(slug: "x") { id } }'))
    article = query_field("article")
    expected = {"id": None, "slug": "x", "language": None, "fallbackLanguages": None}
    assert get_argument_values(article, node, None) == expected


def test_a_variable_signature_its_default_and_a_literal_are_coerced_once() -> None:
    """`get_variable_signature(schema, definition)` (`.name`, `.type`; a GraphQLError for an unknown type),
    `VariableValueSource(signature[, value])`, `coerce_default_value(signature or argument)` (Undefined when
    none) and `coerce_input_literal(node, type)`: cms/graphql/plan/planner.py (`_leaves`) and compiler.py
    (`_read_directly`) work them out once per document, where `get_variable_values` and
    `get_argument_values` do it per request."""
    operation, _ = first_field(parse('query ($n: Int = 20, $x: Nope) { article(slug: "x") { id } }'))
    first, unknown = (get_variable_signature(schema._schema, d) for d in operation.variable_definitions or ())
    assert isinstance(unknown, GraphQLError)
    assert not isinstance(first, GraphQLError)
    assert (first.name, str(first.type), coerce_default_value(first)) == ("n", "Int", 20)
    assert VariableValueSource(first).value is Undefined
    assert VariableValueSource(first, 5).value == 5
    article = query_field("article")
    assert coerce_default_value(article.args["slug"]) is None, "declared `= null`"
    _, node = first_field(parse('{ article(slug: "x", fallbackLanguages: "az") { id } }'))
    values = {argument.name.value: argument.value for argument in node.arguments or ()}
    assert coerce_input_literal(values["slug"], article.args["slug"].type) == "x"
    assert coerce_input_literal(values["fallbackLanguages"], article.args["fallbackLanguages"].type) == ["az"]


# ---------------------------------------------------------------- Strawberry


def test_a_strawberry_schema_holds_its_graphql_schema() -> None:
    """`strawberry.Schema._schema`: cms/graphql/plan/planner.py validates documents against it (with the
    limiters' `validation_rules`, see below), coerces variables with it and starts from its query type."""
    assert isinstance(schema._schema, GraphQLSchema)
    assert schema._schema.query_type is not None
    assert schema._schema.query_type.name == "Query"
    assert validate(schema._schema, parse("{ articles { totalCount } }"), specified_rules) == []
    assert validate(schema._schema, parse("{ nothing }"), specified_rules)


def test_the_limiters_validation_rules_apply_to_graphql_validate() -> None:
    """`QueryDepthLimiter(...).validation_rules` and `MaxAliasesLimiter(...).validation_rules`: cms/graphql/
    documents.py builds them once (LIMITS) and validates every valid document with them."""
    rules = [
        *QueryDepthLimiter(max_depth=2).validation_rules,
        *MaxAliasesLimiter(max_alias_count=1).validation_rules,
    ]
    deep = parse("{ articles { nodes { category { parent { slug } } } } }")
    assert validate(schema._schema, deep, [*specified_rules, *rules])
    aliased = parse("{ a: articles { totalCount } b: articles { totalCount } }")
    assert validate(schema._schema, aliased, [*specified_rules, *rules])
    assert validate(schema._schema, parse("{ articles { totalCount } }"), [*specified_rules, *rules]) == []


def test_a_graphql_field_leads_to_its_strawberry_field_and_arguments() -> None:
    """`GraphQLField.extensions["strawberry-definition"]` (a StrawberryField: `.arguments`, each with
    `.python_name`) and `schema.config.name_converter.from_argument`: cms/graphql/plan/compiler.py renames
    built-in scalar arguments itself."""
    definition = query_field("articles")
    arguments = definition.extensions["strawberry-definition"].arguments
    names = {schema.config.name_converter.from_argument(a): a.python_name for a in arguments}
    assert names == {
        "first": "first",
        "after": "after",
        "last": "last",
        "before": "before",
        "filter": "filter",
        "orderBy": "order_by",
        "fallbackLanguages": "fallback_languages",
    }


def test_convert_arguments_makes_strawberry_inputs() -> None:
    """`strawberry.types.arguments.convert_arguments(raw, arguments, scalar_registry, config)` with
    `schema.schema_converter.scalar_registry`: cms/graphql/plan/compiler.py gives a plan's resolvers their
    arguments as Strawberry would."""
    definition = query_field("articles")
    arguments = definition.extensions["strawberry-definition"].arguments
    variables = get_variable_values(
        schema._schema, DEFINITIONS, {"first": 2, "skip": False, "status": ["PUBLISHED"]}
    )
    assert isinstance(variables, VariableValues)
    raw = get_argument_values(definition, FIELD, variables)
    converted = convert_arguments(raw, arguments, schema.schema_converter.scalar_registry, schema.config)
    assert converted["first"] == 2
    assert isinstance(converted["filter"], ArticleFilter)
    assert [s.value for s in converted["filter"].status or []] == ["PUBLISHED"]
    assert converted["filter"].language == "az"
    assert isinstance(converted["order_by"], ArticleOrder)
    assert converted["order_by"].field.name == "TITLE"


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        return f"hello {name}"

    @strawberry.field
    def goodbye(self) -> str:
        return "goodbye"


class _Seen(SchemaExtension):
    """Replaces the document and the errors as cms/graphql/schema.py's ParsedDocuments and cms/graphql/
    errors.py's ErrorCodes do."""

    options: list[dict[str, Any]] = []

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        _Seen.options.append(dict(context.parse_options))
        if context.query == "{ hello }":
            context.graphql_document = parse("{ goodbye }")
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [GraphQLError("coded", extensions={"code": "X"}) for _ in result.errors]


async def test_an_extension_gives_the_parsed_document_and_rewrites_the_errors() -> None:
    """`execution_context.query`, `.parse_options`, `.graphql_document` set in `on_parse` (Strawberry then
    runs that document), and `.result.errors` replaced after `on_operation`'s yield: cms/graphql/schema.py
    (ParsedDocuments: `parse(query, **parse_options)`) and cms/graphql/errors.py (ErrorCodes)."""
    tiny = strawberry.Schema(query=_Query, extensions=[lambda: MaxTokensLimiter(max_token_count=50), _Seen])
    ran = await tiny.execute("{ hello }")
    assert ran.data == {"goodbye": "goodbye"}
    assert _Seen.options[-1] == {"max_tokens": 50}, "what cms.graphql.schema.parsed gives parse() itself"
    failed = await tiny.execute("{ nothing }")
    assert [(e.message, e.extensions) for e in failed.errors or []] == [("coded", {"code": "X"})]


# ---------------------------------------------------------------- Starlette (cms/edge.py)


async def test_an_identity_responder_compresses_through_its_hook() -> None:
    """`IdentityResponder(app, minimum_size)` with `content_encoding` and `apply_compression(body, *,
    more_body)`: cms/edge.py's brotli responder is Starlette's own with brotli's compressor in that hook."""

    class Upper(IdentityResponder):
        content_encoding = "upper"

        async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
            return body.upper()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(b"x" * 20, media_type="application/json")(scope, receive, send)

    async def responder(scope: Scope, receive: Receive, send: Send) -> None:
        await Upper(app, 10)(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=responder), base_url="http://t") as http:
        response = await http.get("/")
    assert response.headers["content-encoding"] == "upper"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.content == b"X" * 20


# ---------------------------------------------------------------- the lock


def locked() -> dict[str, str]:
    """name -> version of every package requirements.lock pins."""
    pins = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", (ROOT / "requirements.lock").read_text(), re.M
    )
    return dict(pins)


def test_the_installed_versions_are_those_of_the_lock() -> None:
    """`make run` and `make test` install requirements.lock: a package at another version than the one
    these internals were checked against fails here, by name (`make lock` after changing pyproject.toml,
    then `make test` installs what it pins)."""
    pins = locked()
    assert {"strawberry-graphql", "graphql-core", "sqlalchemy", "sqlmodel", "anyascii"} <= pins.keys()
    drifted = {}
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            drifted[name] = f"locked {pinned}, installed {installed}"
    assert drifted == {}
