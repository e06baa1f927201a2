"""Commands on the read models themselves: zero-downtime rebuilds and as-of views."""
