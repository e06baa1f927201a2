"""OS guesses, initial TTL, hop distance and the modal tally (SPEC §6)."""

from __future__ import annotations

import pytest

from domain.attackers.osguess import (
    ModalTally,
    hop_distance,
    initial_ttl,
    os_from_ttl,
    syn_signature,
)


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [
        (1, "linux"),
        (64, "linux"),
        (65, "windows"),
        (128, "windows"),
        (129, "embedded"),
        (255, "embedded"),
        (0, None),
        (256, None),
    ],
)
def test_os_from_ttl_boundaries(ttl: int, expected: str | None) -> None:
    """≤ 64 linux, ≤ 128 windows, else embedded; impossible TTLs give no guess."""
    assert os_from_ttl(ttl) == expected


@pytest.mark.parametrize(
    ("ttl", "initial", "hops"),
    [(32, 32, 0), (30, 32, 2), (33, 64, 31), (57, 64, 7), (128, 128, 0), (243, 255, 12)],
)
def test_initial_ttl_and_hop_distance(ttl: int, initial: int, hops: int) -> None:
    """The initial TTL is the next of 32/64/128/255 at or above; hops are the difference."""
    assert initial_ttl(ttl) == initial
    assert hop_distance(ttl) == hops


def test_hop_distance_undefined_for_impossible_ttl() -> None:
    """A TTL outside 1..255 gives no initial TTL and no hop distance."""
    assert initial_ttl(300) is None
    assert hop_distance(0) is None


def test_mode_is_most_frequent_with_alphabetical_tie_break() -> None:
    """The highest count wins; a tie goes to the alphabetically smallest label."""
    tally = ModalTally()
    assert tally.mode() is None
    for label in ("windows", "linux", "windows", "linux"):
        tally.add(label)
    assert tally.mode() == "linux"
    tally.add("windows")
    assert tally.mode() == "windows"


def test_tally_stops_taking_new_labels_at_the_cap() -> None:
    """Past MAX_LABELS distinct labels new ones are dropped; known ones still count."""
    tally = ModalTally()
    for index in range(ModalTally.MAX_LABELS):
        tally.add(f"l{index:03d}")
    tally.add("new")
    tally.add("l005")
    assert "new" not in tally.counts
    assert tally.counts["l005"] == 2
    assert tally.mode() == "l005"


def test_tally_round_trips() -> None:
    """to_dict → from_dict gives an equal tally."""
    tally = ModalTally({"linux": 3, "windows": 1})
    assert ModalTally.from_dict(tally.to_dict()) == tally


def test_syn_signature_uses_initial_ttl() -> None:
    """The signature is initial_ttl:window:mss:options, so two routes give one signature."""
    near = syn_signature({"ttl": "63", "window": "64240", "mss": "1460", "options": "M,S,T,N,W"})
    far = syn_signature({"ttl": "50", "window": "64240", "mss": "1460", "options": "M,S,T,N,W"})
    assert near == far == "64:64240:1460:M,S,T,N,W"


def test_syn_signature_marks_missing_parts() -> None:
    """Missing parts show as `?`; a record with none of them has no signature."""
    assert syn_signature({"window": "8192", "options_sig": "MNWST"}) == "?:8192:?:MNWST"
    assert syn_signature({"os_guess": "linux"}) is None
