"""The GraphiQL playground, served from the package's own assets (no CDN), with our example operations."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

ASSETS = Path(__file__).parent / "static" / "graphiql"
ASSET_URL = "/graphiql/static"


def example_tabs(folder: Path) -> list[dict[str, str]]:
    """One tab per example operation in `folder` (name order), with its variables file when present."""
    tabs = []
    for document in sorted(folder.glob("*.graphql")) if folder.is_dir() else []:
        tab = {"query": document.read_text(encoding="utf-8")}
        variables = document.with_suffix(".json")
        if variables.exists():
            tab["variables"] = variables.read_text(encoding="utf-8")
        tabs.append(tab)
    return tabs


@cache
def page(endpoint: str, examples: Path) -> str:
    """The playground page; tabs are JSON inside a script block, with '<' escaped so it cannot close it."""
    tabs = json.dumps(example_tabs(examples)).replace("<", "\\u003c").replace(">", "\\u003e")
    template = (ASSETS / "index.html").read_text(encoding="utf-8")
    return (
        template.replace("__CMS_ASSET_BASE__", ASSET_URL)
        .replace("__CMS_ENDPOINT__", endpoint)
        .replace("__CMS_TABS_JSON__", tabs)
    )
