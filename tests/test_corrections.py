"""Corrections through the real app on SQLite and PostgreSQL: each one a new version of its article (a
revision, a change event, webhook deliveries), public exactly when the article is, oldest first, refused
whole on bad input; kept through edits, restores and export -> import -> export."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content.corrections import LONGEST
from cms.content.roles import Role
from cms.db import StatementCounter
from cms.files.importer import import_paths
from cms.models import ArticleCorrection, ChangeEvent, Revision, table_of
from tests import test_import_export
from tests.conftest import NOW, checked_app, data, error_codes, gql
from tests.test_article_mutations import PUBLISH, RESTORE, UNPUBLISH, UPDATE, create
from tests.test_changes import feed
from tests.test_import_export import Fresh, _edit, _export, _history, _round_trip
from tests.test_tags import as_role
from tests.test_webhooks import Queued, create_webhook

fresh = test_import_export.fresh
SEED = "unesco-mission-nagorno-karabakh"
LOG = "corrections { kind text createdAt markdown: text(format: MARKDOWN) plain: text(format: TEXT) }"
ADD = f"""mutation ($id: ID!, $kind: CorrectionKind!, $text: String!, $v: Int) {{
  addArticleCorrection(id: $id, input: {{kind: $kind, text: $text}}, expectedVersion: $v) {{
    article {{ id version {LOG} }} userErrors {{ field code message }} }} }}"""
BY_ID = f"query ($id: ID!) {{ article(id: $id) {{ version {LOG} }} }}"
THROUGH_EVERY_PATH = f"""query ($id: ID!) {{
  article(id: $id) {{ {LOG} }}
  node(id: $id) {{ ... on Article {{ {LOG} }} }}
  articles(first: 100) {{ nodes {{ id {LOG} }} }}
  tag(slug: "unesco") {{ articles {{ nodes {{ id {LOG} }} }} }}
}}"""


async def add(
    http: httpx.AsyncClient, id_: str, text: str, kind: str = "CORRECTION", version: int | None = None
) -> dict[str, Any]:
    variables = {"id": id_, "kind": kind, "text": text, "v": version}
    payload: dict[str, Any] = (await data(http, ADD, variables))["addArticleCorrection"]
    return payload


async def seed_id(http: httpx.AsyncClient) -> str:
    found = await data(http, "query ($s: String!) { article(slug: $s) { id } }", {"s": SEED})
    return str(found["article"]["id"])


async def written(engine: AsyncEngine) -> tuple[int, int, int]:
    """Corrections, revisions and change events in the database."""
    async with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            [
                (await connection.execute(select(func.count()).select_from(table_of(model)))).scalar_one()
                for model in (ArticleCorrection, Revision, ChangeEvent)
            ]
        )


async def test_a_correction_is_a_new_version_with_its_revision_event_and_webhooks(
    seeded: AsyncEngine, clock: FixedClock, admin: httpx.AsyncClient, editor: httpx.AsyncClient
) -> None:
    queued = Queued(seeded, (await create_webhook(admin, "https://example.com/all"))[0])
    id_ = await seed_id(editor)
    version = (await data(editor, BY_ID, {"id": id_}))["article"]["version"]
    before = await feed(editor)
    payload = await add(editor, id_, "The mission was *proposed*, not agreed.", version=version)
    assert payload["userErrors"] == []
    article = payload["article"]
    assert article["version"] == version + 1
    assert article["corrections"] == [
        {
            "kind": "CORRECTION",
            "text": "<p>The mission was <em>proposed</em>, not agreed.</p>\n",
            "createdAt": NOW.isoformat(),
            "markdown": "The mission was *proposed*, not agreed.",
            "plain": "The mission was proposed, not agreed.",
        }
    ]
    assert await queued.new() == [("ARTICLE_UPDATED", "Article", id_), ("CONTENT_CHANGED", "Article", id_)]
    (event,) = (await feed(editor, before["cursor"]))["events"]
    assert (event["action"], event["id"]) == ("UPSERT", id_)
    async with checked_app(seeded, clock) as public:  # the seed article is public: so is its event
        assert (await feed(public))["events"][-1]["id"] == id_
    revisions = (
        """query ($id: ID!) { article(id: $id) { revisions(first: 1) { nodes { version snapshot } } } }"""
    )
    (revision,) = (await data(editor, revisions, {"id": id_}))["article"]["revisions"]["nodes"]
    assert revision["version"] == version + 1
    assert orjson.loads(revision["snapshot"])["corrections"] == [
        {
            "kind": "CORRECTION",
            "text": "The mission was *proposed*, not agreed.",
            "createdAt": NOW.isoformat(),
        }
    ]


async def test_the_log_is_oldest_first_and_kept_through_edits_and_restores(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient
) -> None:
    id_ = await seed_id(editor)
    kinds = ["CORRECTION", "CLARIFICATION", "UPDATE", "EDITORS_NOTE"]
    for hours, kind in enumerate(kinds):
        clock.set(NOW + timedelta(hours=hours))
        assert (await add(editor, id_, f"Note {hours}.", kind))["userErrors"] == []
    edited = await data(editor, UPDATE, {"id": id_, "input": {"title": "A new headline"}})
    assert edited["updateArticle"]["userErrors"] == []
    restored = await data(editor, RESTORE, {"id": id_, "v": 1})  # the log is no content to roll back
    assert restored["restoreArticleRevision"]["userErrors"] == []
    log = (await data(editor, BY_ID, {"id": id_}))["article"]["corrections"]
    assert [(c["kind"], c["markdown"]) for c in log] == [(k, f"Note {n}.") for n, k in enumerate(kinds)]
    assert [c["createdAt"] for c in log] == [(NOW + timedelta(hours=n)).isoformat() for n in range(4)]


@pytest.mark.parametrize("role", list(Role))
async def test_corrections_are_public_only_with_their_article(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, role: Role
) -> None:
    """A draft's corrections reach no reader below PREVIEW by any path: the article, node, lists, a tag's
    articles, the change feed; once it is published, they reach everyone."""
    draft = await create(editor, title="A draft with a correction", tags=["unesco"])
    assert (await add(editor, draft["id"], "Not yet public."))["userErrors"] == []
    previews = role.at_least(Role.PREVIEW)
    async with as_role(seeded, clock, role) as http:
        before = await feed(http)
        seen = await data(http, THROUGH_EVERY_PATH, {"id": draft["id"]})
        listed = [n for n in seen["articles"]["nodes"] if n["id"] == draft["id"]]
        tagged = [n for n in seen["tag"]["articles"]["nodes"] if n["id"] == draft["id"]]
        if previews:
            assert seen["article"]["corrections"][0]["markdown"] == "Not yet public."
            assert seen["node"] == seen["article"]
            assert len(listed) == len(tagged) == 1
        else:
            assert (seen["article"], seen["node"], listed, tagged) == (None, None, [], [])
            assert draft["id"] not in {event["id"] for event in before["events"]}
            assert "Not yet public" not in orjson.dumps(seen).decode()
        assert (await data(editor, PUBLISH, {"id": draft["id"]}))["publishArticle"]["userErrors"] == []
        seen = await data(http, THROUGH_EVERY_PATH, {"id": draft["id"]})
        assert seen["article"]["corrections"][0]["markdown"] == "Not yet public."
        assert seen["node"] == seen["article"]
        events = (await feed(http, before["cursor"]))["events"]
        assert (events[-1]["id"], events[-1]["action"]) == (draft["id"], "UPSERT")
        assert (await data(editor, UNPUBLISH, {"id": draft["id"]}))["unpublishArticle"]["userErrors"] == []
        seen = await data(http, THROUGH_EVERY_PATH, {"id": draft["id"]})
        assert (seen["article"] is not None) == previews


@pytest.mark.parametrize("role", [Role.READER, Role.PREVIEW])
async def test_only_editors_and_admins_add_corrections(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, admin: httpx.AsyncClient, role: Role
) -> None:
    id_ = await seed_id(editor)
    counts = await written(seeded)
    async with as_role(seeded, clock, role) as http:
        body = await gql(http, ADD, {"id": id_, "kind": "CORRECTION", "text": "Mine."})
    assert error_codes(body) == ["UNAUTHENTICATED" if role is Role.READER else "FORBIDDEN"]
    assert await written(seeded) == counts
    assert (await add(admin, id_, "An admin's."))["userErrors"] == []


BAD = [
    ("", ["input", "text"], "REQUIRED"),
    ("  \n ", ["input", "text"], "REQUIRED"),
    ("x" * (LONGEST + 1), ["input", "text"], "TOO_LONG"),
]


@pytest.mark.parametrize(("text", "field", "code"), BAD, ids=["empty", "blank", "too-long"])
async def test_bad_input_is_a_user_error_and_writes_nothing(
    seeded: AsyncEngine, editor: httpx.AsyncClient, text: str, field: list[str], code: str
) -> None:
    id_ = await seed_id(editor)
    counts = await written(seeded)
    payload = await add(editor, id_, text)
    assert payload["article"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert await written(seeded) == counts


async def test_unknown_articles_kinds_and_versions_are_refused(
    seeded: AsyncEngine, editor: httpx.AsyncClient
) -> None:
    id_ = await seed_id(editor)
    counts = await written(seeded)
    version = (await data(editor, BY_ID, {"id": id_}))["article"]["version"]
    stale = await add(editor, id_, "Late.", version=version - 1)
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [
        (["expectedVersion"], "VERSION_CONFLICT")
    ]
    missing = await add(editor, "art_" + "0" * 32, "Nowhere.")
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [(["id"], "NOT_FOUND")]
    unknown = await gql(editor, ADD, {"id": id_, "kind": "RETRACTION", "text": "No such kind."})
    assert error_codes(unknown) == ["BAD_USER_INPUT"]
    nul = await gql(editor, ADD, {"id": id_, "kind": "UPDATE", "text": "a\x00b"})  # refused as it is read
    assert error_codes(nul) == ["BAD_USER_INPUT"]
    assert await written(seeded) == counts


LEVEL = f"query ($n: Int!) {{ articles(first: $n) {{ nodes {{ {LOG} jsonLd }} }} }}"


STATEMENTS = {"on": 7, "off": 6}
"""LEVEL's (kept answers off): the content version (with the category tree's token), the page, the
corrections; jsonLd's bylines, sources, tags and corrections (Strawberry's loader for these is the
corrections field's)."""


@pytest.mark.parametrize("planner", ["on", "off"])
async def test_the_log_costs_one_statement_a_level_whatever_its_size(
    seeded: AsyncEngine, clock: FixedClock, editor: httpx.AsyncClient, planner: str
) -> None:
    listed = await data(editor, "{ articles(first: 100) { nodes { id } } }")
    for node in listed["articles"]["nodes"]:
        for n in range(3):
            assert (await add(editor, node["id"], f"Note {n}."))["userErrors"] == []
    counts = {}
    for n in (2, 10):
        async with checked_app(seeded, clock, planner=planner, response_cache_mib=0) as http:
            await data(http, LEVEL, {"n": n})  # as a running server: the category tree is kept
            with StatementCounter(seeded) as counter:
                result = await data(http, LEVEL, {"n": n})
        assert len(result["articles"]["nodes"]) == n
        assert all(len(node["corrections"]) == 3 for node in result["articles"]["nodes"])
        counts[n] = counter.count
    assert counts[10] == counts[2] == STATEMENTS[planner], counts


async def test_export_import_export_keeps_the_log_byte_for_byte(
    seeded: AsyncEngine, editor: httpx.AsyncClient, fresh: Fresh, tmp_path: Path
) -> None:
    id_ = await seed_id(editor)
    for text in ("First *fix*.", "Second — with ünïcode."):
        assert (await add(editor, id_, text))["userErrors"] == []
    exported = await _round_trip(seeded, fresh, tmp_path)
    lines = [orjson.loads(line) for line in exported.splitlines()]
    (corrected,) = [line for line in lines if "corrections" in line]  # only where there are some
    assert corrected["corrections"] == [
        {"kind": "CORRECTION", "text": "First *fix*.", "createdAt": NOW.isoformat()},
        {"kind": "CORRECTION", "text": "Second — with ünïcode.", "createdAt": NOW.isoformat()},
    ]
    assert list(corrected)[-1] == "corrections"


async def test_importing_the_same_log_again_writes_nothing(
    seeded: AsyncEngine, editor: httpx.AsyncClient, tmp_path: Path
) -> None:
    id_ = await seed_id(editor)
    assert (await add(editor, id_, "Once."))["userErrors"] == []
    path = tmp_path / "export.ndjson"
    path.write_bytes(await _export(seeded))
    history = await _history(seeded)
    await import_paths(seeded, [path], actor="test", now=NOW + timedelta(days=1))
    assert await _history(seeded) == history


MADE = NOW.isoformat()
BAD_LOGS = {
    "unknown kind": (
        _edit(corrections=[{"kind": "RETRACTION", "text": "x", "createdAt": MADE}]),
        "unknown kind",
    ),
    "empty text": (_edit(corrections=[{"kind": "UPDATE", "text": " ", "createdAt": MADE}]), "needs its text"),
    "too long": (
        _edit(corrections=[{"kind": "UPDATE", "text": "x" * (LONGEST + 1), "createdAt": MADE}]),
        "at most 5,000 characters",
    ),
    "no date": (_edit(corrections=[{"kind": "UPDATE", "text": "x"}]), "kind, text and createdAt"),
    "bad date": (
        _edit(corrections=[{"kind": "UPDATE", "text": "x", "createdAt": "soon"}]),
        "not an ISO 8601",
    ),
    "not a list": (_edit(corrections="fixed"), "must be a list"),
}


@pytest.mark.parametrize("case", BAD_LOGS)
async def test_a_bad_log_in_a_file_names_its_line_and_writes_nothing(
    seeded: AsyncEngine, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's rule for any bad record (tests/test_import_export.py), for a bad log."""
    monkeypatch.setitem(test_import_export.BAD_RECORDS, case, BAD_LOGS[case])
    await test_import_export.test_one_bad_record_names_file_and_line_and_writes_nothing(
        seeded, tmp_path, case
    )


async def test_front_matter_gives_a_log_too(
    engine: AsyncEngine, editor: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "story.md").write_text(
        "---\ntitle: A corrected story\nstatus: PUBLISHED\npublishedAt: 2026-11-20T09:00:00Z\n"
        "corrections:\n  - {kind: CLARIFICATION, text: Said **more** clearly.,"
        " createdAt: 2026-11-21T10:00:00Z}\n"
        "---\nThe body.\n"
    )
    await import_paths(engine, [tmp_path], actor="test", now=NOW)
    found = await data(editor, f'{{ article(slug: "a-corrected-story") {{ {LOG} }} }}')
    assert found["article"]["corrections"] == [
        {
            "kind": "CLARIFICATION",
            "text": "<p>Said <strong>more</strong> clearly.</p>\n",
            "createdAt": "2026-11-21T10:00:00+00:00",
            "markdown": "Said **more** clearly.",
            "plain": "Said more clearly.",
        }
    ]
