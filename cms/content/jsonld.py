"""An article as schema.org NewsArticle JSON-LD, for search engines and aggregators: the page's structured
data, with its provenance (the sources it is based on and cites) and its corrections.

The builder is given what the article's other fields read (bylines, sources, tags, corrections, its
category), so the document says exactly what the API says of the article. Keys come in a fixed order and
absent values are left out, so equal articles give equal bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cms.content.articles import cover_image_of
from cms.models import SourceKind, SourceRole

CONTEXT = "https://schema.org"
BASED_ON = (SourceRole.ORIGIN, SourceRole.WIRE)
"""The roles whose sources the article is based on (`isBasedOn`); a REFERENCE is a `citation`."""
_NEWS_MEDIA = (SourceKind.NEWS_AGENCY, SourceKind.PUBLICATION)


@dataclass(frozen=True)
class Publisher:
    """The publication (`CMS_PUBLISHER_NAME`, `CMS_PUBLISHER_LOGO_URL`)."""

    name: str
    logo_url: str | None


def news_article(
    row: Any,
    *,
    url: str | None,
    publisher: Publisher,
    authors: Sequence[Any],
    sources: Sequence[Any],
    tags: Sequence[str],
    corrections: Sequence[Any],
    section: str | None,
) -> str:
    """The NewsArticle of an article's row (id, title, language, first_published_at, updated_at,
    cover_image), its bylines' and sources' rows (`articles.authors_statement`, `sources_statement`), its
    tags, corrections' rows (`corrections.statement`) and category name; `url` its public URL, if the site
    has a template."""
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "NewsArticle",
        "headline": row.title,
        "inLanguage": row.language,
        "datePublished": _moment(row.first_published_at),
        "dateModified": _moment(row.updated_at),
        "url": url,
        "mainEntityOfPage": None if url is None else {"@type": "WebPage", "@id": url},
        "author": [_party(SourceKind.PERSON, author.name, None) for author in authors] or None,
        "publisher": _publisher(publisher),
        "articleSection": section,
        "keywords": list(tags) or None,
        "image": _image(row),
        "isBasedOn": [_work(source) for source in sources if source.role in BASED_ON] or None,
        "citation": [_work(source) for source in sources if source.role == SourceRole.REFERENCE] or None,
        "correction": [
            {
                "@type": "CorrectionComment",
                "text": correction.plain,
                "datePublished": _moment(correction.created_at),
            }
            for correction in corrections
        ]
        or None,
    }
    return orjson.dumps(_present(document)).decode()


def _moment(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _party(kind: str, name: str, url: str | None) -> dict[str, Any]:
    """A person or an organization: who wrote, published or provided something."""
    if kind == SourceKind.PERSON:
        type_ = "Person"
    else:
        type_ = "NewsMediaOrganization" if kind in _NEWS_MEDIA else "Organization"
    return _present({"@type": type_, "name": name, "url": url})


def _publisher(publisher: Publisher) -> dict[str, Any]:
    logo = None if publisher.logo_url is None else {"@type": "ImageObject", "url": publisher.logo_url}
    return _present({"@type": "Organization", "name": publisher.name, "logo": logo})


def _work(source: Any) -> dict[str, Any]:
    """A source attribution as the work it names: the page cited (the attribution's URL, else the source's),
    published by the source."""
    return _present(
        {
            "@type": "CreativeWork",
            "url": source.cited_url or source.url,
            "publisher": _party(source.kind, source.name, source.url),
        }
    )


def _image(row: Any) -> dict[str, Any] | None:
    image = cover_image_of(row)
    if image is None:
        return None
    found = {
        "@type": "ImageObject",
        "url": image.url,
        "caption": image.caption or image.alt or None,
        "width": image.width,
        "height": image.height,
    }
    return _present(found)


def _present(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}
