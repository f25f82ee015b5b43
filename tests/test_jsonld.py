"""Article.jsonLd on SQLite and PostgreSQL: the seed article's NewsArticle names its author, what it is based
on and what it cites, a JSON-LD processor (PyLD) expands it without dropping a value, and both engines
build the same bytes from the site's settings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
from pyld import jsonld
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content.roles import Role, Viewer
from cms.graphql.context import Context
from cms.graphql.documents import prepare
from cms.graphql.plan.planner import Planner
from cms.graphql.schema import schema
from cms.settings import Settings
from tests.conftest import NOW, checked_app, data
from tests.test_corrections import SEED, add, seed_id

SCHEMA_ORG = "https://schema.org"
VOCABULARY = "http://schema.org/"
CONTEXT = {"@context": {"@vocab": VOCABULARY, "url": {"@id": "url", "@type": "@id"}}}
"""What schema.org's context says of the terms the document uses (every term is its vocabulary's; a `url`
names a resource), served locally: tests fetch nothing."""
QUERY = "query ($slug: String!) { article(slug: $slug) { id slug language jsonLd } }"
SITE = Settings(
    article_url="https://news.example/{language}/{slug}",
    publisher_name="Caspian Herald",
    publisher_logo_url="https://news.example/logo.png",
)


def _loader(url: str) -> dict[str, Any]:
    assert url.rstrip("/") == SCHEMA_ORG, url
    return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}


def expanded(document: dict[str, Any]) -> dict[str, Any]:
    (node,) = jsonld.expand(document, {"documentLoader": _loader})
    found: dict[str, Any] = node
    return found


def _compact_values(value: Any) -> Iterator[str]:
    """Every scalar of a compact document (its @context aside), types included, as text."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "@context":
                yield from _compact_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _compact_values(item)
    else:
        yield str(value)


def _expanded_values(value: Any) -> Iterator[str]:
    """Every value of an expanded document: literals, resources and types, in the vocabulary's short names."""
    if isinstance(value, list):
        for item in value:
            yield from _expanded_values(item)
    elif isinstance(value, dict):
        if "@value" in value:
            yield str(value["@value"])
            return
        for key, item in value.items():
            if key == "@type":
                yield from (type_.removeprefix(VOCABULARY) for type_ in item)
            elif key == "@id":
                yield item
            else:
                assert key.startswith(VOCABULARY), key  # every term is the vocabulary's
                yield from _expanded_values(item)


def assert_expands_without_loss(text: str) -> dict[str, Any]:
    document = orjson.loads(text)
    node = expanded(document)
    assert Counter(_expanded_values(node)) == Counter(_compact_values(document))
    return node


def values(node: dict[str, Any], *path: str) -> list[Any]:
    """The values at a path of vocabulary terms in an expanded node."""
    found: list[Any] = [node]
    for term in path:
        found = [value for item in found for value in item.get(VOCABULARY + term, [])]
    return [item.get("@value", item.get("@id", item)) for item in found]


async def test_the_seed_article_names_its_author_wire_and_reference(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    article = (await data(client, QUERY, {"slug": SEED}))["article"]
    node = assert_expands_without_loss(article["jsonLd"])
    assert node["@type"] == [VOCABULARY + "NewsArticle"]
    assert values(node, "author", "name") == ["Fidan Abdullayeva"]
    assert values(node, "isBasedOn", "publisher", "name") == ["Trend"]
    assert values(node, "isBasedOn", "url") == ["https://en.trend.az"]
    assert values(node, "citation", "publisher", "name") == ["UNESCO"]
    assert values(node, "citation", "url") == ["https://www.unesco.org"]
    document = orjson.loads(article["jsonLd"])
    assert document["headline"] == "UNESCO Director General proposes sending mission to Nagorno Karabakh"
    assert document["datePublished"] == "2020-11-18T09:30:00+00:00"
    assert (document["inLanguage"], document["articleSection"]) == ("en", "Culture")
    assert document["keywords"] == ["unesco", "heritage", "culture"]
    assert document["publisher"] == {"@type": "Organization", "name": "Newsroom"}
    assert "url" not in document  # no CMS_ARTICLE_URL
    assert list(document)[:2] == ["@context", "@type"]


async def test_corrections_are_correction_comments(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    id_ = await seed_id(editor)
    assert (await add(editor, id_, "The mission was *proposed*."))["userErrors"] == []
    article = (await data(client, QUERY, {"slug": SEED}))["article"]
    node = assert_expands_without_loss(article["jsonLd"])
    (comment,) = node[VOCABULARY + "correction"]
    assert comment["@type"] == [VOCABULARY + "CorrectionComment"]
    assert values(comment, "text") == ["The mission was proposed."]
    assert values(comment, "datePublished") == [NOW.isoformat()]
    assert orjson.loads(article["jsonLd"])["dateModified"] == NOW.isoformat()


async def answered(engine: AsyncEngine, settings: Settings, query: str, variables: dict[str, Any]) -> Any:
    """Strawberry's answer and the planner's, each with the app's settings in its context."""

    def context(name: str) -> Context:
        return Context(engine=engine, viewer=Viewer(Role.READER), now=NOW, request_id=name, settings=settings)

    reference = context("strawberry")
    try:
        expected = await schema.execute(query, variable_values=variables, context_value=reference)
    finally:
        await reference.close()
    assert not expected.errors, expected.errors
    planned = context("planner")
    try:
        got = await Planner(schema).run(prepare(schema._schema, query), None, variables, planned)
    finally:
        await planned.close()
    assert got is not None
    assert got.data == expected.data
    return expected.data


async def test_the_site_settings_give_its_url_and_publisher(seeded: AsyncEngine) -> None:
    article = (await answered(seeded, SITE, QUERY.replace("jsonLd", "url jsonLd"), {"slug": SEED}))["article"]
    url = f"https://news.example/en/{SEED}"
    assert article["url"] == url
    document = orjson.loads(article["jsonLd"])
    assert document["url"] == url
    assert document["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}
    assert document["publisher"] == {
        "@type": "Organization",
        "name": "Caspian Herald",
        "logo": {"@type": "ImageObject", "url": "https://news.example/logo.png"},
    }
    node = assert_expands_without_loss(article["jsonLd"])
    assert values(node, "mainEntityOfPage") == [url]


async def test_every_visible_article_expands_alike_in_both_engines(seeded: AsyncEngine) -> None:
    query = "{ articles(first: 100) { nodes { url jsonLd translations { url jsonLd } } } }"
    found = await answered(seeded, SITE, query, {})
    nodes = found["articles"]["nodes"]
    assert len(nodes) > 5
    for node in [*nodes, *(t for n in nodes for t in n["translations"])]:
        assert_expands_without_loss(node["jsonLd"])
        assert orjson.loads(node["jsonLd"])["url"] == node["url"]


async def test_the_app_answers_with_its_own_settings(seeded: AsyncEngine, clock: FixedClock) -> None:
    async with checked_app(seeded, clock, article_url=SITE.article_url) as http:
        article = (await data(http, "query ($s: String!) { article(slug: $s) { url } }", {"s": SEED}))[
            "article"
        ]
    assert article["url"] == f"https://news.example/en/{SEED}"
