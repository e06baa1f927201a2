"""Attacker addresses in one spelling, whatever form a sender or a search wrote them in."""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=8192)  # addresses repeat heavily; validating one is the cost
def canonical_ip(value: str) -> str | None:
    """`value` as one address is always written (`2001:DB8::1` → `2001:db8::1`), or None.

    An IPv4 address mapped into IPv6 (`::ffff:1.2.3.4`: how a dual-stack listener reports an
    IPv4 peer) is that IPv4 address, so the same attacker is one attacker whichever socket saw it.
    """
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
