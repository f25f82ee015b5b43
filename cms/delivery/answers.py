"""The response cache (delivery.md): public answers kept in the process by request, each valid while its
ETag, which names the content version and the next scheduled instant, is still the request's."""

from __future__ import annotations

from dataclasses import dataclass

from cms.lru import LRU

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Kept:
    """An answer as it is sent: its status and body, the ETag it was made under, its Surrogate-Key."""

    etag: str
    status: int
    body: bytes
    surrogate_keys: str

    @property
    def weight(self) -> int:
        return len(self.body) + len(self.surrogate_keys) + 200  # the rest of an entry, roughly


class Answers:
    """Kept answers by request key, bounded by their weight (`CMS_RESPONSE_CACHE_MIB`)."""

    def __init__(self, mib: int) -> None:
        self._kept: LRU[bytes, Kept] = LRU(mib * MIB, weigh=lambda kept: kept.weight)

    def get(self, key: bytes, etag: str) -> Kept | None:
        """The answer kept for `key`, if it was made under this ETag (else it is stale: the fresh one will
        replace it)."""
        kept = self._kept.get(key)
        return kept if kept is not None and kept.etag == etag else None

    def keep(self, key: bytes, kept: Kept) -> None:
        self._kept[key] = kept

    @property
    def weight(self) -> int:
        return self._kept.weight
