"""The caller's address, the one helper for the rate limits, django-axes and the audit log.

Behind a reverse proxy REMOTE_ADDR is the proxy's address, so every visitor would share one
rate-limit bucket and one lockout. X-Forwarded-For is honoured only when the connection comes
from a proxy listed in TRUSTED_PROXIES (addresses or CIDRs; empty = trust nobody, the
default); the address taken is the right-most one of the chain that is not itself a trusted
proxy (every address left of it could have been written by the client)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def parse_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks; a bad entry fails loudly (at start-up, settings.py)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def resolve(
    remote_addr: str | None, forwarded_for: str | None, proxies: Iterable[str]
) -> str | None:
    """The client address from the connection's address, the X-Forwarded-For header and the
    trusted proxies (pure; see client_ip)."""
    remote = _address(remote_addr or "")
    if remote is None:
        return remote_addr or None
    networks = parse_networks(tuple(proxies))
    if not networks or not _trusted(remote, networks) or not forwarded_for:
        return str(remote)
    hops = [part for part in forwarded_for.split(",") if part.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage in the chain: stop trusting it, keep the last good hop
            return str(remote)
        if not _trusted(address, networks):
            return str(address)
        remote = address
    return str(remote)  # every hop a trusted proxy: the left-most one is the best we know


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address (see the module's doc); None without one (unix sockets)."""
    return resolve(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        getattr(settings, "TRUSTED_PROXIES", ()),
    )
