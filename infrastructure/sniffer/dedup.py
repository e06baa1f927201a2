"""Bounded memories of what was already seen: fingerprints per source, and raw packets."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class SeenWindow:
    """Remembers keys for `window_s` from their first sighting, holding at most `max_keys`.

    The window is fixed, not sliding: a source that keeps sending the same fingerprint is
    reported again once per window, so its activity stays visible in the timeline.
    """

    def __init__(self, window_s: float, max_keys: int = 20_000) -> None:
        self._window = window_s
        self._max = max_keys
        self._expiry: OrderedDict[Hashable, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def first_sighting(self, key: Hashable, now: float) -> bool:
        """True (and remembered) when the key was not seen in the window; False otherwise."""
        self._expire(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self._window
        if len(self._expiry) > self._max:
            self._expiry.popitem(last=False)  # the oldest sighting goes first
        return True

    def forget(self, key: Hashable) -> None:
        """Drop a key, so its next sighting is reported (used when a record could not be kept)."""
        self._expiry.pop(key, None)

    def _expire(self, now: float) -> None:
        # Insertion order is expiry order (one window for all), so expired keys are at the front.
        while self._expiry:
            key, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                return
            del self._expiry[key]


class RecentPackets:
    """Spots a packet seen twice in a row-ish: on `lo` a capture gets every packet twice.

    The outgoing and incoming copies are byte-identical and adjacent, so remembering the
    digests of the last few hundred packets is enough, whatever the capture backend.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._seen: OrderedDict[int, None] = OrderedDict()

    def duplicate(self, packet: bytes) -> bool:
        """True when this exact packet was among the recent ones."""
        digest = hash(packet)
        if digest in self._seen:
            return True
        self._seen[digest] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return False
