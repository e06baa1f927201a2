"""Use cases on the read models themselves: rebuilds, as-of views, status."""
