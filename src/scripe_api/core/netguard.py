"""Outbound requests to addresses our users choose (webhook receivers, later fetched URLs):
only to the public internet, never to this host or its private networks (SSRF).

The host is resolved here and every address it resolves to must be public; the request is then
made to that address (`pinned`), so a DNS answer that changes between the check and the
connection (rebinding) cannot send it elsewhere. Literal forms — `[::1]`, `2130706433`,
`0177.0.0.1`, `0x7f.0.0.1`, IPv4-mapped IPv6 — are read by the system's own parser
(`inet_aton`) and checked as the addresses they are, without a lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not public, beyond what `is_global` already excludes: CGNAT (100.64/10) and multicast.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# What `inet_aton` may read as an IPv4 address (decimal, octal, hex parts; fewer than 4 parts).
_IPV4_FORMS = re.compile(r"[0-9a-fA-FxX.]+")

# The addresses (as text) a host name resolves to for a port; the system's resolver by default.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class Blocked(Exception):
    """The URL may not be requested: its scheme, or an address it resolves to."""


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )


def check_url(
    url: str, *, allow_private: bool, schemes: Sequence[str] | None = None
) -> SplitResult:
    """The URL's parts when its form may be requested (its scheme one of `schemes` — by
    default https, or http too where private addresses are allowed — and a host); `Blocked`
    otherwise."""
    parts = urlsplit(url)
    if schemes is not None:
        allowed = tuple(schemes)
    else:
        allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise Blocked(f"only {' or '.join(allowed)} URLs are allowed")
    if not parts.hostname:
        raise Blocked("the URL has no host")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise Blocked("the URL's port is not valid") from error
    return parts


@dataclass(frozen=True)
class Target:
    """Where a checked URL's request goes: the address to connect to, and the host name the
    request names (Host header, TLS server name)."""

    url: str
    address: str
    host: str
    port: int

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{self.port}"
        return parts._replace(netloc=netloc).geturl()


def literal_address(host: str) -> Address | None:
    """The address `host` spells, when it is an IP literal in any form the system accepts."""
    name = host.split("%", 1)[0]  # an IPv6 zone names an interface, not an address
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if not _IPV4_FORMS.fullmatch(name):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve(
    url: str,
    *,
    allow_private: bool,
    schemes: Sequence[str] | None = None,
    resolver: Resolver | None = None,
) -> Target:
    """Check `url` (see `check_url` for `schemes`) and resolve its host once, through
    `resolver` unless it is an IP literal; `Blocked` when the form is not allowed or any of
    its addresses is not public (unless private ones are allowed); `OSError` when it does not
    resolve."""
    parts = check_url(url, allow_private=allow_private, schemes=schemes)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        found = await (resolver or system_resolver)(host, port)
        addresses = [ipaddress.ip_address(address.split("%", 1)[0]) for address in found]
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        refused = [str(address) for address in addresses if not is_public(address)]
        if refused:
            raise Blocked(f"{host} resolves to a non-public address ({refused[0]})")
    return Target(url=url, address=str(addresses[0]), host=host, port=port)
