"""Opaque, globally unique ids: a type prefix and a random part, kept across export and import."""

from __future__ import annotations

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


def new_id(typename: str) -> str:
    """A fresh id for an item of `typename`, e.g. `art_3f2c...`."""
    return f"{PREFIXES[typename]}_{uuid.uuid4().hex}"


def typename_of(item_id: str) -> str | None:
    """The GraphQL type an id belongs to, or None for an id that is not ours."""
    prefix, sep, rest = item_id.partition("_")
    return _TYPENAMES.get(prefix) if sep and rest else None
