"""The forms a value must have, one rule each, for every way in (the API, imports, webhooks)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cms.content.errors import BadInput
from cms.models import SourceKind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def web_url(url: str) -> bool:
    """http or https, with a host: no javascript:, data: or relative links in what readers are sent to."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is no number, a bracketed host that is no IPv6 address
        return False


def url_problem(value: str) -> str | None:
    return None if web_url(value) else f"not an http(s) URL: {value!r}"


def email_problem(value: str) -> str | None:
    return None if _EMAIL.match(value) else f"not an email address: {value!r}"


def source_kind(kind: str) -> str:
    if kind not in SourceKind.__members__:
        raise BadInput(f"unknown source kind {kind!r}")
    return kind
