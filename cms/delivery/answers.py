"""The response cache (delivery.md): public answers kept in the process by request, each with the content
version it was made under (the pipeline serves it while that version is the database's)."""

from __future__ import annotations

from dataclasses import dataclass

from cms.content.versions import Version
from cms.lru import LRU

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Kept:
    """An answer as it is sent: its ETag and the version it was made under, status, body, Surrogate-Key, and
    its headers (Surrogate-Key last), sent as they are while no scheduled instant shortens their ages."""

    etag: str
    version: Version
    status: int
    body: bytes
    surrogate_keys: str
    headers: list[tuple[bytes, bytes]]

    @property
    def weight(self) -> int:
        return len(self.body) + len(self.surrogate_keys) + 200  # the rest of an entry, roughly


class Answers:
    """Kept answers by request key, bounded by their weight (`CMS_RESPONSE_CACHE_MIB`)."""

    def __init__(self, mib: int) -> None:
        self._kept: LRU[bytes, Kept] = LRU(mib * MIB, weigh=lambda kept: kept.weight)

    def get(self, key: bytes) -> Kept | None:
        return self._kept.get(key)

    def keep(self, key: bytes, kept: Kept) -> None:
        self._kept[key] = kept

    @property
    def weight(self) -> int:
        return self._kept.weight
