"""HTTP caching (delivery.md): who may keep an answer and for how long, its ETag, and the 304."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cms.content.versions import Version

VARY = (b"vary", b"Authorization, Accept, Accept-Encoding")
PRIVATE = (b"cache-control", b"private, no-store")
NO_STORE = (b"cache-control", b"no-store")


@dataclass(frozen=True)
class Lifetimes:
    """`CMS_CACHE_MAX_AGE`, `CMS_CACHE_S_MAXAGE` and `CMS_CACHE_SWR`, in seconds."""

    max_age: int
    s_maxage: int
    swr: int

    def cache_control(self, version: Version, now: datetime) -> tuple[bytes, bytes]:
        """A public answer's Cache-Control. Every age is capped at the seconds left until the next scheduled
        instant, stale-while-revalidate included, so that no cache serves the view of before that instant
        after it."""
        return _capped(self.max_age, self.s_maxage, self.swr, version.seconds_left(now))

    def fresh(self, tag: str, version: Version, now: datetime) -> list[tuple[bytes, bytes]]:
        """The headers of a public answer (or its 304) named `tag` in this version: ETag, Cache-Control,
        Vary."""
        return [(b"etag", tag.encode()), self.cache_control(version, now), VARY]


@lru_cache(maxsize=512)
def _capped(max_age: int, s_maxage: int, swr: int, left: int | None) -> tuple[bytes, bytes]:
    """Made once per second left, not on every hit before a scheduled instant."""
    if left is not None:
        max_age, s_maxage = min(max_age, left), min(s_maxage, left)
        swr = min(swr, left - s_maxage)
    value = f"public, max-age={max_age}, s-maxage={s_maxage}, stale-while-revalidate={swr}"
    return b"cache-control", value.encode()


def etag(key: bytes, version: Version) -> str:
    """A strong ETag for the public answer to `key` (the request, as the response cache names it) in this
    version: the answer is a function of the two alone, so a match is a 304 with nothing run, in any
    process."""
    until = version.until.isoformat() if version.until else ""
    tag = hashlib.blake2b(key + f"\0{version.token}\0{until}".encode(), digest_size=16).hexdigest()
    return f'"{tag}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match names `tag` (weakly, as RFC 9110 compares for it) or is `*`."""
    if not if_none_match:
        return False
    named = {entry.strip().removeprefix("W/") for entry in if_none_match.split(",")}
    return tag in named or "*" in named
