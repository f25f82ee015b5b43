"""Sitemaps (https://www.sitemaps.org/protocol.html): the index, the files of article URLs with their
lastmod, and the Google News sitemap (https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lxml import etree

from cms.content.urls import article_url
from cms.feeds.xml import NEWS, SITEMAP, SITEMAP_NAMESPACES, document, element

MEDIA_TYPE = "application/xml; charset=utf-8"
NEWS_FILE = "/sitemaps/news.xml"


def file_path(number: int) -> str:
    return f"/sitemaps/articles-{number}.xml"


def index(site: str, files: int) -> bytes:
    """The index of the `files` article files and the news sitemap, at the site's address."""
    root = etree.Element(f"{{{SITEMAP}}}sitemapindex", nsmap={None: SITEMAP})
    for path in [*(file_path(number) for number in range(1, files + 1)), NEWS_FILE]:
        element(etree.SubElement(root, f"{{{SITEMAP}}}sitemap"), f"{{{SITEMAP}}}loc", site + path)
    return document(root)


def urlset(rows: Sequence[Any], *, template: str) -> bytes:
    """One file: each article's URL and when it last changed."""
    root = etree.Element(f"{{{SITEMAP}}}urlset", nsmap={None: SITEMAP})
    for row in rows:
        url = _url(root, row, template)
        element(url, f"{{{SITEMAP}}}lastmod", _w3c(row.updated_at))
    return document(root)


def news(rows: Sequence[Any], *, template: str, publisher: str) -> bytes:
    """The Google News sitemap of these articles: the publication's name and the article's language, its
    first publication and its title."""
    root = etree.Element(f"{{{SITEMAP}}}urlset", nsmap=SITEMAP_NAMESPACES)
    for row in rows:
        url = _url(root, row, template)
        item = etree.SubElement(url, f"{{{NEWS}}}news")
        publication = etree.SubElement(item, f"{{{NEWS}}}publication")
        element(publication, f"{{{NEWS}}}name", publisher)
        element(publication, f"{{{NEWS}}}language", news_language(row.language))
        element(item, f"{{{NEWS}}}publication_date", _w3c(row.first_published_at))
        element(item, f"{{{NEWS}}}title", row.title)
    return document(root)


def news_language(language: str) -> str:
    """The language as Google News names it: an ISO 639 code in lower case, the region dropped (en-GB is en),
    except Chinese, zh-cn (Simplified) or zh-tw (Traditional: zh-Hant, zh-TW, zh-HK)."""
    primary, *rest = language.lower().split("-")
    if primary != "zh":
        return primary
    return "zh-tw" if {"hant", "tw", "hk", "mo"} & set(rest) else "zh-cn"


def _url(root: Any, row: Any, template: str) -> Any:
    """A <url> with the article's <loc>."""
    url = etree.SubElement(root, f"{{{SITEMAP}}}url")
    element(url, f"{{{SITEMAP}}}loc", article_url(template, id=row.id, slug=row.slug, language=row.language))
    return url


def _w3c(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
