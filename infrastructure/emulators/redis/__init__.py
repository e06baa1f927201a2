"""The redis emulator: RESP framing, a small keyspace, recorded commands."""
