"""Who sees what, as a table: every read entry point x every article state x every role, zero leaks.

READER (no token) sees only PUBLISHED articles whose publishedAt has passed; PREVIEW and above see drafts,
articles in review, scheduled and archived ones too, on every path; emails and revisions are for editors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import data, error_codes, gql
from tests.test_article_mutations import create
from tests.test_visibility import EVERY_LIST, HIDDEN, SINGLE, _connections, _ids, _slugs

VISIBLE = "unesco-mission-nagorno-karabakh"
ROLES = {"reader": False, "preview": True, "editor": True}  # fixture -> sees what the public cannot
WORDS = {  # a word of each hidden article's title, for search
    "greater-caucasus-glacier-monitoring": "glacier",
    "municipal-budgets-online-pilot": "budgets",
    "danube-flood-warning-network": "danube",
    "baku-trade-fair-small-exporters": "exporters",
}
Probe = Callable[[httpx.AsyncClient, AsyncEngine, httpx.AsyncClient], Awaitable[set[str]]]


async def lists(http: httpx.AsyncClient, engine: AsyncEngine, editor: httpx.AsyncClient) -> set[str]:
    """Root and nested lists; every totalCount counts exactly what its list shows."""
    result = await data(http, EVERY_LIST, {"status": None})
    assert all(total == shown for total, shown in _connections(result))
    return _slugs(result)


async def status_filter(http: httpx.AsyncClient, engine: AsyncEngine, editor: httpx.AsyncClient) -> set[str]:
    statuses = "[DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED]"
    query = f"{{ articles(filter: {{status: {statuses}}}, first: 100) {{ nodes {{ slug }} }} }}"
    return _slugs(await data(http, query))


async def single(http: httpx.AsyncClient, engine: AsyncEngine, editor: httpx.AsyncClient) -> set[str]:
    """By id, by slug and through node: all three agree, for every article."""
    found = set()
    for slug, article_id in (await _ids(engine)).items():
        result = await data(http, SINGLE, {"id": article_id, "slug": slug})
        seen = [result["byId"] is not None, result["bySlug"] is not None, result["node"] is not None]
        assert len(set(seen)) == 1, (slug, result)
        if seen[0]:
            found.add(slug)
    return found


async def search(http: httpx.AsyncClient, engine: AsyncEngine, editor: httpx.AsyncClient) -> set[str]:
    found = set()
    for word in [*WORDS.values(), "unesco"]:
        query = "query ($q: String!) { articles(filter: {search: $q}) { totalCount nodes { slug } } }"
        result = (await data(http, query, {"q": word}))["articles"]
        assert result["totalCount"] == len(result["nodes"])
        found |= _slugs(result)
    return found


async def feed(http: httpx.AsyncClient, engine: AsyncEngine, editor: httpx.AsyncClient) -> set[str]:
    query = "{ changes(first: 1000) { events { action node { ... on Article { slug language } } } } }"
    events = (await data(http, query))["changes"]["events"]
    return {e["node"]["slug"] for e in events if e["node"] and e["node"].get("language") == "en"}


async def translations(http: httpx.AsyncClient, engine: AsyncEngine, editor: httpx.AsyncClient) -> set[str]:
    """A DRAFT translation of a visible article shows among its translations only to PREVIEW and above."""
    original = (await _ids(engine))[VISIBLE]
    draft = await create(editor, title="Черновик перевода", language="ru", translationOf=original)
    query = "query ($slug: String!) { article(slug: $slug) { translations { slug language } } }"
    shown = (await data(http, query, {"slug": VISIBLE}))["article"]["translations"]
    return {VISIBLE} | (
        {"draft translation"} if {"slug": draft["slug"], "language": "ru"} in shown else set()
    )


PROBES: dict[str, tuple[Probe, set[str]]] = {  # entry point -> what the public must not see through it
    "lists, nested lists and totals": (lists, set(HIDDEN)),
    "status filter": (status_filter, set(HIDDEN)),
    "by id, slug and node": (single, set(HIDDEN)),
    "search": (search, set(HIDDEN)),
    "change feed": (feed, set(HIDDEN)),
    "translations": (translations, {"draft translation"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", PROBES)
async def test_each_role_sees_exactly_its_articles_on_each_entry_point(
    seeded: AsyncEngine,
    client: httpx.AsyncClient,
    preview: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    role: str,
    entry: str,
) -> None:
    http = {"reader": client, "preview": preview, "editor": editor}[role]
    probe, hidden = PROBES[entry]
    seen = await probe(http, seeded, editor)
    assert VISIBLE in seen
    assert seen & hidden == (hidden if ROLES[role] else set()), (role, entry)


@pytest.mark.parametrize("role", ROLES)
async def test_emails_and_revisions_are_for_editors(
    seeded: AsyncEngine,
    client: httpx.AsyncClient,
    preview: httpx.AsyncClient,
    editor: httpx.AsyncClient,
    role: str,
) -> None:
    http = {"reader": client, "preview": preview, "editor": editor}[role]
    made = """mutation { createAuthor(input: {name: "Mail Holder", email: "holder@news.example"}) {
      author { slug } userErrors { code } } }"""
    slug = (await data(editor, made))["createAuthor"]["author"]["slug"]
    email = (await data(http, "query ($s: String!) { author(slug: $s) { email } }", {"s": slug}))["author"]
    revisions = await gql(http, f'{{ article(slug: "{VISIBLE}") {{ revisions {{ totalCount }} }} }}')
    if role == "editor":
        assert email == {"email": "holder@news.example"}
        assert revisions["data"]["article"]["revisions"]["totalCount"] >= 1
    else:
        assert email == {"email": None}
        assert error_codes(revisions) == ["FORBIDDEN"]
