"""IPv4 values from the INI and the allocator that hands out free addresses of the fleet's net."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import AddressValueError, IPv4Address, IPv4Network

from domain.fleet.errors import IniInvalidError

# Used when neither the INI nor the fleet names a network: loopback space that is never routed.
DEFAULT_NET = "127.66.0.0/24"
# A /31 or /32 has no address left once network and broadcast are skipped.
MAX_PREFIX = 30


def parse_network(section: str, key: str, value: str) -> IPv4Network:
    """Read a CIDR such as `10.0.0.0/24`; host bits set or no room for hosts is `IniInvalid`."""
    try:
        network = IPv4Network(value, strict=True)
    except ValueError as error:  # AddressValueError and NetmaskValueError included
        raise IniInvalidError(
            section, key, f"{value!r} is not a valid IPv4 network ({error})"
        ) from None
    if network.prefixlen > MAX_PREFIX:
        raise IniInvalidError(
            section, key, f"{value!r} leaves no host addresses (use /{MAX_PREFIX} or wider)"
        )
    return network


def parse_address(section: str, key: str, value: str) -> IPv4Address:
    """Read one dotted-quad IPv4 address; anything else is `IniInvalid`."""
    try:
        return IPv4Address(value)
    except AddressValueError:
        raise IniInvalidError(section, key, f"{value!r} is not a valid IPv4 address") from None


def check_host_address(
    section: str, key: str, address: IPv4Address, network: IPv4Network | None
) -> None:
    """Refuse an address outside the known network or equal to its network/broadcast address."""
    if network is None:
        return
    if address not in network:
        raise IniInvalidError(section, key, f"{address} is outside the network {network}")
    if address in (network.network_address, network.broadcast_address):
        raise IniInvalidError(section, key, f"{address} is not a host address of {network}")


class IpAllocator:
    """Hands out the free host addresses of one network, lowest first."""

    def __init__(self, network: IPv4Network, reserved: Iterable[str | IPv4Address]) -> None:
        self.network = network
        self._taken = {int(address) for address in _ipv4_only(reserved)}
        self._next = int(network.network_address) + 1
        self._last = int(network.broadcast_address) - 1

    def is_taken(self, address: IPv4Address) -> bool:
        """Whether the address was reserved or already handed out."""
        return int(address) in self._taken

    def reserve(self, address: IPv4Address) -> None:
        """Keep the address from being handed out."""
        self._taken.add(int(address))

    def allocate(self) -> IPv4Address | None:
        """The next free host address, or None once the network is exhausted."""
        # The cursor only moves forward, so a whole plan costs one pass over the network.
        while self._next <= self._last:
            candidate = self._next
            self._next += 1
            if candidate not in self._taken:
                self._taken.add(candidate)
                return IPv4Address(candidate)
        return None


def _ipv4_only(addresses: Iterable[str | IPv4Address]) -> Iterable[IPv4Address]:
    # Entries that are not IPv4 (e.g. a future IPv6 decky) cannot collide with an IPv4 allocation.
    for address in addresses:
        if isinstance(address, IPv4Address):
            yield address
            continue
        try:
            yield IPv4Address(address)
        except AddressValueError:
            continue
