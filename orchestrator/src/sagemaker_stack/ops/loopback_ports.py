"""Ports on 127.0.0.1 for the servers the laptop side starts (the local ZenML server).

A port is bound by the process that chooses it and handed to the server as a listening socket:
a port picked free and bound later by the server can be taken in between by any other program
(other servers, emulators, a client's ephemeral port), and clients would then talk to whatever
holds it. SO_REUSEADDR as uvicorn binds: sockets of a server that just stopped (TIME_WAIT) hold
no port, only a program that listens does.
"""

from __future__ import annotations

import errno
import socket


class PortUnavailable(RuntimeError):
    """A port cannot be listened on; the message names it, and what wanted it, and the fix."""


def _bound(port: int, what: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"port {port} on 127.0.0.1 is in use by another program, so {what} cannot "
                "listen there: stop that program or choose another port"
            ) from None
        raise PortUnavailable(f"cannot use port {port} on 127.0.0.1: {error.strerror}") from None
    return sock


def check_port_free(port: int, what: str = "the ZenML server") -> None:
    """PortUnavailable naming the port (and `what` wanted it) when a program listens on it."""
    _bound(port, what).close()


def listen(port: int, what: str = "the ZenML server") -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: one the kernel picks), inheritable, for a
    server process to serve on (its port is `getsockname()[1]`)."""
    listener = _bound(port, what)
    listener.listen(128)
    listener.set_inheritable(True)
    return listener
