"""A real ZenML server on loopback, for the demo, the local environment and the end-to-end tests.

Why not `zenml login --local`: that server runs with `NO_AUTH` (any API key is accepted, so a
test could not tell whether the step entrypoint really read the key from the stack's secret),
it is a double-forked daemon that outlives a crashed test, and the CLI round trips cost about
20 s. Instead we run ZenML's own server app under uvicorn as a child process in its own process
group, with its own config folder and SQLite store and the OAuth2 password scheme that a
deployed server uses. The default user gets a random password; a service account and API key
are created over the REST API, and clients are pointed at the server with
`ZENML_STORE_URL` + `ZENML_STORE_API_KEY` and their own `ZENML_CONFIG_PATH` (a client sharing
the server's config folder is treated as local by ZenML and refuses remote orchestrators).

`stop()` kills the whole process group, so no server process outlives the harness.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from sagemaker_stack.config import SecretKey

#: Seconds to wait for the server to answer /health (13 s measured here; slow CI machines vary).
DEFAULT_START_TIMEOUT = 120.0


class ZenMLServerError(RuntimeError):
    """The local ZenML server did not start or refused a request."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalZenMLServer:
    """One ZenML server process on 127.0.0.1 with an authenticated service account.

    Use as a context manager, or call `start()` and `stop()`. After `start()`, `url` and
    `api_key` identify the service account every client (and the stack's secret) should use.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        port: int | None = None,
        service_account: str = "sagemaker-stack",
    ) -> None:
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="zenml-server-"))
        self.port = port or free_port()
        self.service_account = service_account
        self._admin_password = secrets.token_urlsafe(24)
        self._process: subprocess.Popen[bytes] | None = None
        self._pgid: int | None = None
        self._api_key: str | None = None
        self._clients = 0

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (what ZENML_STORE_URL and the stack secret hold)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        """The service account's API key; only valid after `start()`."""
        if self._api_key is None:
            raise ZenMLServerError("the ZenML server is not started: call start() first")
        return self._api_key

    @property
    def log_file(self) -> Path:
        """The server's combined stdout/stderr, for diagnosing a failed start."""
        return self.root / "server.log"

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> LocalZenMLServer:
        """Start the server, wait until it is healthy and create the service account's key."""
        if self._process is not None:
            return self
        server_dir = self.root / "server"
        server_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **_clean_zenml_environment(os.environ),
            "ZENML_CONFIG_PATH": str(server_dir),
            "ZENML_SERVER": "true",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_STORE_URL": f"sqlite:///{server_dir / 'zenml.db'}",
            "ZENML_SERVER_AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",
            "ZENML_SERVER_DEPLOYMENT_TYPE": "other",
            "ZENML_SERVER_AUTO_ACTIVATE": "true",
            "ZENML_DEFAULT_USER_PASSWORD": self._admin_password,
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "zenml.zen_server.zen_server_api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log_file.open("ab") as log:
            # A new session makes the server the leader of its own process group: stop() kills
            # the group, so workers it might fork go too, and Ctrl+C in a terminal does not race us.
            self._process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._pgid = self._process.pid
        try:
            self._wait_healthy(timeout)
            self._api_key = self._create_api_key()
        except BaseException:
            self.stop()
            raise
        return self

    def is_running(self) -> bool:
        """Whether any process of the server's process group is still alive."""
        if self._pgid is None:
            return False
        try:
            os.killpg(self._pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server's process group and remove its folder if we created it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        if process is not None:
            # The group may still hold children after the leader exited.
            _signal_group(process.pid, signal.SIGKILL)
        self._api_key = None
        if self._own_root:
            _remove_tree(self.root)

    def __enter__(self) -> LocalZenMLServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clients -------------------------------------------------------------------------------

    def client_env(self, config_path: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Environment variables that point a ZenML client at this server as the service account.

        Each client gets its own `ZENML_CONFIG_PATH` (a fresh folder under the harness root unless
        given): ZenML keeps its credentials cache and active stack there.
        """
        if config_path is None:
            self._clients += 1
            config_path = self.root / f"client-{self._clients}"
        Path(config_path).mkdir(parents=True, exist_ok=True)
        return {
            "ZENML_CONFIG_PATH": str(config_path),
            "ZENML_STORE_URL": self.url,
            "ZENML_STORE_API_KEY": self.api_key,
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
        }

    def admin_env(self, config_path: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """Client variables for the server's admin user (password login, no API key).

        In ZenML OSS (no RBAC) only an admin may create service accounts and API keys, which is
        what `sagemaker-stack register` does for the steps: the person registering a stack is an
        admin, the steps are not.
        """
        env = self.client_env(config_path)
        env.pop("ZENML_STORE_API_KEY")
        env["ZENML_STORE_USERNAME"] = "default"
        env["ZENML_STORE_PASSWORD"] = self._admin_password
        return env

    def secret_payload(self) -> str:
        """The JSON the stack's Secrets Manager secret holds for this server."""
        return json.dumps({SecretKey.SERVER_URL: self.url, SecretKey.API_KEY: self.api_key})

    # -- internals -----------------------------------------------------------------------------

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ZenMLServerError(
                    f"the ZenML server exited with code {self._process.returncode} while starting; "
                    f"see {self.log_file}:\n{_tail(self.log_file)}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise ZenMLServerError(
            f"the ZenML server on {self.url} was not healthy after {timeout:.0f} s; see {self.log_file}"
        )

    def _create_api_key(self) -> str:
        token = self._request(
            "/api/v1/login",
            form={"username": "default", "password": self._admin_password},
        )["access_token"]
        account = self._request(
            "/api/v1/service_accounts", body={"name": self.service_account, "active": True}, token=token
        )
        key = self._request(
            f"/api/v1/service_accounts/{account['id']}/api_keys", body={"name": "steps"}, token=token
        )
        return str(key["body"]["key"])

    def _request(
        self,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body or {}).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                result: dict[str, Any] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as error:
            # The body names the problem; it never echoes the password we sent.
            raise ZenMLServerError(
                f"ZenML server refused POST {path}: HTTP {error.code} {error.read()[:500]!r}"
            ) from None


def _clean_zenml_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The caller's environment minus ZENML_* settings that would point the server elsewhere."""
    return {key: value for key, value in environ.items() if not key.startswith("ZENML_")}


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
