"""The local ZenML server's port: held from the moment it is known, kept across a restart.

Several servers and emulators start at once on one machine (a user's local environment beside a
demo, test workers, two `make test` runs): a port picked free and bound later by the server can
be taken in between, and clients would talk to whatever holds it.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from sagemaker_stack.ops.zenml_server import SERVER_FILE, LocalZenMLServer, ZenMLServerError


def _squat(port: int) -> socket.socket:
    """Another program listening on `port` (0: any)."""
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    return squatter


def test_no_port_is_guessed_before_the_start_and_the_chosen_one_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "zenml"
    server = LocalZenMLServer(root)
    # Another program takes the port the server would listen on if it had picked one already.
    with _squat(server.port) as squatter:
        server.start()
        try:
            assert server.port not in (0, squatter.getsockname()[1])
            with urllib.request.urlopen(f"{server.url}/health", timeout=10) as health:
                assert health.status == 200
            assert json.loads((root / SERVER_FILE).read_text())["port"] == server.port
        finally:
            server.stop()
    # The next start listens where the last one did: clients and the stack's secret keep the URL.
    again = LocalZenMLServer(root).start()
    try:
        assert again.url == server.url and again.answers()
    finally:
        again.stop()


def test_a_port_another_program_holds_is_one_message_and_starts_nothing(tmp_path: Path) -> None:
    with _squat(0) as squatter:
        port = squatter.getsockname()[1]
        server = LocalZenMLServer(tmp_path / "zenml", port=port)
        with pytest.raises(ZenMLServerError, match=f"port {port} on 127.0.0.1 is in use by another program"):
            server.start()
        assert server.pid is None and not server.log_file.exists()
