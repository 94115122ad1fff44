"""Client addresses: the socket peer, or the forwarded client when the peer is a trusted proxy; allowlists."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """``["127.0.0.1", "10.0.0.0/8"]`` -> networks; a bad entry raises ValueError naming it."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network (expected e.g. 10.0.0.0/8)") from None
    return networks


def in_networks(ip: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: list[Network]) -> str:
    """The client's IP as uvicorn's ``forwarded-allow-ips`` resolves it.

    When the socket peer is a trusted proxy, ``X-Forwarded-For`` is read from the right, skipping trusted proxies;
    the first address that is not one is the client. Anything unparsable falls back to the peer.
    """
    peer = peer or "unknown"
    if not forwarded_for or not trusted_proxies or not in_networks(peer, trusted_proxies):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")][-20:]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not in_networks(hop, trusted_proxies):
            return hop
    return peer
