"""The forms a value must have, one rule each, for every way in (the API, imports, webhooks)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from functools import cache
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
    return [FieldError((*path, *found), "INVALID", NUL_MESSAGE) for found in _nul_paths(value, renamed or {})]


_NONE: tuple[tuple[str, ...], ...] = ()


def _nul_paths(value: Any, renamed: Mapping[str, str]) -> Sequence[tuple[str, ...]]:
    """The paths within `value` of the strings that hold NUL, in order. A path is made only on the way back
    from such a string: every write and every imported record is walked, and nearly none holds one."""
    if isinstance(value, str):
        return ((),) if NUL in value else _NONE
    if value is None:
        return _NONE
    paths: list[tuple[str, ...]] = []
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := _nul_paths(item, renamed):
                paths += [(str(index), *path) for path in found]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            named = str(key).replace(NUL, "\\0")
            if isinstance(key, str) and NUL in key:
                paths.append((named,))
            if found := _nul_paths(item, renamed):
                paths += [(named, *path) for path in found]
    else:
        for name, api_name in _fields(value.__class__):
            if found := _nul_paths(getattr(value, name), renamed):
                paths += [(renamed.get(name) or api_name, *path) for path in found]
    return paths


@cache
def _fields(kind: Any) -> tuple[tuple[str, str], ...]:
    """A dataclass's fields with their API names (none for any other type)."""
    if not is_dataclass(kind):
        return ()
    return tuple((f.name, _UPPER_AFTER_UNDERSCORE.sub(lambda m: m[1].upper(), f.name)) for f in fields(kind))
