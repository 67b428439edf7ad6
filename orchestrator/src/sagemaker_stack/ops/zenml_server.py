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

Its state folder (`root`) keeps what a restart needs, so the same server can run in the
background between commands (the local environment) and be found again with `attach(root)`:
`server/zenml.db` (the database), `server.json` (pid and port, written once it answers),
`admin-password` (mode 0600: the dashboard's login as user `default`), `secrets-key` (mode 0600:
the key ZenML's SQL secrets store encrypts secrets with; without one ZenML keeps them only
base64-encoded) and `api-key` (mode 0600: the service account's). The admin's first-login survey
in the dashboard is answered at start (see `_skip_onboarding`).

No secret is in the server's process environment: it starts inactive and is activated over the
API with the admin's password (ZenML's onboarding path) instead of `ZENML_DEFAULT_USER_PASSWORD`;
the key is read from its file by the process itself (`zenml_server_launch`). A database older
than keys keeps working unencrypted (a key would make its secrets unreadable). umask 077. ZenML runs
AWS connectors there: `aws_endpoint_url` (the emulator's) becomes the server's AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
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
from sagemaker_stack.ops.loopback_ports import PortUnavailable, listen
from sagemaker_stack.ops.processes import environment_without

#: Seconds to wait for the server to answer /health (13 s measured here; slow CI machines vary).
DEFAULT_START_TIMEOUT = 120.0
#: The admin user ZenML creates with the database (ZENML_DEFAULT_USER_NAME's default).
ADMIN_USER = "default"
SERVER_FILE = "server.json"
PASSWORD_FILE = "admin-password"
API_KEY_FILE = "api-key"
SECRETS_KEY_FILE = "secrets-key"


class ZenMLServerError(RuntimeError):
    """The local ZenML server did not start or refused a request."""


class LocalZenMLServer:
    """One ZenML server process on 127.0.0.1 with an authenticated service account.

    Use as a context manager, or call `start()` and `stop()`; `detach()` leaves it running and
    `attach(root)` finds it again from another process. After `start()`, `url` and `api_key`
    identify the service account every client (and the stack's secret) should use.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        port: int | None = None,
        service_account: str = "sagemaker-stack",
        aws_endpoint_url: str | None = None,
    ) -> None:
        self._own_root = root is None
        self.aws_endpoint_url = aws_endpoint_url
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="zenml-server-"))
        # 0 until `start` binds: then the port the kernel picked (no guess another program can take).
        self.port: int = port or _recorded(self.root / SERVER_FILE).get("port") or 0
        self.service_account = service_account
        self._admin_password = _read_private(self.password_file) or secrets.token_urlsafe(24)
        self._api_key: str | None = _read_private(self.root / API_KEY_FILE)
        self._process: subprocess.Popen[bytes] | None = None
        self._pgid: int | None = None
        self._clients = 0
        self._token: str | None = None

    @classmethod
    def attach(cls, root: str | os.PathLike[str]) -> LocalZenMLServer:
        """The server already running from `root`; ZenMLServerError if none answers there."""
        server = cls(root)
        recorded = _recorded(server.root / SERVER_FILE)
        pid = recorded.get("pid")
        if not isinstance(pid, int) or not _is_zenml_server(pid) or not server.answers():
            raise ZenMLServerError(f"no ZenML server is running from {server.root}")
        if server._api_key is None:
            raise ZenMLServerError(f"the ZenML server in {server.root} has no {API_KEY_FILE} file")
        server._pgid = pid
        return server

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (what ZENML_STORE_URL and the stack secret hold)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id (the leader of its process group) while it runs."""
        return self._pgid

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

    @property
    def password_file(self) -> Path:
        """Mode 0600: the password of the admin user `default` (the dashboard's login)."""
        return self.root / PASSWORD_FILE

    @property
    def database(self) -> Path:
        """The server's SQLite database: every pipeline, run, artifact and stack it knows."""
        return self.root / "server" / "zenml.db"

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> LocalZenMLServer:
        """Start the server, wait until it is healthy and create the service account's key.

        With the database of an earlier start in `root`, the server goes on from it (same admin
        password, same API key, every run it knew).
        """
        if self._process is not None:
            return self
        server_dir = self.root / "server"
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)
        server_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = not self.database.exists()
        if fresh:
            self._api_key = None
            if not self.secrets_key_file.exists():
                _write_private(self.secrets_key_file, secrets.token_hex(32), 0o600)
        _write_private(self.password_file, self._admin_password, 0o600)
        try:
            listener = listen(self.port)
        except PortUnavailable as error:
            raise ZenMLServerError(str(error)) from None
        self.port = int(listener.getsockname()[1])
        env = {
            **environment_without(os.environ, ("ZENML_",)),
            "ZENML_CONFIG_PATH": str(server_dir),
            "ZENML_SERVER": "true",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_STORE_URL": f"sqlite:///{self.database}",
            "ZENML_SERVER_AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",
            "ZENML_SERVER_DEPLOYMENT_TYPE": "other",
            # Activated below over the API, so the admin's password is in no environment.
            "ZENML_SERVER_AUTO_ACTIVATE": "false",
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
            **({"AWS_ENDPOINT_URL": self.aws_endpoint_url} if self.aws_endpoint_url else {}),
        }
        command = [
            sys.executable,
            "-m",
            "sagemaker_stack.ops.zenml_server_launch",
            str(self.secrets_key_file) if self.has_encrypted_secrets() else "-",
            str(listener.fileno()),
            "zenml.zen_server.zen_server_api:app",
        ]
        with listener, _open_private_log(self.log_file) as log:
            # A new session makes the server the leader of its own process group: stop() kills
            # the group, so workers it might fork go too, and Ctrl+C in a terminal does not race us.
            self._process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=0o077,
                pass_fds=(listener.fileno(),),
            )
        self._pgid = self._process.pid
        try:
            self._wait_healthy(timeout)
            self._activate()
            token = self._login()
            if self._api_key is None:
                self._api_key = self._create_api_key(token)
                _write_private(self.root / API_KEY_FILE, self._api_key, 0o600)
            self._skip_onboarding(token)
        except BaseException:
            self.stop()
            raise
        _write_private(self.root / SERVER_FILE, json.dumps({"pid": self._pgid, "port": self.port}), 0o600)
        return self

    @property
    def secrets_key_file(self) -> Path:
        """Mode 0600: the key of ZenML's SQL secrets store (made with the database)."""
        return self.root / SECRETS_KEY_FILE

    def has_encrypted_secrets(self) -> bool:
        """Whether the server encrypts secrets at rest (False: a database older than the key)."""
        return self.secrets_key_file.is_file()

    def answers(self, timeout: float = 2.0) -> bool:
        """Whether the server's /health answers now."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

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

    def detach(self) -> None:
        """Leave the server running after this object is gone (`attach(root)` finds it)."""
        self._process = None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server's process group and remove its folder if we created it.

        `is_running()` stays truthful afterwards (it looks at the group, which is gone).
        """
        process, self._process = self._process, None
        running = self.is_running()
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        elif process is None and running and self._pgid is not None:
            # Attached: not our child, so wait for its group to go rather than for a status.
            _signal_group(self._pgid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.is_running() and time.monotonic() < deadline:
                time.sleep(0.1)
        if running and self._pgid is not None:
            # The group may still hold children after the leader exited.
            _signal_group(self._pgid, signal.SIGKILL)
            if _recorded(self.root / SERVER_FILE).get("pid") == self._pgid and self.root.is_dir():
                # The port stays recorded: the next start listens there again.
                _write_private(self.root / SERVER_FILE, json.dumps({"port": self.port}), 0o600)
        if self._own_root:
            self._api_key = None
            shutil.rmtree(self.root, ignore_errors=True)

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
        env["ZENML_STORE_USERNAME"] = ADMIN_USER
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
            if self.answers():
                return
            time.sleep(0.25)
        raise ZenMLServerError(
            f"the ZenML server on {self.url} was not healthy after {timeout:.0f} s; see {self.log_file}"
        )

    def _activate(self) -> None:
        """Activate a new server with the admin's password (if someone was first, login fails)."""
        info = self._request("/api/v1/info", method="GET")
        if info.get("active", True):
            return
        body = {"admin_username": ADMIN_USER, "admin_password": self._admin_password}
        self._request("/api/v1/activate", method="PUT", body=body)

    def admin_get(self, path: str) -> dict[str, Any] | None:
        """GET `path` of the API as the admin; None when the server answers 404 (no such thing)."""
        if self._token is None:
            self._token = self._login()
        try:
            return self._request(path, method="GET", token=self._token)
        except ZenMLServerError as error:
            if "HTTP 404" in str(error):
                return None
            raise

    def _login(self) -> str:
        form = {"username": ADMIN_USER, "password": self._admin_password}
        return str(self._request("/api/v1/login", form=form)["access_token"])

    def _create_api_key(self, token: str) -> str:
        account = self._request(
            "/api/v1/service_accounts", body={"name": self.service_account, "active": True}, token=token
        )
        key = self._request(
            f"/api/v1/service_accounts/{account['id']}/api_keys", body={"name": "steps"}, token=token
        )
        return str(key["body"]["key"])

    def _skip_onboarding(self, token: str) -> None:
        """Answer the survey ZenML's dashboard shows a user at first login, for the admin.

        The dashboard (0.98) shows it while the user's `email_opted_in` is null or their
        `user_metadata` lacks `finished_onboarding_survey`: both are set here, as skipping the
        survey would (no e-mail, no newsletter), so the dashboard opens on the runs. The opt-in
        has its own endpoint: `PUT /users/{id}` ignores `email_opted_in`.
        """
        user = self._request("/api/v1/current-user", method="GET", token=token)
        metadata = dict((user.get("metadata") or {}).get("user_metadata") or {})
        metadata["finished_onboarding_survey"] = True
        path = f"/api/v1/users/{user['id']}"
        self._request(path, method="PUT", body={"user_metadata": metadata}, token=token)
        self._request(f"{path}/email-opt-in", method="PUT", body={"email_opted_in": False}, token=token)

    def _request(
        self,
        path: str,
        *,
        method: str = "POST",
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif method != "GET":
            data = json.dumps(body or {}).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                result: dict[str, Any] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as error:
            # The body names the problem; it never echoes the password we sent.
            raise ZenMLServerError(
                f"ZenML server refused {method} {path}: HTTP {error.code} {error.read()[:500]!r}"
            ) from None


def _recorded(path: Path) -> dict[str, Any]:
    """A JSON state file of the server's folder, {} when it is missing or unreadable."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _read_private(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _write_private(path: Path, text: str, mode: int) -> None:
    """Atomically, created with `mode` (never world-readable for a moment)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.chmod(temporary, mode)
    temporary.replace(path)


def _open_private_log(path: Path) -> Any:
    """The log, for appending, created mode 0600 (it may name paths and users)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def _is_zenml_server(pid: int) -> bool:
    """Whether `pid` is a live ZenML server process (not another program that reused the pid)."""
    import psutil  # a dependency of ZenML

    try:
        return "zenml.zen_server.zen_server_api:app" in psutil.Process(pid).cmdline()
    except psutil.Error:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
