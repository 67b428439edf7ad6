"""A TCP forwarder on loopback that can go dark: an endpoint outage the client really sees.

While paused it accepts nothing (connections are refused: the port is not listened on) and it
has dropped every open connection, as when an endpoint goes away; `resume()` listens on the same
port again. `wait_for_request(marker)` waits until a request carrying `marker` went through (the
client's first poll, say), so a test starts the outage on a condition, not after a sleep.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target_port`; `pause()` and `resume()` make an outage."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._sent = bytearray()  # what clients sent upstream, for wait_for_request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def pause(self) -> None:
        """Refuse new connections and drop the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        for sock in [*(c for c in connections), *([listener] if listener else [])]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def wait_for_request(self, marker: bytes, timeout: float = 300.0) -> None:
        """Return once a client sent `marker` through the proxy (e.g. an operation's name)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if marker in self._sent:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"no request with {marker!r} went through the proxy in {timeout} s")
            time.sleep(0.1)

    def _record(self, data: bytes) -> None:
        with self._lock:
            self._sent += data

    def resume(self) -> None:
        self.start()

    def stop(self) -> None:
        self.pause()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # paused or stopped
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink, seen in ((client, upstream, self._record), (upstream, client, None)):
                threading.Thread(target=_pump, args=(source, sink, seen), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, seen: Callable[[bytes], None] | None) -> None:
    try:
        while data := source.recv(65536):
            if seen is not None:
                seen(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
