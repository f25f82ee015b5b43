"""Roles and the viewer: who is asking. What each role may see is decided in `visibility`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    READER = "READER"
    PREVIEW = "PREVIEW"
    EDITOR = "EDITOR"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class Viewer:
    """The caller of one request: the public reader unless a token says otherwise."""

    role: Role = Role.READER
    token_name: str | None = None


PUBLIC = Viewer()
