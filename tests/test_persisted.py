"""Persisted documents' storage on SQLite and PostgreSQL: idempotent and race-safe stores, trust that only an
import gives, and manifests that are stored whole or not at all, with their CLI."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from cms.cli import app, document_errors
from cms.content import persisted
from cms.content.persisted import ManifestError, Stored
from cms.db import create_engine, snapshot
from tests.conftest import NOW, ROOT

EXAMPLES = sorted((ROOT / "schema" / "examples").glob("*.graphql"))
DOCUMENT = "query Probe { __typename }"
runner = CliRunner()


def _manifest(tmp_path: Path, entries: Any, name: str = "persisted-documents.json") -> Path:
    path = tmp_path / name
    path.write_text(entries if isinstance(entries, str) else json.dumps(entries), encoding="utf-8")
    return path


def _examples() -> dict[str, str]:
    """What graphql-codegen's client preset writes for the example pages: each document by its sha256."""
    return {persisted.digest(text): text for text in (p.read_text() for p in EXAMPLES)}


def test_digest_is_the_sha256_hex_of_the_utf8_text() -> None:
    assert persisted.digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert (
        persisted.digest('{ article(slug: "café") { id } }')
        == hashlib.sha256('{ article(slug: "café") { id } }'.encode()).hexdigest()
    )
    assert persisted.is_hash(persisted.digest(DOCUMENT))
    assert not persisted.is_hash(persisted.digest(DOCUMENT).upper())
    assert not persisted.is_hash("abc")


async def test_a_store_is_found_and_storing_again_changes_nothing(engine: AsyncEngine) -> None:
    key = persisted.digest(DOCUMENT)
    assert await persisted.find(engine, key) is None
    await persisted.store(engine, key, DOCUMENT, trusted=False, now=NOW)
    await persisted.store(engine, key, DOCUMENT, trusted=False, now=NOW + timedelta(hours=1))
    assert await persisted.find(engine, key) == Stored(DOCUMENT, False)
    assert await persisted.listed(engine) == [persisted.Listed(key, False, NOW, DOCUMENT)]


async def test_find_reads_in_a_snapshot_it_is_given(engine: AsyncEngine) -> None:
    key = persisted.digest(DOCUMENT)
    await persisted.store(engine, key, DOCUMENT, trusted=True, now=NOW)
    reads = await snapshot(engine)
    try:
        assert await persisted.find(reads.fetch, key) == Stored(DOCUMENT, True)
        assert await persisted.trusted_text(reads.fetch, DOCUMENT)
    finally:
        await reads.close()


async def test_a_malformed_hash_finds_nothing_and_a_wrong_one_is_not_stored(engine: AsyncEngine) -> None:
    assert await persisted.find(engine, "not-a-hash") is None
    with pytest.raises(ValueError, match="not the SHA-256"):
        await persisted.store(engine, persisted.digest("{ other }"), DOCUMENT, trusted=False, now=NOW)
    assert await persisted.listed(engine) == []


async def test_concurrent_stores_of_one_hash_all_succeed(engine: AsyncEngine, database_url: str) -> None:
    """As from several processes: an engine each, all inserting the same hash at once."""
    key = persisted.digest(DOCUMENT)
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        await asyncio.gather(
            *(
                persisted.store(e, key, DOCUMENT, trusted=trusted, now=NOW)
                for e in engines
                for trusted in (False, True, False)
            )
        )
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
    assert await persisted.listed(engine) == [persisted.Listed(key, True, NOW, DOCUMENT)]


async def test_only_a_trusted_store_gives_trust_and_none_takes_it_away(engine: AsyncEngine) -> None:
    key = persisted.digest(DOCUMENT)
    await persisted.store(engine, key, DOCUMENT, trusted=False, now=NOW)
    assert not await persisted.trusted_text(engine, DOCUMENT)
    await persisted.store(engine, key, DOCUMENT, trusted=True, now=NOW + timedelta(hours=1))
    await persisted.store(engine, key, DOCUMENT, trusted=False, now=NOW + timedelta(hours=2))
    assert await persisted.find(engine, key) == Stored(DOCUMENT, True)
    assert await persisted.trusted_text(engine, DOCUMENT)
    assert not await persisted.trusted_text(engine, DOCUMENT + " ")
    assert (await persisted.listed(engine))[0].created_at == NOW


async def test_a_manifest_of_the_example_pages_is_stored_trusted(engine: AsyncEngine, tmp_path: Path) -> None:
    entries = _examples()
    path = _manifest(tmp_path, entries)
    apq = next(iter(entries))
    await persisted.store(engine, apq, entries[apq], trusted=False, now=NOW)
    assert await persisted.import_manifest(engine, path, now=NOW, validate=document_errors) == len(EXAMPLES)
    assert await persisted.import_manifest(engine, path, now=NOW, validate=document_errors) == len(EXAMPLES)
    stored = await persisted.listed(engine)
    assert {(row.hash, row.document, row.trusted) for row in stored} == {
        (key, text, True) for key, text in entries.items()
    }
    for text in entries.values():
        assert await persisted.trusted_text(engine, text)


GOOD = _examples()
KEY = next(iter(GOOD))
BAD_MANIFESTS: dict[str, tuple[Any, str]] = {
    "not JSON": ('{"' + KEY + '": "query {', "not JSON"),
    "not an object": ([KEY, GOOD[KEY]], "not a manifest"),
    "a bad key": ({**GOOD, "sha256:abc": "{ __typename }"}, "'sha256:abc': the key is not a SHA-256"),
    "a hash that is not the document's": (
        {**GOOD, "0" * 64: "{ __typename }"},
        f"'{'0' * 64}': the key is not the document's SHA-256 ({persisted.digest('{ __typename }')})",
    ),
    "a document that is not a string": ({**GOOD, persisted.digest("1"): 1}, "the document is not a string"),
    "a document that does not parse": (
        {**GOOD, persisted.digest("query {"): "query {"},
        f"'{persisted.digest('query {')}': Syntax Error",
    ),
    "a document that does not validate": (
        {**GOOD, persisted.digest("{ nope }"): "{ nope }"},
        f"'{persisted.digest('{ nope }')}': Cannot query field 'nope' on type 'Query'.",
    ),
}


@pytest.mark.parametrize(("entries", "expected"), BAD_MANIFESTS.values(), ids=BAD_MANIFESTS.keys())
async def test_a_bad_manifest_writes_nothing_and_names_file_and_entry(
    engine: AsyncEngine, tmp_path: Path, entries: Any, expected: str
) -> None:
    path = _manifest(tmp_path, entries)
    with pytest.raises(ManifestError) as raised:
        await persisted.import_manifest(engine, path, now=NOW, validate=document_errors)
    assert raised.value.message.startswith(f"{path}: ")
    assert expected in raised.value.message
    assert await persisted.listed(engine) == []


async def _cli(database_url: str, *args: str) -> Result:
    """The CLI on the test's database (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(runner.invoke, app, list(args), env={"CMS_DATABASE_URL": database_url})


async def test_the_cli_imports_a_manifest_and_lists_what_is_stored(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    entries = _examples()
    path = _manifest(tmp_path, entries)
    apq = "query Mine { __typename }"
    await persisted.store(engine, persisted.digest(apq), apq, trusted=False, now=NOW)
    imported = await _cli(database_url, "documents", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert f"stored {len(EXAMPLES)} trusted documents from {path}" in imported.output
    listing = await _cli(database_url, "documents", "list")
    assert listing.exit_code == 0, listing.output
    header, *lines = listing.output.splitlines()
    assert header.split() == ["HASH", "KIND", "CREATED", "DOCUMENT"]
    assert f"{persisted.digest(apq)}  apq      2026-11-27 12:00  query Mine {{ __typename }}" in lines
    for key, text in entries.items():
        shown = text.splitlines()[0][:57]  # up to 60 characters of the first line
        assert any(line.startswith(f"{key}  trusted") and shown in line for line in lines)


async def test_the_cli_refuses_a_bad_manifest_naming_it(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    path = _manifest(tmp_path, {**_examples(), persisted.digest("{ nope }"): "{ nope }"}, name="bad.json")
    result = await _cli(database_url, "documents", "import", str(path))
    assert result.exit_code == 1
    assert f"error: {path}: entry '{persisted.digest('{ nope }')}': Cannot query field" in result.output
    missing = await _cli(database_url, "documents", "import", str(tmp_path / "missing.json"))
    assert missing.exit_code == 1
    assert f"error: {tmp_path / 'missing.json'}: cannot read it" in missing.output
    assert await persisted.listed(engine) == []
