"""Audit errors: bad proof requests and malformed checkpoints are invalid input (422)."""

from __future__ import annotations

from domain.shared.errors import InvalidError


class ProofError(InvalidError, ValueError):
    """A proof that cannot be computed or evaluated (index, sizes or shape out of range)."""


class CheckpointError(InvalidError, ValueError):
    """A checkpoint or signed checkpoint that does not have the documented form."""
