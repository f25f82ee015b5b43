"""Rate limits (`CMS_RATE_LIMIT`, delivery.md): so many requests per second or minute for each caller, its
token if it sends one, else its address (X-Forwarded-For believed only from `CMS_TRUSTED_PROXIES`).

Counted per process in fixed windows: with several processes each counts its own share, which a load
balancer spreads evenly. The answer carries the IETF RateLimit-Policy and RateLimit fields; over the limit
it is a 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from starlette.types import Scope

from cms.lru import LRU

CALLERS_KEPT = 100_000
"""Callers whose windows a process remembers: a flood of new addresses forgets the oldest, never grows."""
WINDOWS = {"second": 1, "minute": 60}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    headers: list[tuple[bytes, bytes]]
    retry_after: int


class RateLimiter:
    def __init__(self, rule: str, proxies: tuple[str, ...]) -> None:
        count, _, unit = rule.partition("/")
        self.limit, self.window = int(count), WINDOWS[unit]
        self.trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)
        self.policy = (b"ratelimit-policy", f'"default";q={self.limit};w={self.window}'.encode())
        self._windows: LRU[str, tuple[int, int]] = LRU(CALLERS_KEPT)

    def decide(self, scope: Scope, now: float) -> Decision:
        """Count this request against its caller's window."""
        caller = self.caller(scope)
        window = int(now // self.window)
        started, used = self._windows.get(caller) or (window, 0)
        if started != window:
            started, used = window, 0
        used += 1
        self._windows[caller] = (started, used)
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
