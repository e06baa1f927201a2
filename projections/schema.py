"""Where read models live in PostgreSQL.

Each live read model owns a schema of its own (`decnet_rm_<model>`), so a rebuild can fill a
shadow schema beside it and swap the two in one transaction; an as-of view holds every model it
serves in one schema (`decnet_view_<label>`). Positions and the view registry live in the
control schema. Table names are unique across models, so models can share a view's schema.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTROL_SCHEMA = "decnet_read"
LIVE_PREFIX = "decnet_rm_"
VIEW_PREFIX = "decnet_view_"
SHADOW_SUFFIX = "__next"


def live_schema(model: str) -> str:
    """The schema holding a live read model."""
    return f"{LIVE_PREFIX}{model}"


def shadow_schema(model: str) -> str:
    """The schema a zero-downtime rebuild fills before it replaces the live one."""
    return f"{LIVE_PREFIX}{model}{SHADOW_SUFFIX}"


def view_schema(label: str) -> str:
    """The schema of an as-of view (labels are `[a-z0-9-]`, so `-` → `_` is one-to-one)."""
    return f"{VIEW_PREFIX}{label.replace('-', '_')}"


@dataclass(frozen=True, slots=True)
class Namespace:
    """A set of read models: the live schemas, or one view's schema."""

    view: str | None = None

    def schema(self, model: str) -> str:
        """The schema holding `model` in this set."""
        return live_schema(model) if self.view is None else view_schema(self.view)


LIVE = Namespace()
