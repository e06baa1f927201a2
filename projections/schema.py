"""The PostgreSQL schema that holds every read model (separate from the event store's)."""

READ_SCHEMA = "decnet_read"
