"""Signed checkpoints and verifiable evidence bundles."""
