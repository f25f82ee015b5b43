"""Surrogate keys: what a public answer depends on, and what a write makes stale (delivery.md).

An answer carries the key of every item in it and the list key of every type it lists or counts (a lookup
that found nothing lists too: an item may come to fill it). A write names its items' keys, its type's list
key and ARTICLES: article lists filter on authors, categories, sources and tags by slug, so whatever changes
them may change a list of articles. Purging those keys makes no kept answer stale, and leaves alone the
pages of other items. Item keys are short digests: a 100-article page names some hundreds of them, and a
shared cache bounds the header's length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache

from cms.content.ids import PREFIXES

LISTS = {"Article": "articles", "Author": "authors", "Category": "categories", "Source": "sources"}
"""The key of every list or count of a type."""
ARTICLES = LISTS["Article"]
ALL = "all"
"""Carried by every public answer, named by writes too broad to list (an import)."""


@lru_cache(maxsize=1 << 16)
def item(typename: str, item_id: str) -> str:
    """The key of one item: its type's id prefix and 12 hex digits of a digest (an imported id can have any
    form and length, and can be another type's id too)."""
    digest = hashlib.blake2b(f"{typename}\0{item_id}".encode(), digest_size=6).hexdigest()
    return f"{PREFIXES[typename]}-{digest}"


def header(depends: Iterable[str]) -> str:
    """The Surrogate-Key header of a public answer that depends on these keys: with `ALL`, each once, in a
    stable order."""
    return " ".join(sorted({*depends, ALL}))


def written(changes: Iterable[tuple[str, str]]) -> list[str]:
    """The keys that writes of these (typename, id) make stale, each once, in a stable order."""
    keys: dict[str, None] = {}
    for typename, item_id in changes:
        if typename in LISTS:
            keys[item(typename, item_id)] = None
            keys[LISTS[typename]] = None
            keys[ARTICLES] = None
    return list(keys)
