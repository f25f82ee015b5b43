"""No GPL-family licence among the installed distributions (the project is Apache-2.0): each one's
License-Expression, or else its License field and licence classifiers, must leave a permissive choice."""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.metadata import distributions

import pytest

GPL_FAMILY = re.compile(
    r"(?<![a-z])[al]?gpl|\bgnu\s+(?:library\s+(?:or\s+)?)?(?:general|lesser|affero)\b", re.IGNORECASE
)
"""GPL, LGPL, AGPL (any version, `GPLv2+`, `GPL-3.0-only`...) and their names spelled out."""
OR_LATER = re.compile(
    r"\s+or\s+(?:\(at\s+your\s+option\)\s+)?(?:any\s+)?(?:later|newer)(?:\s+version)?", re.I
)
"""`GPLv2 or later` is one licence, not a choice between `GPLv2` and `later`."""
GENERIC_CLASSIFIERS = {"OSI Approved", "DFSG approved"}
"""Licence classifiers that only group others: they name no licence of their own."""


class NotAnExpression(ValueError):
    pass


def permissive_choice(text: str) -> bool:
    """True if what `text` licenses may be used under some choice that is not GPL-family. `text` is an SPDX
    expression (`MIT OR GPL-2.0`, `MPL-2.0 AND (Apache-2.0 OR MIT)`), or free text read the same way (`MIT or
    GPLv2`); anything that does not read as one is judged by whether it names a GPL-family licence at all."""
    tokens = re.findall(r"[()]|[^\s()]+", OR_LATER.sub("", text))
    try:
        free, end = _either(tokens, 0)
        if end != len(tokens):
            raise NotAnExpression(text)
    except NotAnExpression:
        return not GPL_FAMILY.search(text)
    return free


def _either(tokens: list[str], at: int) -> tuple[bool, int]:
    free, at = _both(tokens, at)
    while at < len(tokens) and tokens[at].upper() == "OR":
        other, at = _both(tokens, at + 1)
        free = free or other
    return free, at


def _both(tokens: list[str], at: int) -> tuple[bool, int]:
    free, at = _one(tokens, at)
    while at < len(tokens) and tokens[at].upper() == "AND":
        other, at = _one(tokens, at + 1)
        free = free and other
    return free, at


def _one(tokens: list[str], at: int) -> tuple[bool, int]:
    """A licence (words up to the next operator or parenthesis), maybe `WITH` an exception that leaves it
    what it is, or a parenthesised expression."""
    if at < len(tokens) and tokens[at] == "(":
        free, at = _either(tokens, at + 1)
        if at >= len(tokens) or tokens[at] != ")":
            raise NotAnExpression(" ".join(tokens))
        return free, at + 1
    words = []
    while at < len(tokens) and tokens[at] not in "()" and tokens[at].upper() not in ("AND", "OR", "WITH"):
        words.append(tokens[at])
        at += 1
    if not words:
        raise NotAnExpression(" ".join(tokens))
    if at < len(tokens) and tokens[at].upper() == "WITH":
        _, at = _one(tokens, at + 1)
    return not GPL_FAMILY.search(" ".join(words)), at


def gpl_only(expression: str | None, license: str | None, classifiers: Iterable[str]) -> str | None:
    """Why a distribution's metadata puts it under a GPL-family licence with no permissive choice, or None.
    A License-Expression (PEP 639) says it all; without one, neither the License field nor the licence
    classifiers (several of them are alternatives: a dual licence) may leave only GPL-family licences."""
    if expression:
        return None if permissive_choice(expression) else f"License-Expression: {expression}"
    reasons = []
    if license and not permissive_choice(license):
        reasons.append(f"License: {license[:100]}")
    named = [c.split(" :: ")[-1] for c in classifiers if c.startswith("License :: ")]
    named = [name for name in named if name not in GENERIC_CLASSIFIERS]
    if named and not any(permissive_choice(name) for name in named):
        reasons.append(f"classifiers: {'; '.join(named)}")
    return ", ".join(reasons) or None


def test_no_installed_distribution_is_gpl_only() -> None:
    found = {}
    for distribution in distributions():
        metadata = distribution.metadata
        expression, license = (
            (metadata.get_all(key) or [None])[0] for key in ("License-Expression", "License")
        )
        why = gpl_only(expression, license, metadata.get_all("Classifier") or [])
        if why:
            found[f"{metadata['Name']} {distribution.version}"] = why
    assert found == {}, "GPL-family licences installed (the project is Apache-2.0)"


UNIDECODE = (None, "GPL", ["License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)"])
"""Unidecode 1.4.0's metadata, as installed before the slugs moved to anyascii."""


def test_unidecode_is_found() -> None:
    assert gpl_only(*UNIDECODE) == (
        "License: GPL, classifiers: GNU General Public License v2 or later (GPLv2+)"
    )
    assert gpl_only(None, "GPL", []) is not None
    assert gpl_only(None, None, UNIDECODE[2]) is not None


MIT_CLASSIFIER = "License :: OSI Approved :: MIT License"
GPL_CLASSIFIER = "License :: OSI Approved :: GNU General Public License (GPL)"
GPL_ONLY = [
    ("GPL-3.0-only", None, []),
    ("GPL-2.0-or-later", None, []),
    ("LGPL-2.1-or-later AND MIT", None, []),
    ("AGPL-3.0-only", None, []),
    ("(MIT OR GPL-3.0) AND LGPL-3.0", None, []),
    ("GPL-2.0-only WITH Classpath-exception-2.0", None, []),
    ("gpl-3.0+", None, []),
    (None, "GPLv3", []),
    (None, "GNU GPL v2 or later", []),
    (None, "LGPL", []),
    (None, "GNU Lesser General Public License v3", []),
    (None, "GNU Affero General Public License", []),
    (None, "GNU Library General Public License", []),
    (None, "GPL-3.0-only WITH GCC-exception-3.1", []),
    (None, None, ["License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)"]),
    (None, None, ["License :: OSI Approved :: GNU Affero General Public License v3"]),
    (None, None, ["License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)"]),
    (None, None, ["License :: OSI Approved", GPL_CLASSIFIER]),
    (None, "MIT", ["License :: OSI Approved :: GNU General Public License v3 (GPLv3)"]),
    (None, "GPL", [MIT_CLASSIFIER]),
    (None, "This program is free software; under the GNU General Public License (version 2)", []),
]
PERMISSIVE = [
    ("MIT", None, []),
    ("MIT OR GPL-2.0", None, []),
    ("GPL-2.0-or-later OR BSD-3-Clause", None, []),
    ("MPL-2.0 AND (Apache-2.0 OR MIT)", None, []),
    ("Apache-2.0 OR (GPL-2.0-only AND MIT)", None, []),
    ("MIT", "GPL", []),  # the License-Expression says it all (PEP 639)
    (None, "MIT OR GPL-2.0", []),
    (None, "MIT or GPLv2", []),
    (None, "Dual licensed under BSD or GPL", []),
    (None, "BSD-3-Clause", ["License :: OSI Approved :: BSD License"]),
    (None, "UNKNOWN", []),
    (None, None, []),
    (None, None, [MIT_CLASSIFIER, GPL_CLASSIFIER]),
    (None, 'Permission is hereby granted... (the "Software"), ... OR OTHER DEALINGS IN THE SOFTWARE.', []),
    (None, None, ["License :: OSI Approved :: Apache Software License", "License :: OSI Approved"]),
    (None, "GNU Free Documentation License", []),
    (None, "Sleepycat License", []),
]


@pytest.mark.parametrize(("expression", "license", "classifiers"), GPL_ONLY)
def test_gpl_family_licences_with_no_permissive_choice_are_found(
    expression: str | None, license: str | None, classifiers: list[str]
) -> None:
    assert gpl_only(expression, license, classifiers)


@pytest.mark.parametrize(("expression", "license", "classifiers"), PERMISSIVE)
def test_permissive_licences_and_dual_licences_with_a_permissive_choice_pass(
    expression: str | None, license: str | None, classifiers: list[str]
) -> None:
    assert gpl_only(expression, license, classifiers) is None
