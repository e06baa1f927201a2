"""Shared state through Redis (`DECNET_REDIS_URL`): broadcast, tickets, denylist, throttle."""
