"""Rate limits (`CMS_RATE_LIMIT`, delivery.md): so many requests per second or minute for each caller, its
token if it sends one, else its address (X-Forwarded-For believed only from `CMS_TRUSTED_PROXIES`).

Counted in fixed windows, in the process; the workers of one `cms serve --workers N` count together, in a
file that the serving process makes for them (`shared_counts`) and each maps (`SharedCounts`), so a caller
gets the limit whichever worker its connections reach. The answer carries the IETF RateLimit-Policy and
RateLimit fields; over the limit it is a 429 with Retry-After.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import math
import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from starlette.types import Scope

from cms.lru import LRU

CALLERS_KEPT = 100_000
"""Callers whose windows a process remembers: a flood of new addresses forgets the oldest, never grows."""
SLOTS = 1 << 16
"""Callers the shared file holds in one window; more share slots, and so counts (a stricter limit)."""
_SLOT = struct.Struct("<QQQ")  # the caller's hash, its window, the requests it sent in it
COUNTS_DIR = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
"""Where `shared_counts` makes its file: in memory where the system has a place for it."""
WINDOWS = {"second": 1, "minute": 60}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    headers: list[tuple[bytes, bytes]]
    retry_after: int


class Counts(Protocol):
    def add(self, caller: str, window: int) -> int:
        """Count one request of `caller` in `window`: how many it has sent in it, this one included."""
        ...


class OwnCounts:
    """One process's counts."""

    def __init__(self) -> None:
        self._windows: LRU[str, tuple[int, int]] = LRU(CALLERS_KEPT)

    def add(self, caller: str, window: int) -> int:
        started, used = self._windows.get(caller) or (window, 0)
        used = used + 1 if started == window else 1
        self._windows[caller] = (window, used)
        return used


class SharedCounts:
    """Counts in a file that several processes map: a caller's slot is found by its hash (or the one after
    it), taken over once its window has passed, and read and written under a lock of its two slots' bytes,
    so that two processes never count the same request twice or lose one."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, (SLOTS + 1) * _SLOT.size)

    def add(self, caller: str, window: int) -> int:
        key = int.from_bytes(hashlib.blake2b(caller.encode(), digest_size=8).digest(), "little") | 1
        first = key % SLOTS * _SLOT.size
        fcntl.lockf(self._fd, fcntl.LOCK_EX, 2 * _SLOT.size, first)
        try:
            slots = [(at, *_SLOT.unpack_from(self._map, at)) for at in (first, first + _SLOT.size)]
            at, owner, started, used = next(
                (slot for slot in slots if slot[1] == key),
                next((slot for slot in slots if slot[2] != window), slots[0]),
            )
            used = used + 1 if started == window else 1
            _SLOT.pack_into(self._map, at, key if started != window else owner, window, used)
            return used
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 2 * _SLOT.size, first)


@contextlib.contextmanager
def shared_counts() -> Iterator[str]:
    """A file for the workers' `SharedCounts`, removed after."""
    descriptor, path = tempfile.mkstemp(prefix="cms-rate-limit-", dir=COUNTS_DIR)
    try:
        os.ftruncate(descriptor, (SLOTS + 1) * _SLOT.size)
        os.close(descriptor)
        yield path
    finally:
        Path(path).unlink(missing_ok=True)


class RateLimiter:
    def __init__(self, rule: str, proxies: tuple[str, ...], counts: Counts | None = None) -> None:
        count, _, unit = rule.partition("/")
        self.limit, self.window = int(count), WINDOWS[unit]
        self.trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)
        self.policy = (b"ratelimit-policy", f'"default";q={self.limit};w={self.window}'.encode())
        self.counts = counts or OwnCounts()

    def decide(self, scope: Scope, now: float) -> Decision:
        """Count this request against its caller's window."""
        window = int(now // self.window)
        used = self.counts.add(self.caller(scope), window)
        reset = max(1, math.ceil((window + 1) * self.window - now))
        remaining = max(0, self.limit - used)
        headers = [self.policy, (b"ratelimit", f'"default";r={remaining};t={reset}'.encode())]
        return Decision(used <= self.limit, headers, reset)

    def caller(self, scope: Scope) -> str:
        """The token's digest, else the client's address as the nearest trusted proxy saw it."""
        forwarded = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                return "token:" + hashlib.blake2b(value, digest_size=16).hexdigest()
            if name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
        client = scope.get("client")
        address = client[0] if client else "-"
        if forwarded and self._trusted(address):
            for hop in reversed([hop.strip() for hop in forwarded.split(",")]):
                address = hop
                if not self._trusted(hop):
                    break
        return "address:" + address

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)
