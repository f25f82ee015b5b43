"""The forms a value must have, one rule each, for every way in (the API, imports, webhooks)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import urlsplit

from cms.content.errors import BadInput, FieldError
from cms.models import SourceKind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NUL = "\x00"
NUL_MESSAGE = "holds a NUL character, which no text can hold"
_UPPER_AFTER_UNDERSCORE = re.compile(r"_([a-z])")


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


def nul_errors(
    value: Any, path: tuple[str, ...] = (), *, renamed: Mapping[str, str] | None = None
) -> list[FieldError]:
    """An INVALID error for every string in an input that holds NUL, at its path: PostgreSQL's text cannot
    store one, and the statement that tried would fail whole. Dataclass fields are named as the API names
    them (`cover_image` is coverImage, or as `renamed` says), list items by index, mappings by key (their
    keys are checked too)."""
    return [FieldError(found, "INVALID", NUL_MESSAGE) for found in _nul_paths(value, path, renamed or {})]


def _nul_paths(value: Any, path: tuple[str, ...], renamed: Mapping[str, str]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            name = renamed.get(field.name) or _UPPER_AFTER_UNDERSCORE.sub(lambda m: m[1].upper(), field.name)
            yield from _nul_paths(getattr(value, field.name), (*path, name), renamed)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            named = (*path, str(key).replace(NUL, "\\0"))
            if isinstance(key, str) and NUL in key:
                yield named
            yield from _nul_paths(item, named, renamed)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*path, str(index)), renamed)
