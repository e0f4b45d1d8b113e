"""What a public page may ask of the collected drawings: labels it may send, how fast, how much, and who sees them.

The numbers are in `mnist_core.config`; this module applies them. No database here: the store and the demo
both ask it (the counting itself is `mnist_core.drawings.rates`, in the database every replica shares).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def as_label(value: Any) -> int | None:
    """0–9 from an int, a whole float or a one-digit string (what scripts and labels.csv send); None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and 0 <= number <= 9 else None


def trusted(public: bool, username: str | None) -> bool:
    """Anyone on a local demo; on a public one only a logged-in user may see or change what other visitors left
    (their drawings, the served model, their runs)."""
    return not public or bool(username)


def room_left(size: int, max_bytes: int) -> str:
    """'' while the database file may grow, else the refusal line."""
    if size <= max_bytes:
        return ""
    return (
        f"the drawings store is full ({size / 1e6:,.0f} MB, at most {max_bytes / 1e6:,.0f} MB); "
        "export and delete some first"
    )


@dataclass(frozen=True)
class Limit:
    """At most `per_minute` actions counted under `key` in any 60 s; `refusal` is what a refused visitor reads."""

    key: str
    per_minute: int
    refusal: str


def trusted_proxies(specs: Iterable[str]) -> tuple[Network, ...]:
    """`--trusted-proxy` values (addresses or networks, each maybe a comma list) → networks; ValueError in one line."""
    found = []
    for spec in specs:
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            try:
                found.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not an address or a network (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(found)


def _is_proxy(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """Who is asking: the connection's own address, or, only when that is a trusted proxy, the last address of
    its X-Forwarded-For that is not a trusted proxy itself. What a client writes into the header is to the
    left of what the proxy appends, so it is never reached; a header from an untrusted peer is ignored."""
    if not forwarded_for or not _is_proxy(peer, proxies):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # not what our proxy writes: count the proxy's own address, never a made-up one
        if not _is_proxy(hop, proxies):
            return hop
    return peer


def address_key(address: str) -> str:
    """What one client is, for a limit: an IPv4 address, or an IPv6 address's /64 (a home or a server gets a whole
    /64, so addresses rotated inside it are one client)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        return str(mapped) if mapped is not None else str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
