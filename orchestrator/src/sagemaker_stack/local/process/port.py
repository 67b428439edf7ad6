"""The emulator's port: taken so that a restart gets it back at once, and who holds it when not.

After a server on port P stops, the connections it closed stay in TIME_WAIT for about a minute;
they are not a program, but without SO_REUSEADDR the kernel refuses to bind P until they are
gone. With SO_REUSEADDR on the listener (its connections inherit it) and on the next bind, P is
free again as soon as the server is; a program really listening on P is still refused. So a
refused bind means a holder, and the message names it (for this user's processes; another
user's are "another program").
"""

from __future__ import annotations

import errno
import socket

import psutil


class PortInUse(Exception):
    """str() is the one-line message for the user."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0 picks a free port); PortInUse if it is taken."""
    listener = bind(host, port)
    listener.listen(128)
    return listener


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEADDR; PortInUse if it is taken."""
    candidate = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    candidate.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        candidate.bind((host, port))
    except OSError as error:
        candidate.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(in_use_message(host, port)) from None
        raise
    return candidate


def check_free(host: str, port: int) -> None:
    """PortInUse if the server could not take host:port now."""
    bind(host, port).close()


#: What `emulator start` advises for a port in use (`local start` has its own options instead).
PORT_ADVICE = "choose another with --port or omit it for a free one"


def in_use_message(host: str, port: int) -> str:
    return f"port {port} on {host} is in use by {holder(port)}; {PORT_ADVICE}"


def holder(port: int) -> str:
    """Who holds a local TCP port: `name (pid N)`, or what is known of it."""
    try:
        connections = [
            item for item in psutil.net_connections(kind="tcp") if item.laddr and item.laddr.port == port
        ]
    except (psutil.Error, OSError):
        return "another program"
    for connection in connections:
        if connection.pid is None or connection.status == psutil.CONN_TIME_WAIT:
            continue
        try:
            return f"{psutil.Process(connection.pid).name()} (pid {connection.pid})"
        except psutil.Error:
            return f"pid {connection.pid}"
    if connections and all(item.status == psutil.CONN_TIME_WAIT for item in connections):
        return "connections closed less than a minute ago by a program that did not allow reuse (TIME_WAIT)"
    return "another program"
