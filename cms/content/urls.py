"""An article's public URL, from the site's template (`CMS_ARTICLE_URL`): the one place the rule lives, for
feeds, sitemaps, `Article.url` and JSON-LD alike."""

from __future__ import annotations

import re
from string import Formatter
from urllib.parse import quote, urlsplit

from cms.content.forms import web_url

PLACEHOLDERS = ("language", "slug", "id")
_SAMPLE = {"language": "en", "slug": "a-slug", "id": "art_0"}
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")
"""What a URL holds as it is (RFC 3986): every slug, our ids and language tags, whose quoting is skipped (a
sitemap file makes 50,000 URLs)."""


def checked(template: str) -> str:
    """The template as given, if it makes absolute http(s) URLs from {language}, {slug} and {id} alone, and
    names the article ({slug} or {id}); ValueError naming the setting otherwise. Checked once, when settings
    are read, so that formatting one never fails."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in Formatter().parse(template)]
    except ValueError as error:  # a lone { or }
        raise ValueError(f"CMS_ARTICLE_URL: not a template ({error}): {template!r}") from None
    for name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{known}}}" for known in PLACEHOLDERS)
            raise ValueError(
                f"CMS_ARTICLE_URL: unknown placeholder {{{name}}} (known: {known}): {template!r}"
            )
        if spec or conversion:
            raise ValueError(f"CMS_ARTICLE_URL: {{{name}}} takes no conversion or format: {template!r}")
    if not {"slug", "id"} & {name for name, _, _ in fields}:
        raise ValueError(f"CMS_ARTICLE_URL names no article: give {{slug}} or {{id}}: {template!r}")
    if not web_url(template.format(**_SAMPLE)):
        raise ValueError(f"CMS_ARTICLE_URL: not an absolute http(s) URL: {template!r}")
    return template


def article_url(template: str, *, id: str, slug: str, language: str) -> str:
    """The public URL of the article with this id, slug and language, from a `checked` template. Each value
    is percent-encoded whole: an id kept from another system may hold a slash or a question mark."""
    return template.format(
        id=quote(id, safe=""), slug=quote(slug, safe=""), language=quote(language, safe="")
    )


def origin(template: str) -> str | None:
    """scheme://host[:port] of a `checked` template's URLs; None when a placeholder stands in the host (one
    site per language), which then has no single origin."""
    parts = urlsplit(template)
    if "{" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"
