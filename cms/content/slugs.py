"""Slugs: the one rule for turning a title or name into a URL-safe, ASCII, lowercase slug, and the one rule
for making a taken slug free (`first_free`), for articles, authors, categories and sources alike."""

from __future__ import annotations

import re
from collections.abc import Container

from anyascii import anyascii
from sqlalchemy import ColumnElement, or_

from cms.content.errors import BadInput

# anyascii (ISC) transliterates. The slugs published before it were made with unidecode, and a URL must not
# move, so the few characters of Azerbaijani and Russian text that the two render differently are given here
# as those slugs have them (tests/test_slugs.py pins the slugs, and that anyascii differs on each of these).
# The Azerbaijani schwa needs no entry: anyascii writes ə as "e", as newsrooms do in Latin URLs (unidecode's
# "@" needed one).
KEPT = str.maketrans(
    {
        # Russian й ё ю я: i, io, iu, ia as before (anyascii: y, e, yu, ya).
        "й": "i",
        "Й": "I",
        "ё": "io",
        "Ё": "Io",
        "ю": "iu",
        "Ю": "Iu",
        "я": "ia",
        "Я": "Ia",
        # The numero sign is a word of its own: "№5" is no-5 (anyascii: no5).
        "№": "No. ",
        # The manat and ruble signs as one letter (anyascii: manat, rb).
        "₼": "m",
        "₽": "R",
    }
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 200
SUFFIX_ROOM = 12
"""What `first_free` may cut from a base: a suffix of up to 11 characters (`-` and ten digits), and the
hyphen a cut may leave at the end, which goes too."""


def slugify(text: str) -> str:
    """Transliterate (Azerbaijani, Cyrillic, accents) and join the words with hyphens, cut to MAX_SLUG."""
    return _cut(_words(text), MAX_SLUG)


def name_slug(text: str) -> str:
    """The slug a name is matched by (`Fidan Abdullayeva` is `fidan-abdullayeva`): its slug when that holds
    the whole name, "" when MAX_SLUG cut it, since a cut slug is as much another long name's as this one's."""
    words = _words(text)
    return words if len(words) <= MAX_SLUG else ""


def check_slug(slug: str) -> str:
    """Reject a slug given by hand that is not already in slug form."""
    if not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
        raise BadInput(f"not a valid slug: {slug!r} (lowercase letters, digits and single hyphens)")
    return slug


def first_free(base: str, taken: Container[str]) -> str:
    """`base`, else `base-2`, `base-3`... the first that is not `taken`. The base is cut so that every
    candidate stays within MAX_SLUG (`aaa...a-2` is 200 characters when `aaa...a` is). Each candidate but
    `base` starts with `taken_prefix(base)`: `taken` needs only those slugs (`may_be_taken` selects them)."""
    if not base or len(base) > MAX_SLUG:
        raise ValueError(f"not a slug to make free: {base!r}")
    slug, number = base, 1
    while slug in taken:
        number += 1
        suffix = f"-{number}"
        slug = _cut(base, MAX_SLUG - len(suffix)) + suffix
    return slug


def taken_prefix(base: str) -> str:
    """What every candidate of `first_free(base, ...)` but `base` itself starts with: `base-` while a suffix
    fits after the whole base, else the part of it that no cut reaches."""
    return f"{base}-" if len(base) <= MAX_SLUG - SUFFIX_ROOM else base[: MAX_SLUG - SUFFIX_ROOM]


def may_be_taken(slug: ColumnElement[str], base: str) -> ColumnElement[bool]:
    """The slugs `first_free(base, taken)` needs in `taken`: `base` and those starting with `taken_prefix`."""
    return or_(slug == base, slug.startswith(taken_prefix(base), autoescape=True))


def _words(text: str) -> str:
    ascii_text = anyascii(text.translate(KEPT)).lower().replace("'", "")
    return _NON_ALNUM.sub("-", ascii_text).strip("-")


def _cut(slug: str, most: int) -> str:
    return slug[:most].rstrip("-")
