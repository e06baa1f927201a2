"""A syslog sender in a process of its own: `python -m tests.bench.sender PORT FILE`.

Streams FILE (octet-counted frames) over one TCP connection, then writes the seconds it took
to `FILE.sent` (how fast the collector accepted the lines).
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

CHUNK = 1 << 20


def main(port: int, path: Path) -> None:
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, path.open("rb") as f:
        while chunk := f.read(CHUNK):
            sock.sendall(chunk)
    Path(f"{path}.sent").write_text(f"{time.perf_counter() - start:.6f}")


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
