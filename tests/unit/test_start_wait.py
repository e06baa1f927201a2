"""The wait at start for PostgreSQL or Redis: growing pauses, then one line naming what failed."""

from __future__ import annotations

import pytest

from infrastructure.settings import ConfigError
from infrastructure.start_wait import StartWait, first_line, service_address


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pauses_double_to_five_seconds_and_never_pass_the_deadline() -> None:
    clock = Clock()
    wait = StartWait("Redis", "127.0.0.1:6379/0", 14.0, "redis_unreachable", clock=clock)
    pauses = []
    for _ in range(5):
        pause = wait.failed("Connection refused")
        pauses.append(pause)
        clock.now += pause
    assert pauses == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert wait.failed("Connection refused") == pytest.approx(1.5)  # what is left of the 14 s


def test_past_the_deadline_one_line_names_what_where_and_why() -> None:
    clock = Clock()
    wait = StartWait("the database", "db:5432/decnet", 2.0, "database_unreachable", clock=clock)
    clock.now += 2.0
    with pytest.raises(ConfigError) as failed:
        wait.failed("Connection refused")
    assert str(failed.value) == (
        "cannot reach the database at db:5432/decnet (waited 2 s): Connection refused"
    )


def test_first_line_of_an_error() -> None:
    assert first_line(OSError("refused\n\tdetail")) == "refused"
    assert first_line(TimeoutError()) == "TimeoutError"


def test_an_address_names_host_port_and_database_without_credentials() -> None:
    assert service_address("postgresql://u:secret@db:6432/decnet", 5432) == "db:6432/decnet"
    assert service_address("redis://:secret@cache/2", 6379) == "cache:6379/2"
    assert service_address("unix:///run/redis.sock", 6379) == "/run/redis.sock"
