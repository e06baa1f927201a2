"""What each role may see of a decky: viewers get its settings with the secrets redacted."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from application.reads.rows import Decky
from domain.fleet.secrets import redact_service_config


def deckies_for(deckies: Sequence[Decky], *, admin: bool) -> list[Decky]:
    """The deckies as the caller may see them: whole for admins, secrets redacted otherwise."""
    if admin:
        return list(deckies)
    return [
        msgspec.structs.replace(d, service_config=redact_service_config(d.service_config))
        for d in deckies
    ]
