"""A TCP proxy between a server and the machine's PostgreSQL (or Redis) that a test can cut and
restore, so an outage hits one server's connections only (the services are shared)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from tests.api.harness import DecnetServer, free_port


class PgProxy:
    """Listens on a free loopback port and relays every connection to `upstream`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None

    def restore(self) -> None:
        """Accept and relay connections (again)."""
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        with self._lock:
            self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        """Stop listening and reset every relayed connection (the database "goes away")."""
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                # Accepted just before a cut, connected upstream after it: never relayed (the
                # cut had cleared `_open` already, and this pair outlived the outage).
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def pg_proxy(upstream: tuple[str, int], listening: bool = True) -> Iterator[PgProxy]:
    """A proxy (listening unless told otherwise), cut on exit."""
    proxy = PgProxy(upstream)
    if listening:
        proxy.restore()
    try:
        yield proxy
    finally:
        proxy.cut()


def assert_start_waits(
    server: DecnetServer, proxy: PgProxy, event: str, after_s: float = 3.0
) -> None:
    """`server` starts while `proxy` is cut and `proxy` answers `after_s` later: the server logs
    `event` while it waits, then serves; it is stopped cleanly after."""
    later = threading.Timer(after_s, proxy.restore)
    later.start()
    try:
        server.start()
        assert f'"{event}"' in server.log_path.read_text()
        with server.client() as api:
            assert api.get("/health").status_code == 401  # up, and asking for a token
    finally:
        later.cancel()
        server.stop_cleanly()
