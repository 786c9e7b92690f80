"""Outbound requests to addresses our users choose (webhook receivers, later fetched URLs):
only to the public internet, never to this host or its private networks (SSRF).

The host is resolved here and every address it resolves to must be public; the request is then
made to that address (`pinned`), so a DNS answer that changes between the check and the
connection (rebinding) cannot send it elsewhere. Literal forms — `[::1]`, `2130706433`,
`0177.0.0.1`, IPv4-mapped IPv6 — are resolved by the system's own parser and checked as the
addresses they are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not public, beyond what `is_global` already excludes: CGNAT (100.64/10) and multicast.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


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


def check_url(url: str, *, allow_private: bool) -> SplitResult:
    """The URL's parts when its form may be requested (https, or http where private
    addresses are allowed, and a host); `Blocked` otherwise."""
    parts = urlsplit(url)
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


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Check `url` and resolve its host; `Blocked` when the form is not allowed or any of its
    addresses is not public (unless private ones are allowed); `OSError` when it does not
    resolve."""
    parts = check_url(url, allow_private=allow_private)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        refused = [str(address) for address in addresses if not is_public(address)]
        if refused:
            raise Blocked(f"{host} resolves to a non-public address ({refused[0]})")
    return Target(url=url, address=str(addresses[0]), host=host, port=port)
