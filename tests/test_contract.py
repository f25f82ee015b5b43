"""The served schema holds all of the contract, the SDL artifact is current, and the examples run."""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from graphql import build_schema, parse, validate
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from cms.graphql.schema import schema
from cms.migrate import modelled, upgrade
from tests.conftest import IN_CI, ROOT, data
from tests.schema_compat import contract_violations

CONTRACT = ROOT / "schema" / "contract.graphql"
SHARED_CONTRACT = ROOT.parent / "shared" / "design" / "contract.graphql"
EXAMPLES = sorted((ROOT / "schema" / "examples").glob("*.graphql"))
_ROUND_HEADER = re.compile(r"^# =+ added in the [\w -]+ round[ \t]*$", re.MULTILINE)
_BLANK_TAIL = re.compile(r"\n(?:[ \t]*\n)*\Z")  # the final newline, and the blank lines after it
_DESIGN = (  # a design of three rounds, for the test of the rule itself
    "type A { a: Int }\n\n"
    "# ==== added in the second round\n\ntype B { b: Int }\n\ntype C { c: Int }\n  \n\n"
    "# ==== added in the third round\ntype D { d: Int }\n"
)


def test_the_served_schema_contains_the_whole_contract() -> None:
    assert contract_violations(CONTRACT.read_text(), schema.as_str()) == []


def design_up_to_each_round(design: str) -> list[str]:
    """The whole design, and the design cut right before each round's header, the blank lines before it aside.

    Later rounds append a section under `# ===... added in the second round`; the project copies a round in
    when it takes the issue that builds it, so its copy is one of these, byte for byte.
    """
    cuts = [_BLANK_TAIL.sub("\n", design[: header.start()]) for header in _ROUND_HEADER.finditer(design)]
    return [*cuts, design]


def test_the_project_copy_of_the_contract_is_the_design() -> None:
    if not SHARED_CONTRACT.exists():
        assert not IN_CI, "CI runs beside shared/: the contract must be there to compare"
        pytest.skip("shared/ is not beside this checkout")
    copy, allowed = CONTRACT.read_text(), design_up_to_each_round(SHARED_CONTRACT.read_text())
    if copy not in allowed:
        nearest = min(allowed, key=lambda cut: abs(cut.count("\n") - copy.count("\n")))
        diff = difflib.unified_diff(
            nearest.splitlines(keepends=True), copy.splitlines(keepends=True), "design", "project copy"
        )
        pytest.fail("schema/contract.graphql is not the design up to a round boundary:\n" + "".join(diff))


@pytest.mark.parametrize(
    ("copy", "accepted"),
    [
        pytest.param("type A { a: Int }\n", True, id="first-round"),
        pytest.param(_DESIGN.split("# ==== added in the third")[0].rstrip() + "\n", True, id="second-round"),
        pytest.param(_DESIGN, True, id="whole-design"),
        pytest.param(_DESIGN.replace("\n\n# =", "\n\n\n# ="), False, id="whole-design-changed"),
        pytest.param("type A { a: Int }\n\n", False, id="blank-line-kept"),
        pytest.param("type A { a: Int }", False, id="newline-dropped"),
        pytest.param("type A { a: Int }\n\n# ==== added in the second round\n", False, id="header-alone"),
        pytest.param(_DESIGN.split("\ntype C")[0], False, id="cut-inside-a-round"),
        pytest.param("type A { a: Int b: Int }\n", False, id="first-round-edited"),
    ],
)
def test_the_copy_may_stop_only_at_a_round_boundary(copy: str, accepted: bool) -> None:
    assert (copy in design_up_to_each_round(_DESIGN)) is accepted


def test_the_schema_artifact_matches_the_served_schema() -> None:
    assert (ROOT / "schema" / "schema.graphql").read_text() == schema.as_str() + "\n", "run `cms schema`"


def test_there_are_the_three_example_pages() -> None:
    assert {p.stem for p in EXAMPLES} >= {"front_page", "article_page", "category_page"}


@pytest.mark.parametrize("document", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid_against_the_served_schema(document: Path) -> None:
    served = build_schema(schema.as_str())
    assert validate(served, parse(document.read_text())) == []


def test_the_examples_are_valid_read_together() -> None:
    """GraphiQL, graphql-codegen and graphql-inspector read the example files as one set of documents: no
    operation or fragment name may stand in two of them."""
    served = build_schema(schema.as_str())
    together = "\n".join(document.read_text() for document in EXAMPLES)
    assert validate(served, parse(together)) == []


def _example(document: Path) -> tuple[str, dict[str, Any]]:
    """An example page's query and the variables beside it."""
    return document.read_text(), json.loads(document.with_suffix(".json").read_text())


@pytest.mark.parametrize("document", EXAMPLES, ids=lambda p: p.stem)
async def test_examples_run_on_the_samples(
    seeded: AsyncEngine, client: httpx.AsyncClient, document: Path
) -> None:
    query, variables = _example(document)
    result = await data(client, query, variables)
    assert all(value is not None for value in result.values())


async def test_the_migrations_build_exactly_the_models(engine: AsyncEngine) -> None:
    """Models and migrations agree: autogenerate finds nothing to add, drop or change."""

    def differences(connection: Connection) -> list[Any]:
        options = {"include_name": modelled, "compare_type": True}
        return compare_metadata(MigrationContext.configure(connection, opts=options), SQLModel.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_migrating_leaves_the_planner_statistics_fresh(seeded: AsyncEngine) -> None:
    """A migration that rebuilds a table drops its statistics; `cms migrate` always ends with ANALYZE."""
    sqlite = seeded.dialect.name == "sqlite"
    forget = "DELETE FROM sqlite_stat1" if sqlite else "SELECT pg_stat_reset()"
    stats = (
        "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'article'"
        if sqlite
        else "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'article' AND last_analyze IS NOT NULL"
    )
    async with seeded.begin() as connection:
        await connection.exec_driver_sql(forget)
    async with seeded.connect() as connection:
        assert (await connection.exec_driver_sql(stats)).scalar_one() == 0
    await asyncio.to_thread(upgrade, seeded.url.render_as_string(hide_password=False))
    async with seeded.connect() as connection:
        assert (await connection.exec_driver_sql(stats)).scalar_one() > 0
