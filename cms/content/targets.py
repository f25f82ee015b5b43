"""Where the CMS sends requests of its own (webhook URLs, CMS_PURGE_URL): one rule, checked when a webhook
is created and again at every send (delivery.md, "Guarding the public endpoint").

A target is refused when its host names, or resolves to, an address that is not a public unicast one:
loopback, private, link-local (169.254.169.254: the clouds' metadata services), multicast, reserved,
unspecified, shared (100.64/10), or any other special-purpose range (`ipaddress`'s `is_global`, with explicit
checks where Python 3.11's tables fall short). A host is read the way a resolver reads it: integer, hex,
octal and short IPv4 forms (2130706433, 0x7f.1, 0177.0.0.1, 127.1) as the address they name; IPv6 literals
carrying an IPv4 address (::ffff:127.0.0.1, 64:ff9b::a00:1, 6to4) by that address too. Names reserved for
local use are refused by name (a single label such as `db`, `localhost` and `*.localhost`, `*.local`,
`*.internal` such as metadata.google.internal, `*.home.arpa`); any other name is resolved (the loop's
getaddrinfo, within RESOLVE_TIMEOUT) and refused if any of its addresses is.

`allow_private` (CMS_WEBHOOK_ALLOW_PRIVATE) lifts the rule, for receivers on this host or its network.

When a webhook is created, a name that does not resolve (yet, or in time) is accepted: nothing can be sent
to it, and every send checks it again, refusing a name that does not resolve then. At send time the
worker's client (`client`) checks each request's host as it connects and connects to the very address it
checked, so a name that resolves to a public address for the check and to a private one a moment later
(DNS rebinding) reaches nothing. That client uses no proxy from the environment (a proxy would resolve
the name itself) and follows no redirect. What remains: a kept-alive connection to a permitted address may
carry a later request for another name that resolved to that same address, and the rule trusts this
host's resolver; a public server that forwards what it receives is beyond any address rule.
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

import httpx

IPAddress = IPv4Address | IPv6Address
RESOLVE_TIMEOUT = 2.0
"""Seconds a name has to resolve."""
LOCAL_NAMES = ("localhost", "local", "internal", "home.arpa")
"""Special-use domains for this host or its network (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal)."""
_KINDS = (
    ("is_unspecified", "the unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)
_SPECIAL = (
    IPv4Network("0.0.0.0/8"),  # "this network"
    IPv4Network("100.64.0.0/10"),  # shared address space (carrier-grade NAT)
    IPv4Network("192.0.0.0/24"),  # IETF protocol assignments (3.11 calls most of it global)
    IPv4Network("192.88.99.0/24"),  # 6to4 relays' anycast, deprecated
    IPv4Network("198.18.0.0/15"),  # benchmarking
    IPv4Network("240.0.0.0/4"),  # reserved, and the limited broadcast
    IPv6Network("64:ff9b:1::/48"),  # NAT64 for local use (RFC 8215)
    IPv6Network("100::/64"),  # discard-only
    IPv6Network("2001::/23"),  # IETF protocol assignments (Teredo, ORCHIDs, ...)
    IPv6Network("2001:db8::/32"),  # documentation
    IPv6Network("fc00::/7"),  # unique local
    IPv6Network("fec0::/10"),  # site-local, deprecated
)
_NAT64 = IPv6Network("64:ff9b::/96")


class Refused(Exception):
    """A target the CMS does not send to; its text says why."""


class Unresolved(Refused):
    """A name that did not resolve (or not within RESOLVE_TIMEOUT)."""


def address_problem(address: IPAddress) -> str | None:
    """What keeps `address` from being a target ("a loopback address"), or None for a public unicast
    address. An IPv6 address carrying an IPv4 one (mapped, NAT64, 6to4) answers for that one too."""
    if isinstance(address, IPv6Address):
        carried = _carried(address)
        if carried is not None:
            problem = address_problem(carried)
            if problem is not None:
                return f"an address carrying {carried}, {problem}"
    for attribute, kind in _KINDS:
        if getattr(address, attribute):
            return kind
    if any(address in network for network in _SPECIAL if network.version == address.version):
        return "a special-purpose address"
    if not address.is_global:
        return "not a public address"
    return None


def _carried(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def literal(host: str) -> IPAddress | None:
    """The address `host` names as a literal, read as getaddrinfo reads it (inet_aton's integer, hex, octal
    and short forms too), or None for a name."""
    host = host.removesuffix(".")
    try:
        return ip_address(host)
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):  # no IPv4 form at all; a NUL in it
        return None


def name_problem(name: str) -> str | None:
    """Why the name `name` is no target whatever it resolves to, or None."""
    name = name.removesuffix(".").lower()
    if "." not in name and name != "localhost":
        return f"{name!r} is a single-label name, resolved through the local network's search domains"
    for domain in LOCAL_NAMES:
        if name == domain or name.endswith("." + domain):
            return f"{name!r} is a name for this host or its local network (.{domain})"
    return None


async def resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to, through the loop's getaddrinfo; Unresolved if none in time."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise Unresolved(f"{host!r} did not resolve within {RESOLVE_TIMEOUT:g} s") from None
    except (OSError, UnicodeError) as error:  # gaierror; a label IDNA cannot encode
        raise Unresolved(f"{host!r} does not resolve ({error})") from None
    found = [ip_address(info[4][0]) for info in infos]
    if not found:
        raise Unresolved(f"{host!r} resolves to no address")
    return list(dict.fromkeys(found))


async def addresses(host: str) -> list[IPAddress]:
    """The addresses a request to `host` may go to: the literal it is, or every address the name resolves
    to, each one permitted; else Refused (Unresolved for a name that does not resolve)."""
    address = literal(host)
    if address is None:
        problem = name_problem(host)
        if problem is not None:
            raise Refused(problem)
        found = await resolve(host)
        for one in found:
            problem = address_problem(one)
            if problem is not None:
                raise Refused(f"{host!r} resolves to {one}, {problem}")
        return found
    problem = address_problem(address)
    if problem is not None:
        written = host if host.lower().removesuffix(".") == str(address) else f"{host} ({address})"
        raise Refused(f"{written} is {problem}")
    return [address]


def host_of(url: str) -> str:
    """The host a request to `url` connects to: as httpx encodes it (IDNA), else as the URL spells it."""
    try:
        return httpx.URL(url).raw_host.decode("ascii")
    except httpx.InvalidURL:  # httpx cannot send to it; the rule reads it anyway
        return urlsplit(url).hostname or ""


async def check(url: str, *, allow_private: bool) -> None:
    """Refused if `url`'s host is no target (see the module's docstring); nothing if `allow_private`."""
    if not allow_private:
        await addresses(host_of(url))


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx's transport, connecting only to permitted addresses: each request's host is checked as it is
    sent, and the request goes to the very address checked (the first that accepts a connection), its host
    kept in the Host header and, for https, in TLS (SNI and the certificate's name: httpx's `sni_hostname`
    extension). Refused is a ConnectError saying why. Connections are pooled by address."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport(trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        try:
            permitted = await addresses(host)
        except Refused as refused:
            raise httpx.ConnectError(f"refused target: {refused}", request=request) from None
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions.setdefault("sni_hostname", host)
        failed: httpx.ConnectError | None = None
        for address in permitted:
            pinned = httpx.Request(
                request.method,
                request.url.copy_with(host=str(address)),
                headers=request.headers,  # its Host header: the URL's own
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await self._inner.handle_async_request(pinned)
            except httpx.ConnectError as error:  # nothing was sent: try the next address
                failed = error
        assert failed is not None
        raise failed

    async def aclose(self) -> None:
        await self._inner.aclose()


def client(*, allow_private: bool, timeout: float) -> httpx.AsyncClient:
    """The client the worker sends webhooks and purges with: redirects never followed, no proxy from the
    environment, and, unless `allow_private`, connections only to the addresses the rule permits."""
    transport = httpx.AsyncHTTPTransport(trust_env=False) if allow_private else PinnedTransport()
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
