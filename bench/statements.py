"""Print the SQL statements each example operation costs on the seeded database (`make run` makes it).

Usage: .venv/bin/python bench/statements.py [sqlite:///var/cms.db]
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cms.app import create_app  # noqa: E402
from cms.db import StatementCounter, create_engine  # noqa: E402
from cms.settings import Settings, async_database_url  # noqa: E402
from tests.test_statements import EVERYTHING  # noqa: E402


async def main(url: str) -> None:
    engine = create_engine(async_database_url(url))
    app = create_app(Settings(), engine=engine)
    counter = StatementCounter(engine).__enter__()
    examples = sorted((ROOT / "schema" / "examples").glob("*.graphql"))
    cases = [(p.stem, p.read_text(), json.loads(p.with_suffix(".json").read_text())) for p in examples]
    cases += [(f"every nested field, first: {n}", EVERYTHING, {"first": n}) for n in (5, 100)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        for name, query, variables in cases:
            counter.count = 0
            body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
            print(
                f"{name}: {counter.count} statements"
                + (f" (errors: {body['errors']})" if "errors" in body else "")
            )
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///var/cms.db"))
