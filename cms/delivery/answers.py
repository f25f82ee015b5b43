"""The response cache (delivery.md): public answers kept in the process by request, each with the content
version it was made under (the pipeline serves it while that version is the database's)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cms.content.versions import Version
from cms.lru import LRU

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Kept:
    """An answer as it is sent: its ETag and the version it was made under, status, body, Surrogate-Key, and
    its headers (Surrogate-Key last), sent as they are while no scheduled instant shortens their ages; and
    its body in each content coding a client has asked for (`encoded`), compressed once."""

    etag: str
    version: Version
    status: int
    body: bytes
    surrogate_keys: str
    headers: list[tuple[bytes, bytes]]
    encoded: dict[str, bytes] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        encoded = sum(len(body) for body in self.encoded.values())
        return len(self.body) + encoded + len(self.surrogate_keys) + 200  # the rest of an entry, roughly


class Answers:
    """Kept answers by request key, bounded by their weight (`CMS_RESPONSE_CACHE_MIB`)."""

    def __init__(self, mib: int) -> None:
        self._kept: LRU[bytes, Kept] = LRU(mib * MIB, weigh=lambda kept: kept.weight)

    def get(self, key: bytes) -> Kept | None:
        return self._kept.get(key)

    def keep(self, key: bytes, kept: Kept) -> None:
        self._kept[key] = kept

    def encoded(self, key: bytes, kept: Kept, coding: str, body: bytes) -> None:
        """`kept`'s body in `coding`, kept beside it and weighed with it."""
        self._kept[key] = replace(kept, encoded={**kept.encoded, coding: body})

    @property
    def weight(self) -> int:
        return self._kept.weight
