"""Tamper evidence: Merkle hashing, proofs and the canonical bytes of stored events."""
