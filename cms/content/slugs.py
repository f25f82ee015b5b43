"""Slugs: the one rule for turning a title or name into a URL-safe, ASCII, lowercase slug."""

from __future__ import annotations

import re

from unidecode import unidecode

from cms.content.errors import BadInput

# unidecode renders the Azerbaijani schwa as "@"; newsrooms write it "e" in Latin URLs.
_AZ = str.maketrans({"ə": "e", "Ə": "E"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 200


def slugify(text: str) -> str:
    """Transliterate (Azerbaijani, Cyrillic, accents) and join the words with hyphens."""
    ascii_text = unidecode(text.translate(_AZ)).lower().replace("'", "")
    slug = _NON_ALNUM.sub("-", ascii_text).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def check_slug(slug: str) -> str:
    """Reject a slug given by hand that is not already in slug form."""
    if not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
        raise BadInput(f"not a valid slug: {slug!r} (lowercase letters, digits and single hyphens)")
    return slug
