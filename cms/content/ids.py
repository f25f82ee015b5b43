"""Opaque, globally unique ids, kept across export and import.

Ours are a type prefix, `_` and 32 hex digits (`art_3f2c...`). Imports keep the ids another system gave
(UUIDs, numbers, `cat_food`...): only an id of our exact form says what type it is.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

PREFIXES = {
    "Article": "art",
    "Author": "aut",
    "Category": "cat",
    "Source": "src",
    "ApiToken": "tok",
    "Webhook": "whk",
    "WebhookDelivery": "whd",
}
_TYPENAMES = {prefix: typename for typename, prefix in PREFIXES.items()}
_OWN = re.compile(r"([a-z]+)_[0-9a-f]{32}")
ID_LENGTH = 40
"""The width of every id column: a given id must fit it."""
_UNSEEN = {"Cc", "Cf", "Cs", "Zl", "Zp", "Zs"}
"""Unicode categories an id may not hold: controls (NUL among them), invisible formatting, lone surrogates
and whitespace."""


def new_id(typename: str) -> str:
    """A fresh id for an item of `typename`, e.g. `art_3f2c...`."""
    return f"{PREFIXES[typename]}_{uuid.uuid4().hex}"


def typename_of(item_id: str) -> str | None:
    """The type an id of our own form names, or None for any other id: an imported id may look like ours
    (`cat_food`) and still name an article, so nothing else is taken for a type."""
    match = _OWN.fullmatch(item_id)
    return _TYPENAMES.get(match[1]) if match else None


def is_own(item_id: str) -> bool:
    """Whether this system could have made the id (see `typename_of`); any other is an imported one."""
    return typename_of(item_id) is not None


def could_be(item_id: str, typename: str) -> bool:
    """Whether an item of `typename` may have this id: a storable one that is not ours of another type.
    Lookups ask this first, so an id that no item can have costs no statement."""
    return id_problem(item_id, typename) is None


def id_problem(item_id: str, typename: str | None = None) -> str | None:
    """Why `item_id` cannot be kept as the id of an item of `typename` (None: it can). Any form is kept as
    long as it fits the column and every character shows: whitespace, controls and invisible characters
    make ids that look alike and cannot be typed, and PostgreSQL text cannot hold NUL at all. An id of our
    own form must name its own type: `node(id:)` reads the type from it and would look in the wrong place."""
    if not item_id:
        return "an id cannot be empty"
    if len(item_id) > ID_LENGTH:
        return f"an id is at most {ID_LENGTH} characters, {item_id[:20]!r}... has {len(item_id)}"
    unseen = next((c for c in item_id if unicodedata.category(c) in _UNSEEN), None)
    if unseen is not None:
        return f"an id cannot hold whitespace or control characters: {item_id!r} has {unseen!r}"
    named = typename_of(item_id)
    if typename is not None and named not in (None, typename):
        article = "an" if typename[0] in "AEIOU" else "a"
        return f"{item_id!r} is in the form of our {named} ids: it cannot be {article} {typename}'s"
    return None
