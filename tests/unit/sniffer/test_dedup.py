"""Bounded memories: fingerprints per source for a window, and recently seen packets."""

from __future__ import annotations

from infrastructure.sniffer.dedup import RecentPackets, SeenWindow


def test_key_is_suppressed_until_its_window_ends() -> None:
    """Seen at t=0 with a 300 s window: repeats are suppressed until t=300, then reported."""
    seen = SeenWindow(300)
    assert seen.first_sighting("a", now=0)
    assert not seen.first_sighting("a", now=299.9)
    assert seen.first_sighting("a", now=300)
    assert not seen.first_sighting("a", now=310)


def test_window_is_fixed_from_the_first_sighting() -> None:
    """Repeats do not extend the window, so steady activity is reported once per window."""
    seen = SeenWindow(10)
    assert seen.first_sighting("a", now=0)
    assert not seen.first_sighting("a", now=9)
    assert seen.first_sighting("a", now=10)


def test_memory_is_bounded_by_evicting_the_oldest() -> None:
    """Past `max_keys` the oldest key is forgotten first; expired keys are dropped too."""
    seen = SeenWindow(100, max_keys=3)
    for i, key in enumerate("abcd"):
        assert seen.first_sighting(key, now=i)
    assert len(seen) == 3
    assert seen.first_sighting("a", now=5)  # evicted, so reported again
    assert not seen.first_sighting("d", now=5)
    seen.first_sighting("z", now=1000)
    assert len(seen) == 1


def test_forget_lets_the_next_sighting_through() -> None:
    """A forgotten key (its record was dropped) is reported on its next sighting."""
    seen = SeenWindow(100)
    seen.first_sighting("a", now=0)
    seen.forget("a")
    assert seen.first_sighting("a", now=1)


def test_recent_packets_catch_the_loopback_copy() -> None:
    """The second identical packet is a duplicate; a different one is not; memory is bounded."""
    recent = RecentPackets(size=2)
    assert not recent.duplicate(b"syn")
    assert recent.duplicate(b"syn")
    assert not recent.duplicate(b"ack")
    assert not recent.duplicate(b"fin")
    assert not recent.duplicate(b"syn")  # pushed out by the two newer packets
