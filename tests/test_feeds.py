"""Feeds and sitemaps (issue 16) through the real app, on SQLite and PostgreSQL: RSS 2.0 read back by
feedparser, JSON Feed 1.1 held to its specification's fields, sitemaps validated by lxml against the
sitemaps.org and Google News schemas; exactly the articles the public sees, on the app's clock; the caching
rules of every public answer; constant statements whatever the archive's size."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from lxml import etree
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content import keys
from cms.content.urls import article_url, checked
from cms.db import StatementCounter
from cms.feeds.sitemaps import news_language
from cms.models import UTCDateTime
from cms.settings import Settings
from tests.conftest import NOW, checked_app, data
from tests.test_article_mutations import PUBLISH, UNPUBLISH, create

TEMPLATE = "https://news.example/{language}/{slug}"
SITE = "https://news.example"
SCHEMAS = Path(__file__).parent / "data" / "sitemaps"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
VISIBLE = """{ articles(first: 100) { nodes { id slug language title publishedAt updatedAt firstPublishedAt
  authors { name } } } }"""
IN_CATEGORY = """query ($slug: String!) { articles(first: 100, filter: {category: $slug}) {
  nodes { id slug language } } }"""
HIDDEN_SEEDS = {  # archived, in review, a draft, scheduled for 2099
    "baku-trade-fair-small-exporters",
    "municipal-budgets-online-pilot",
    "greater-caucasus-glacier-monitoring",
    "danube-flood-warning-network",
}
ROUTES = (
    "/feeds/articles.xml",
    "/feeds/articles.json",
    "/feeds/categories/azerbaijan.xml",
    "/feeds/categories/azerbaijan.json",
    "/sitemap.xml",
    "/sitemaps/articles-1.xml",
    "/sitemaps/news.xml",
)


@pytest.fixture
async def site(seeded: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    async with checked_app(seeded, clock, article_url=TEMPLATE, publisher_name="Baku Observer") as http:
        yield http


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def _valid(body: bytes, schema: str) -> Any:
    document = etree.fromstring(body)
    validator = _schema(schema)
    assert validator.validate(document), validator.error_log
    return document


def _url(node: dict[str, Any]) -> str:
    return article_url(TEMPLATE, id=node["id"], slug=node["slug"], language=node["language"])


async def _visible(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """What the public API lists, newest first: the feeds' oracle."""
    nodes: list[dict[str, Any]] = (await data(http, VISIBLE))["articles"]["nodes"]
    return nodes


def _rss_links(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.link for entry in parsed.entries]


def _json_links(response: httpx.Response) -> list[str]:
    return [item["url"] for item in response.json()["items"]]


def _sitemap_locs(body: bytes) -> list[str]:
    return [loc.text for loc in etree.fromstring(body).iter(f"{SITEMAP}loc")]


def _ages(response: httpx.Response) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", response.headers["cache-control"])}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_rss_lists_exactly_the_visible_articles_newest_first(site: httpx.AsyncClient) -> None:
    visible = await _visible(site)
    response = await site.get("/feeds/articles.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Baku Observer"
    assert parsed.feed.link == f"{SITE}/"
    assert [entry.link for entry in parsed.entries] == [_url(node) for node in visible]
    assert not HIDDEN_SEEDS & {entry.link.rsplit("/", 1)[1] for entry in parsed.entries}
    for entry, node in zip(parsed.entries, visible, strict=True):
        assert entry.title == node["title"]
        assert entry.id == node["id"]
        assert entry.guidislink is False
        assert parsedate_to_datetime(entry.published) == _when(node["publishedAt"])
        assert [author["name"] for author in entry.get("authors", [])] == [a["name"] for a in node["authors"]]
        assert entry.summary
        assert entry.content[0].value
    assert parsed.feed.updated_parsed is not None


async def test_json_feed_follows_version_1_1(site: httpx.AsyncClient) -> None:
    visible = await _visible(site)
    response = await site.get("/feeds/articles.json")
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Baku Observer"
    assert feed["home_page_url"] == f"{SITE}/"
    assert feed["feed_url"] == f"{SITE}/feeds/articles.json"
    assert "language" not in feed  # every language: 1.1's feed-level language would claim one
    assert [item["url"] for item in feed["items"]] == [_url(node) for node in visible]
    for item, node in zip(feed["items"], visible, strict=True):
        assert set(item) <= {
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "image",
            "banner_image",
            "date_published",
            "date_modified",
            "authors",
            "tags",
            "language",
            "attachments",
        }
        assert item["id"] == node["id"]  # a string
        assert item["content_html"]  # content_html or content_text: one is required
        assert _when(item["date_published"]) == _when(node["publishedAt"])  # RFC 3339
        assert _when(item["date_modified"]) == _when(node["updatedAt"])
        assert item["language"] == node["language"]
        assert [a["name"] for a in item.get("authors", [])] == [a["name"] for a in node["authors"]]
        assert all(isinstance(tag, str) for tag in item.get("tags", []))


async def test_a_language_is_compared_case_insensitively(site: httpx.AsyncClient) -> None:
    visible = await _visible(site)
    azerbaijani = [_url(node) for node in visible if node["language"] == "az"]
    assert azerbaijani
    answers = [await site.get("/feeds/articles.json", params={"language": tag}) for tag in ("az", "AZ", "Az")]
    assert all(_json_links(answer) == azerbaijani for answer in answers)
    assert len({answer.headers["etag"] for answer in answers}) == 1
    assert answers[1].json()["language"] == "az"
    assert answers[1].json()["feed_url"] == f"{SITE}/feeds/articles.json?language=az"
    rss = await site.get("/feeds/articles.xml", params={"language": "AZ"})
    assert _rss_links(rss.content) == azerbaijani
    assert feedparser.parse(rss.content).feed.language == "az"
    assert _json_links(await site.get("/feeds/articles.json", params={"language": "tlh"})) == []


@pytest.mark.parametrize("language", ["", "en_GB", "a" * 36, "en\x00", "<az>"])
async def test_a_language_that_is_no_tag_is_a_400(site: httpx.AsyncClient, language: str) -> None:
    response = await site.get("/feeds/articles.xml", params={"language": language})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_category_feed_holds_its_descendants(site: httpx.AsyncClient) -> None:
    nodes = (await data(site, IN_CATEGORY, {"slug": "azerbaijan"}))["articles"]["nodes"]
    expected = [_url(node) for node in nodes]
    assert len(expected) >= 4  # the seeds' Azerbaijan/Culture stories, none filed under the root itself
    xml = await site.get("/feeds/categories/azerbaijan.xml")
    assert _rss_links(xml.content) == expected
    assert feedparser.parse(xml.content).feed.title == "Baku Observer: Azerbaijan"
    json = await site.get("/feeds/categories/azerbaijan.json")
    assert _json_links(json) == expected
    assert all(item["tags"] in (["Culture"], ["Politics"]) for item in json.json()["items"])
    az = await site.get("/feeds/categories/azerbaijan.json", params={"language": "AZ"})
    assert _json_links(az) == [url for url in expected if "/az/" in url]
    missing = await site.get("/feeds/categories/atlantis.xml")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"


async def test_sitemaps_validate_and_list_every_visible_article_with_lastmod(
    site: httpx.AsyncClient, clock: FixedClock, editor: httpx.AsyncClient
) -> None:
    fresh = await create(editor, title="Fresh from the newsroom", language="en-GB")
    await data(editor, PUBLISH, {"id": fresh["id"]})
    visible = await _visible(site)
    index = await site.get("/sitemap.xml")
    assert index.headers["content-type"] == "application/xml; charset=utf-8"
    _valid(index.content, "siteindex.xsd")
    assert _sitemap_locs(index.content) == [f"{SITE}/sitemaps/articles-1.xml", f"{SITE}/sitemaps/news.xml"]
    listed = await site.get("/sitemaps/articles-1.xml")
    document = _valid(listed.content, "sitemap.xsd")
    lastmods = {
        url.findtext(f"{SITEMAP}loc"): _when(url.findtext(f"{SITEMAP}lastmod") or "")
        for url in document.iter(f"{SITEMAP}url")
    }
    oldest_first = sorted(visible, key=lambda node: (node["publishedAt"], node["id"]))
    assert list(lastmods) == [_url(node) for node in oldest_first]
    for node in visible:
        assert lastmods[_url(node)] == _when(node["updatedAt"]).replace(microsecond=0)
    assert (await site.get("/sitemaps/articles-2.xml")).status_code == 404
    assert (await site.get("/sitemaps/articles-0.xml")).status_code == 404
    assert (await site.get("/sitemaps/articles-99999999999999999999999.xml")).status_code == 404

    news = _valid((await site.get("/sitemaps/news.xml")).content, "news-urlset.xsd")
    (entry,) = news.iter(f"{SITEMAP}url")  # the seeds were all first published long before NOW
    assert entry.findtext(f"{SITEMAP}loc") == _url({**fresh, "language": "en-GB"})
    assert entry.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}name") == "Baku Observer"
    assert entry.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}language") == "en"
    assert _when(entry.findtext(f"{NEWS}news/{NEWS}publication_date") or "") == NOW.replace(microsecond=0)
    assert entry.findtext(f"{NEWS}news/{NEWS}title") == "Fresh from the newsroom"


async def test_a_scheduled_article_appears_at_its_instant_and_an_unpublished_one_disappears(
    site: httpx.AsyncClient, clock: FixedClock, editor: httpx.AsyncClient
) -> None:
    story = await create(editor, title="Due in an hour")
    at = NOW + timedelta(hours=1)
    await data(editor, PUBLISH, {"id": story["id"], "at": at.isoformat()})
    url = _url(story)

    async def everywhere() -> list[bool]:
        answers = [await site.get(path) for path in ROUTES if "categories" not in path]
        rss, json, _, files, news = answers
        return [
            url in _rss_links(rss.content),
            url in _json_links(json),
            url in _sitemap_locs(files.content),
            url in _sitemap_locs(news.content),
        ]

    assert await everywhere() == [False] * 4
    before = await site.get("/sitemaps/news.xml")
    assert _ages(before)["s-maxage"] == 60  # CMS_CACHE_S_MAXAGE: the instant is an hour away
    clock.set(at - timedelta(seconds=30))
    assert _ages(await site.get("/feeds/articles.xml")) == {
        "max-age": 10,
        "s-maxage": 30,
        "stale-while-revalidate": 0,
    }
    clock.set(at)
    assert await everywhere() == [True] * 4
    clock.set(at + timedelta(hours=47, minutes=59, seconds=30))  # 30 s before it leaves the news window
    news = await site.get("/sitemaps/news.xml")
    assert url in _sitemap_locs(news.content)
    assert _ages(news) == {"max-age": 10, "s-maxage": 30, "stale-while-revalidate": 0}
    clock.set(at + timedelta(hours=48, seconds=1))
    assert await everywhere() == [True, True, True, False]
    refreshed = await site.get("/sitemaps/news.xml", headers={"if-none-match": news.headers["etag"]})
    assert refreshed.status_code == 200  # a new body, a new ETag: the old one names the old body
    await data(editor, UNPUBLISH, {"id": story["id"]})
    assert await everywhere() == [False] * 4


async def test_an_etag_match_is_a_304_after_the_version_read_alone(
    seeded: AsyncEngine, site: httpx.AsyncClient, editor: httpx.AsyncClient
) -> None:
    for path in ROUTES:
        first = await site.get(path)
        assert first.status_code == 200, path
        assert re.fullmatch(r'"[0-9a-f]{32}"', first.headers["etag"])
        assert first.headers["cache-control"] == "public, max-age=10, s-maxage=60, stale-while-revalidate=30"
        assert first.headers["vary"] == "Authorization, Accept, Accept-Encoding"
        assert {keys.ARTICLES, keys.ALL} <= set(first.headers["surrogate-key"].split())
        with StatementCounter(seeded) as counter:
            again = await site.get(path, headers={"if-none-match": first.headers["etag"]})
        assert (again.status_code, again.content) == (304, b""), path
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["cache-control"] == first.headers["cache-control"]
        assert counter.count == 1, path
        head = await site.head(path)
        assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", first.headers["etag"])
    feed = await site.get("/feeds/articles.json")
    ids = [item["id"] for item in feed.json()["items"]]
    assert {keys.item("Article", i) for i in ids} <= set(feed.headers["surrogate-key"].split())
    story = await create(editor, title="A write changes every ETag")
    await data(editor, PUBLISH, {"id": story["id"]})
    after = await site.get("/feeds/articles.json", headers={"if-none-match": feed.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["items"][0]["title"] == "A write changes every ETag"


async def test_a_token_changes_nothing(site: httpx.AsyncClient) -> None:
    """Feeds are the public's: a token neither shows drafts nor makes the answer private."""
    anonymous = await site.get("/feeds/articles.json")
    with_token = await site.get("/feeds/articles.json", headers={"authorization": "Bearer whatever"})
    assert with_token.content == anonymous.content
    assert with_token.headers["etag"] == anonymous.headers["etag"]


async def test_every_route_is_a_404_naming_the_setting_without_it(
    seeded: AsyncEngine, clock: FixedClock
) -> None:
    async with checked_app(seeded, clock) as http:
        for path in ROUTES:
            response = await http.get(path)
            assert response.status_code == 404, path
            error = response.json()["errors"][0]
            assert "CMS_ARTICLE_URL" in error["message"]
            assert error["extensions"]["code"] == "NOT_FOUND"


async def test_the_settings_change_the_etag(seeded: AsyncEngine, clock: FixedClock) -> None:
    tags = []
    for name in ("Baku Observer", "Caspian Herald"):
        async with checked_app(seeded, clock, article_url=TEMPLATE, publisher_name=name) as http:
            tags.append((await http.get("/feeds/articles.xml")).headers["etag"])
    assert tags[0] != tags[1]


async def test_text_no_xml_can_hold_is_left_out(site: httpx.AsyncClient, editor: httpx.AsyncClient) -> None:
    story = await create(editor, title="Bell\x07 and form\x0cfeed")
    await data(editor, PUBLISH, {"id": story["id"]})
    parsed = feedparser.parse((await site.get("/feeds/articles.xml")).content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.entries[0].title == "Bell and formfeed"
    _valid((await site.get("/sitemaps/news.xml")).content, "news-urlset.xsd")


BULK = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO article (id, slug, language, title, derived_excerpt, body, body_html, body_text, word_count,
  status, published_at, first_published_at, created_at, updated_at, version)
SELECT 'bulk-' || i, 'bulk-' || i, 'en', 'Bulk', '', '', '', '', 0, 'PUBLISHED', :at, :at, :at, :at, 1
FROM n
"""


async def test_50001_articles_split_across_two_sitemap_files_in_constant_statements(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    at = NOW - timedelta(days=30)  # one instant for all: the files are split by id
    statement = text(BULK).bindparams(bindparam("at", type_=UTCDateTime()))
    async with engine.begin() as connection:
        await connection.execute(statement, {"count": 50_001, "at": at})
    async with checked_app(engine, clock, article_url=TEMPLATE) as http:
        index = await http.get("/sitemap.xml")
        assert _sitemap_locs(index.content) == [
            f"{SITE}/sitemaps/articles-1.xml",
            f"{SITE}/sitemaps/articles-2.xml",
            f"{SITE}/sitemaps/news.xml",
        ]
        counts, bodies = [], []
        for number in (1, 2):
            with StatementCounter(engine) as counter:
                bodies.append((await http.get(f"/sitemaps/articles-{number}.xml")).content)
            counts.append(counter.count)
        _valid(bodies[0], "sitemap.xsd")
        files = [_sitemap_locs(body) for body in bodies]
        assert len(files[0]) == 50_000
        expected = sorted(f"bulk-{i}" for i in range(1, 50_002))
        assert [loc.rsplit("/", 1)[1] for loc in files[0] + files[1]] == expected
        assert counts == [2, 3]  # the version's token; file 2: the last article of file 1, then its page
        assert (await http.get("/sitemaps/articles-3.xml")).status_code == 404


def test_the_article_url_template_is_checked_once_when_settings_are_read() -> None:
    for bad in (
        "news.example/{slug}",
        "ftp://news.example/{slug}",
        "https://news.example/{title}",
        "https://news.example/{slug!r}",
        "https://news.example/{slug",
        "https://news.example/latest",
        "https:///{slug}",
    ):
        with pytest.raises(ValueError, match="CMS_ARTICLE_URL"):
            Settings.from_env({"CMS_ARTICLE_URL": bad})
    with pytest.raises(ValueError, match="CMS_SITE_URL"):
        Settings(article_url="https://{language}.news.example/{slug}")
    per_language = Settings(
        article_url="https://{language}.news.example/{slug}", site_url="https://x.example/"
    )
    assert per_language.site == "https://x.example"
    settings = Settings.from_env({"CMS_ARTICLE_URL": "https://news.example/{language}/{id}/{slug}"})
    assert (settings.site, settings.publisher_name, settings.publisher_logo_url) == (SITE, "Newsroom", None)
    assert checked(TEMPLATE) == TEMPLATE
    url = article_url(settings.article_url or "", id="a/b?c", slug="s", language="en-GB")
    assert url == "https://news.example/en-GB/a%2Fb%3Fc/s"
    with pytest.raises(ValueError, match="CMS_PUBLISHER_LOGO_URL"):
        Settings(publisher_logo_url="logo.png")


@pytest.mark.parametrize(
    ("language", "named"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("AZ", "az"),
        ("zh-Hant-TW", "zh-tw"),
        ("zh-CN", "zh-cn"),
        ("zh", "zh-cn"),
    ],
)
def test_google_news_names_languages_its_own_way(language: str, named: str) -> None:
    assert news_language(language) == named


async def test_the_logo_is_the_feeds_image(seeded: AsyncEngine, clock: FixedClock) -> None:
    logo = "https://news.example/logo.png"
    async with checked_app(seeded, clock, article_url=TEMPLATE, publisher_logo_url=logo) as http:
        assert (await http.get("/feeds/articles.json")).json()["icon"] == logo
        parsed = feedparser.parse((await http.get("/feeds/articles.xml")).content)
        assert parsed.feed.image.href == logo
