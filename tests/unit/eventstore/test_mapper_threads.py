"""Events decoded by many threads at once, each type for the first time: no crash (ADR 0002).

msgspec publishes a struct type's decoding information before it is complete; a thread decoding
the same type meanwhile used to read the unfinished part and kill the process (SIGSEGV). The
race is run in a child process, so a crash fails this test instead of the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_RACE = textwrap.dedent(
    """
    import dataclasses, sys, threading
    from datetime import datetime
    from infrastructure.eventstore import mapper
    from infrastructure.eventstore.mapper import MsgspecMapper

    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible

    @dataclasses.dataclass(frozen=True)
    class Record:
        timestamp: datetime
        decky: str
        fields: dict[str, str]

    @dataclasses.dataclass(frozen=True)
    class Span:
        first: int
        last: int

    STATE = (
        b'{"records": [{"timestamp": "2026-12-07T10:00:00Z", "decky": "d", "fields": {}}],'
        b' "span": {"first": 1, "last": 2}, "note": "x"}'
    )
    for n in range(ROUNDS):
        # A fresh event type each round: its decoder is made while the others decode it.
        event = dataclasses.make_dataclass(
            f"Event{n}", [("records", list[Record]), ("span", Span | None), ("note", str)]
        )
        mapper._state_type(event)  # the struct type exists; its decoding information does not
        start = threading.Barrier(THREADS)

        def decode() -> None:
            start.wait()
            for _ in range(20):
                assert MsgspecMapper._decode_state(event, STATE)["note"] == "x"

        threads = [threading.Thread(target=decode) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print("decoded")
    """
)


def test_first_decodes_of_a_type_in_many_threads_do_not_crash() -> None:
    """Eight threads decode each of 150 new event types at once, in a child process."""
    script = _RACE.replace("ROUNDS", "150").replace("THREADS", "8")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip() == "decoded"
