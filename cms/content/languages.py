"""Language tags as the read paths compare them: case-insensitively (BCP 47: "EN" is "en"), and, where a
caller asks for a language with fallbacks, along one chain: the language, its primary language ("en-GB"
-> "en"), then each fallback and its primary, once each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, String, bindparam, case, func

from cms.content.errors import BadInput
from cms.models import Article, table_of

MAX_FALLBACKS = 10
"""Fallback languages one read takes: a frontend names a few; each adds a term to the statement."""
MAX_LENGTH: int = table_of(Article).c.language.type.length  # type: ignore[attr-defined]
"""The language column's width: a longer tag names no article."""
_FORM = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
"""A tag's form in canonical case (what `editing` accepts for an article's language, any case)."""


def canonical(tag: str) -> str:
    """The form a tag is compared in: lower case. Only an ASCII tag is folded (a non-ASCII one names no
    article, and Python's folding would make some ASCII: the Kelvin sign is "k")."""
    return tag.lower() if tag.isascii() else tag


def is_tag(tag: str) -> bool:
    """Whether `tag` has a language tag's form, in any case."""
    return len(tag) <= MAX_LENGTH and _FORM.fullmatch(canonical(tag)) is not None


def compared(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A language column as it is compared with `canonical` tags (an article's region may be upper case)."""
    return func.lower(column)


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0]


def chain(language: str, fallbacks: Sequence[str] | None = None) -> tuple[str, ...]:
    """The languages to try, in order, canonical and once each; BadInput for more than MAX_FALLBACKS
    fallbacks or one that is no language tag (the language itself is only a value to match)."""
    given = list(fallbacks or ())
    if len(given) > MAX_FALLBACKS:
        raise BadInput(f"fallbackLanguages lists at most {MAX_FALLBACKS} languages, got {len(given):,}")
    for tag in given:
        if not is_tag(tag):
            raise BadInput(f"fallbackLanguages: not a language tag: {tag[:MAX_LENGTH]!r}")
    tags = [canonical(tag) for tag in (language, *given)]
    return tuple(dict.fromkeys(each for tag in tags for each in (tag, _primary(tag))))


def chain_values(languages: tuple[str, ...]) -> dict[str, str]:
    """The values of `position`'s parameters for this chain."""
    return {f"language_{n}": tag for n, tag in enumerate(languages)}


def _tags(length: int) -> list[BindParameter[str]]:
    return [bindparam(f"language_{n}", type_=String()) for n in range(length)]


def among(column: ColumnElement[Any], length: int) -> ColumnElement[bool]:
    """An article's language is in a chain of `length` tags (given by `chain_values`)."""
    return compared(column).in_(_tags(length))


def position(column: ColumnElement[Any], length: int) -> ColumnElement[int]:
    """Where an article's language stands in a chain of `length` tags (given by `chain_values`), from 0.
    One statement text per length, whatever the tags."""
    return case(*((tag, n) for n, tag in enumerate(_tags(length))), value=compared(column))
