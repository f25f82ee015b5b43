"""Ids another system made (UUIDs, numbers, `cat_food`) are kept by `cms import`, round-trip, and find
their article over HTTP; ids that cannot be kept, or that another type's item holds, stop the import at
their line."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.content.ids import ID_LENGTH, id_problem, is_own, new_id, typename_of
from cms.files.errors import ContentFileError
from cms.files.importer import import_paths
from tests.conftest import NOW, data, error_codes, gql
from tests.test_import_export import Fresh, _export, _history, _round_trip
from tests.test_import_export import fresh as fresh  # noqa: F401  (the fixture)


def uid(name: str) -> str:
    """A stable UUID, as another system would have given `name`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://other.example/{name}"))


Line = dict[str, Any]


def _article(id: str, slug: str, **fields: Any) -> Line:
    return {
        "type": "article",
        "id": id,
        "slug": slug,
        "language": "en",
        "title": slug.replace("-", " ").title(),
        "body": f"About {slug}.\n",
        "status": "PUBLISHED",
        "publishedAt": "2020-11-20T09:00:00+00:00",
        "authors": ["fidan-abdullayeva"],
        "category": "culture",
        "tags": ["heritage"],
        "sources": [{"source": "trend", "role": "WIRE", "url": None, "note": None}],
        **fields,
    }


def _category(id: str, slug: str, parent: str | None = None) -> Line:
    return {"type": "category", "id": id, "slug": slug, "name": slug.title(), "parent": parent}


ARCHIVE: list[Line] = [
    {"type": "source", "id": uid("src-trend"), "slug": "trend", "name": "Trend", "kind": "NEWS_AGENCY"},
    {"type": "source", "id": uid("src-unesco"), "slug": "unesco", "name": "UNESCO", "kind": "ORGANIZATION"},
    {"type": "author", "id": uid("aut-fidan"), "slug": "fidan-abdullayeva", "name": "Fidan Abdullayeva"},
    {"type": "author", "id": "42", "slug": "aysel-mammadova", "name": "Aysel Mammadova"},
    _category(uid("cat-az"), "azerbaijan"),
    _category(uid("cat-culture"), "culture", parent="azerbaijan"),
    _category(uid("cat-economy"), "economy", parent=uid("cat-az")),
    _article(uid("art-unesco"), "unesco-mission"),
    _article(uid("art-unesco-az"), "unesco-missiyasi", language="az", translationOf="unesco-mission"),
    _article(uid("art-budget-en"), "budget", category="economy"),
    _article(uid("art-budget-az"), "budget", language="az", category=uid("cat-economy")),
    _article(uid("art-budget-ru"), "budget", language="ru", translationOf=uid("art-budget-az")),
    _article(
        "cat_food",
        "food-prices",
        authors=["42", uid("aut-fidan")],
        category=uid("cat-economy"),
        sources=[{"source": uid("src-unesco"), "role": "REFERENCE"}],
    ),
    _article(uid("art-draft"), "a-draft", status="DRAFT", publishedAt=None),
]
"""Every kind with UUID ids (and an author `42`, an article `cat_food`), referring by slug and by id, with
translations named by slug and, where two originals share the slug, by id."""


def _write(path: Path, lines: list[Line]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


@pytest.fixture
async def imported(engine: AsyncEngine, tmp_path: Path) -> AsyncEngine:
    summary = await import_paths(engine, [_write(tmp_path / "other.ndjson", ARCHIVE)], actor="test", now=NOW)
    assert summary.articles["created"] == 7
    return engine


def _by_key(exported: bytes) -> dict[tuple[str, ...], Line]:
    lines = [orjson.loads(line) for line in exported.splitlines()]
    return {(line["type"], line["slug"], line.get("language", "")): line for line in lines}


async def test_foreign_ids_are_kept_and_round_trip_byte_for_byte(
    imported: AsyncEngine, fresh: Fresh, tmp_path: Path
) -> None:
    exported = _by_key(await _export(imported))
    assert {key: line["id"] for key, line in exported.items()} == {
        (line["type"], line["slug"], line.get("language", "")): line["id"] for line in ARCHIVE
    }
    assert exported["category", "economy", ""]["parent"] == "azerbaijan"
    assert exported["article", "unesco-missiyasi", "az"]["translationOf"] == "unesco-mission"
    assert exported["article", "budget", "ru"]["translationOf"] == uid("art-budget-az")
    food = exported["article", "food-prices", "en"]
    assert (food["authors"], food["category"]) == (["aysel-mammadova", "fidan-abdullayeva"], "economy")
    await _round_trip(imported, fresh, tmp_path)


async def test_importing_foreign_ids_again_matches_them_and_writes_nothing(
    imported: AsyncEngine, tmp_path: Path
) -> None:
    before, history = await _export(imported), await _history(imported)
    (tmp_path / "export.ndjson").write_bytes(before)
    for path in (_write(tmp_path / "again.ndjson", ARCHIVE), tmp_path / "export.ndjson"):
        summary = await import_paths(imported, [path], actor="test", now=NOW)
        assert set(summary.articles) == set(summary.others) == {"unchanged"}
        assert (await _export(imported), await _history(imported)) == (before, history)


async def test_a_markdown_article_keeps_the_foreign_id_of_its_front_matter(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    (tmp_path / "a.md").write_text(f"---\nid: {uid('md')}\ntitle: From another system\n---\nBody.\n")
    await import_paths(engine, [tmp_path / "a.md"], actor="test", now=NOW)
    (line,) = [orjson.loads(line) for line in (await _export(engine)).splitlines() if b'"article"' in line]
    assert line["id"] == uid("md")


ARTICLE = """query ($id: ID!) { article(id: $id) {
  id slug authors { id } category { id parent { id } } sources { role source { id } }
  translations { id language }
} }"""


async def test_article_by_id_finds_an_imported_article_over_http(
    imported: AsyncEngine, client: httpx.AsyncClient, preview: httpx.AsyncClient
) -> None:
    unesco = (await data(client, ARTICLE, {"id": uid("art-unesco")}))["article"]
    assert unesco == {
        "id": uid("art-unesco"),
        "slug": "unesco-mission",
        "authors": [{"id": uid("aut-fidan")}],
        "category": {"id": uid("cat-culture"), "parent": {"id": uid("cat-az")}},
        "sources": [{"role": "WIRE", "source": {"id": uid("src-trend")}}],
        "translations": [{"id": uid("art-unesco-az"), "language": "az"}],
    }
    food = (await data(client, ARTICLE, {"id": "cat_food"}))["article"]
    assert (food["id"], [a["id"] for a in food["authors"]]) == ("cat_food", ["42", uid("aut-fidan")])
    assert (await data(client, ARTICLE, {"id": uid("art-draft")}))["article"] is None
    assert (await data(preview, ARTICLE, {"id": uid("art-draft")}))["article"]["slug"] == "a-draft"


NODE = """query ($id: ID!) { node(id: $id) { __typename id
  ... on Article { slug } ... on Author { slug } ... on Category { slug } ... on Source { slug } } }"""


@pytest.mark.parametrize(
    ("id_", "typename", "slug"),
    [
        (uid("art-unesco"), "Article", "unesco-mission"),
        ("cat_food", "Article", "food-prices"),
        ("42", "Author", "aysel-mammadova"),
        (uid("cat-economy"), "Category", "economy"),
        (uid("src-unesco"), "Source", "unesco"),
    ],
)
async def test_node_finds_each_kind_by_its_foreign_id(
    imported: AsyncEngine, client: httpx.AsyncClient, id_: str, typename: str, slug: str
) -> None:
    """An id kept from another system says nothing of its type: every node type is looked in."""
    node = (await data(client, NODE, {"id": id_}))["node"]
    assert node == {"__typename": typename, "id": id_, "slug": slug}


async def test_node_sees_a_foreign_id_through_the_callers_role(
    imported: AsyncEngine, client: httpx.AsyncClient, preview: httpx.AsyncClient
) -> None:
    assert (await data(client, NODE, {"id": uid("art-draft")}))["node"] is None
    assert (await data(preview, NODE, {"id": uid("art-draft")}))["node"]["slug"] == "a-draft"
    for id_ in (uid("nothing"), "x" * (ID_LENGTH + 1)):
        assert (await data(client, NODE, {"id": id_}))["node"] is None
    assert error_codes(await gql(client, NODE, {"id": "a\x00b"})) == ["BAD_USER_INPUT"]  # no id holds NUL


FEED = """{ changes(first: 1000) { events { typename id node { __typename id } } } }"""


async def test_the_change_feed_types_the_nodes_of_foreign_ids(
    imported: AsyncEngine, client: httpx.AsyncClient
) -> None:
    events = (await data(client, FEED))["changes"]["events"]
    typed = {(e["typename"], e["id"]) for e in events if e["node"] is not None}
    assert ("Article", "cat_food") in typed
    assert ("Author", "42") in typed
    assert all(e["node"]["__typename"] == e["typename"] for e in events if e["node"] is not None)


UPDATE = """mutation ($id: ID!, $v: Int) {
  updateArticle(id: $id, input: {subtitle: "Edited"}, expectedVersion: $v) {
    article { id subtitle version } userErrors { code } } }"""


async def test_an_editor_edits_an_imported_article_by_its_foreign_id(
    imported: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    edited = (await data(editor, UPDATE, {"id": "cat_food", "v": 1}))["updateArticle"]
    assert edited == {"article": {"id": "cat_food", "subtitle": "Edited", "version": 2}, "userErrors": []}


@pytest.mark.parametrize("id_", [uid("nothing"), "aut_" + "0" * 32, "x" * (ID_LENGTH + 1), "", "with space"])
async def test_article_by_id_is_null_for_any_id_no_article_has(
    imported: AsyncEngine, client: httpx.AsyncClient, id_: str
) -> None:
    """Whatever the id, even one no column could hold (NUL: PostgreSQL text cannot), null and no error."""
    assert (await data(client, ARTICLE, {"id": id_}))["article"] is None


async def test_a_translation_names_its_original_by_id_when_the_slug_is_another_articles_id(
    engine: AsyncEngine, fresh: Fresh, tmp_path: Path
) -> None:
    """The import looks a `translationOf` up as an id first: a slug that is another article's id would
    name that one instead."""
    lines = [
        *ARCHIVE[:7],
        _article("budget-2024", "an-other-story"),
        _article(uid("budget"), "budget-2024"),
        _article(uid("budget-az"), "budget-2024", language="az", translationOf=uid("budget")),
    ]
    await import_paths(engine, [_write(tmp_path / "other.ndjson", lines)], actor="test", now=NOW)
    exported = await _round_trip(engine, fresh, tmp_path)
    assert _by_key(exported)["article", "budget-2024", "az"]["translationOf"] == uid("budget")


HEX = "0123456789abcdef" * 2
NEW_SOURCE: Line = {"type": "source", "id": uid("src-new"), "slug": "new", "name": "New", "kind": "OTHER"}
Spoil = Callable[[list[Line]], tuple[int, str]]
"""Spoils the import's lines; gives the index of the bad line and what its error says."""


def _give(message: str, **fields: Any) -> Spoil:
    """The last article gets `fields`."""

    def apply(lines: list[Line]) -> tuple[int, str]:
        lines[-1] = lines[-1] | fields
        return len(lines) - 1, message

    return apply


def _give_id(id_: str, message: str) -> Spoil:
    return _give(message, id=id_)


def _append(*added: Line, message: str) -> Spoil:
    """Lines after the archive's; the last is the bad one."""

    def apply(lines: list[Line]) -> tuple[int, str]:
        lines.extend(added)
        return len(lines) - 1, message

    return apply


def _author(id_: str | None, slug: str = "new-author") -> Line:
    return {"type": "author", "id": id_, "slug": slug, "name": "New Author"}


REFUSED: dict[str, Spoil] = {
    "empty": _give_id("", "id: an id cannot be empty"),
    "empty, an author's": _append(_author(""), message="id: an id cannot be empty"),
    "too long for the column": _give_id("a" * (ID_LENGTH + 1), f"an id is at most {ID_LENGTH} characters"),
    "a space": _give_id("a207d841 5b7e", "cannot hold whitespace or control characters: 'a207d841 5b7e'"),
    "a tab": _give_id("a207d841\t5b7e", "has '\\t'"),
    "a control character": _give_id("a207d841\x075b7e", "has '\\x07'"),
    "NUL": _give_id("a207d841\x00", "id holds a NUL character"),  # as any text of a line does
    "NUL, a category's": _append(_category("\x00", "new"), message="id holds a NUL character"),
    "NUL in the original's id": _give("translationOf holds a NUL character", translationOf="a\x00"),
    "an invisible character": _give_id("a207d841\u200b", "has '\\u200b'"),
    "our form of another type, an article's": _give_id(
        "aut_" + HEX, f"id: 'aut_{HEX}' is in the form of our Author ids: it cannot be an Article's"
    ),
    "our form of another type, an author's": _append(
        _author("art_" + HEX), message="is in the form of our Article ids: it cannot be an Author's"
    ),
    "an article's id in the database, for an author": _append(
        _author(uid("art-unesco")), message=f"id: {uid('art-unesco')!r} is already the id of an article"
    ),
    "a category's id in the database, for an article": _append(
        _article(uid("cat-culture"), "new-article"), message="is already the id of a category in the database"
    ),
    "a source's id earlier in the import, for an author": _append(
        NEW_SOURCE, _author(uid("src-new")), message="is already the id of a source at "
    ),
    "an article's id earlier in the import, for a category": _append(
        _article(uid("new"), "new-article"),
        _category(uid("new"), "new"),
        message="is already the id of an article at ",
    ),
    "an id that is another author's slug": _append(
        _author("fidan-abdullayeva", "someone-else"), message="is the slug of another author"
    ),
    "a slug that is another author's id": _append(
        _author(None, "42"), message="slug: '42' is the id of another author"
    ),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_an_id_that_cannot_be_kept_names_file_and_line_and_writes_nothing(
    imported: AsyncEngine, tmp_path: Path, case: str
) -> None:
    before, history = await _export(imported), await _history(imported)
    lines = [
        line | {"title": line["title"] + " (revised)"} if line["type"] == "article" else line
        for line in ARCHIVE
    ]
    bad, message = REFUSED[case](lines)  # every good article changes, so a partial write would show
    path = _write(tmp_path / "import.ndjson", lines)
    with pytest.raises(ContentFileError) as caught:
        await import_paths(imported, [path], actor="test", now=NOW)
    assert (caught.value.path, caught.value.line) == (path, bad + 1), caught.value
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}:{bad + 1}: ")
    assert (await _export(imported), await _history(imported)) == (before, history)


def test_only_an_id_of_our_exact_form_names_a_type() -> None:
    for typename in ("Article", "Author", "Category", "Source", "Webhook"):
        made = new_id(typename)
        assert (typename_of(made), is_own(made), id_problem(made, typename)) == (typename, True, None)
    for foreign in ("cat_food", uid("x"), "42", "art_" + HEX.upper(), "art_" + HEX[:-1], "art_" + HEX + "0"):
        assert (typename_of(foreign), is_own(foreign), id_problem(foreign, "Article")) == (None, False, None)
