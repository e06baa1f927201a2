"""One test for "the disk refused the write" (no space, or over quota): callers keep what they
have and wait or discard, rather than crash (the journal, uploads, the evidence bundle)."""

from __future__ import annotations

import errno

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """An `OSError` the disk raised because it is full (or the writer is over its quota)."""
    return isinstance(error, OSError) and error.errno in DISK_FULL
