"""The event history as auditors see it: stable type names, redaction, one-line summaries."""
