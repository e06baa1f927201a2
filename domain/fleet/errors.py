"""Why a fleet INI or duration was refused; the interface maps each class to an HTTP status once."""

from __future__ import annotations

from domain.shared.errors import ConflictError, DecnetError, InvalidError


class FleetError(DecnetError):
    """A fleet request was refused; `section` None means the INI as a whole."""

    def __init__(self, section: str | None, key: str | None, reason: str) -> None:
        # Passing every field to Exception keeps the error picklable and its repr useful.
        super().__init__(section, key, reason)
        self.section = section
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        where = f"[{self.section}] " if self.section is not None else ""
        what = f"{self.key}: " if self.key is not None else ""
        return f"{where}{what}{self.reason}"


class IniInvalidError(FleetError, InvalidError):
    """The INI is malformed or breaks a rule on its own, whatever the fleet holds (HTTP 422)."""


class FleetConflictError(FleetError, ConflictError):
    """The INI is valid but clashes with the fleet or itself: names, IPs, net, limit (HTTP 409)."""


class InvalidDurationError(InvalidError, ValueError):
    """A duration such as `30m` or `5d` does not follow `^[1-9]\\d*[mdMyY]$` (HTTP 422)."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(value, reason)
        self.value = value
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
