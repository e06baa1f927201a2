"""Syslog collector: RFC 5424 parsing and TCP framing for the data plane (SPEC §5)."""
