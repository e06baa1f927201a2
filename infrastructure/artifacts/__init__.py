"""Captured files on disk: one store owns the layout, the caps and the lookups."""
