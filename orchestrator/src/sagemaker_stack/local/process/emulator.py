"""Start, find, reset and stop the emulator's server process from Python.

The server always runs as its own process (`python -m sagemaker_stack.local.process.server`), so step
processes, the `cdk` CLI and boto3 in any process all reach it the same way: over HTTP at
`endpoint_url`. Use it as a context manager in tests:

    with Emulator(state_dir=tmp_path) as emulator:
        emulator.client("s3").list_buckets()

This module imports neither moto nor boto3 at load time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from sagemaker_stack.local.images.container import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
from sagemaker_stack.local.process.port import PortInUse, check_free
from sagemaker_stack.local.process.server import HEALTH_PATH
from sagemaker_stack.local.sagemaker.startup import StartupModel, StartupModelError
from sagemaker_stack.local.state.layout import (
    IMAGES_FOLDER,
    LOG_FILE,
    PID_FILE,
    PORT_FILE,
    STARTUP_TABLE_FILE,
    state_dir_problem,
)


def data_dir() -> Path:
    """The platform's data folder for this tool (`$XDG_DATA_HOME/sagemaker-stack` on Linux).

    State lives there by default, outside the user's project: a folder beside a pipeline would
    otherwise be walked by ZenML's code archive (and uploaded with every run).
    """
    import platformdirs

    return platformdirs.user_data_path("sagemaker-stack")


DEFAULT_STATE_DIR = data_dir() / "emulator"
DEFAULT_REGION = "us-east-1"
HOST = "127.0.0.1"


class EmulatorError(RuntimeError):
    """The emulator cannot be started, reached or stopped; the message says what to do."""


def emulator_env(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """The variables that point boto3, the AWS CLI and the cdk CLI at the emulator."""
    port = endpoint_url.rsplit(":", 1)[-1].rstrip("/")
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # The cdk CLI builds the template URL it hands CloudFormation from this (it makes no
        # request to it); moto reads a `localhost` URL path-style, while with `127.0.0.1` it
        # would take "127" for the bucket name.
        "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{port}",
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _health(endpoint_url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The server's health document (pid, port, region), or None if nothing answers there."""
    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=timeout) as response:
            document = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


class Emulator:
    """One emulator server process with its state folder (pid, port, log, step work folders)."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str] = DEFAULT_STATE_DIR,
        port: int | None = None,
        region: str = DEFAULT_REGION,
        *,
        job_startup_seconds: float = 0.0,
        job_startup_table: Mapping[str, float] | None = None,
    ) -> None:
        """`job_startup_seconds` / `job_startup_table`: the start-up every SageMaker job waits
        before its container runs, by default and by instance type (sagemaker.startup)."""
        self.state_dir = Path(state_dir).resolve()
        self.region = region
        try:
            self.job_startup = StartupModel(job_startup_seconds, job_startup_table or {})
        except StartupModelError as error:
            raise EmulatorError(str(error)) from None
        self._requested_port = port
        self.port: int | None = None
        self.pid: int | None = None
        #: What the server said of the state it found at start (restored, or why it starts empty).
        self.state_notice: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- finding one that runs ------------------------------------------------------------------
    @classmethod
    def attach(
        cls, state_dir: str | os.PathLike[str] = DEFAULT_STATE_DIR, region: str | None = None
    ) -> Emulator:
        """The emulator already serving from state_dir; EmulatorError if none does.

        Its region is the one it was started with unless `region` is given.
        """
        emulator = cls(state_dir, region=region or DEFAULT_REGION)
        health = emulator._read_running()
        if health is None:
            raise EmulatorError(
                f"no emulator is running from {emulator.state_dir}; "
                f"start one with `sagemaker-stack emulator start --state-dir {emulator.state_dir}`"
            )
        emulator.region = region or str(health.get("region") or DEFAULT_REGION)
        startup = health.get("job_startup") or {}
        with contextlib.suppress(StartupModelError, TypeError):
            emulator.job_startup = StartupModel(startup.get("default_seconds", 0), startup.get("table") or {})
        return emulator

    def _read_running(self) -> dict[str, Any] | None:
        """The health document of the server the pid/port files name, if it serves."""
        try:
            pid = int((self.state_dir / PID_FILE).read_text().strip())
            port = int((self.state_dir / PORT_FILE).read_text().strip())
        except (OSError, ValueError):
            return None
        health = _health(f"http://{HOST}:{port}") if _pid_alive(pid) else None
        if health is None or health.get("pid") != pid:
            return None
        self.pid, self.port = pid, port
        self.state_notice = _notice(health)
        return health

    @property
    def image_store(self) -> Path:
        """The emulator's image store: set EMULATOR_IMAGE_STORE to it for its `docker` stand-in."""
        return self.state_dir / IMAGES_FOLDER

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise EmulatorError("the emulator is not started: call start() first")
        return f"http://{HOST}:{self.port}"

    def is_serving(self) -> bool:
        return self.port is not None and _health(self.endpoint_url) is not None

    def state_report(self) -> dict[str, Any]:
        """The server's word on its saved state: `restore` (what it found at start), the last save
        (`saved_at`, `bytes`, `pause_seconds`, `write_seconds`, ...) and `error` if saving fails."""
        health = _health(self.endpoint_url)
        if health is None:
            raise EmulatorError(f"the emulator at {self.endpoint_url} is not reachable")
        return dict(health.get("state") or {})

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0, *, exit_with_parent: bool = True) -> Emulator:
        """Spawn the server and wait until it answers; returns self.

        With `exit_with_parent` (the default) the server stops by itself when this process
        ends, even if it is killed before it can call stop(); the CLI's `start` turns it off.
        """
        problem = state_dir_problem(self.state_dir)
        if problem:
            raise EmulatorError(problem)
        if Emulator(self.state_dir)._read_running() is not None:
            raise EmulatorError(
                f"an emulator is already running from {self.state_dir}; stop it with "
                f"`sagemaker-stack emulator stop --state-dir {self.state_dir}` or choose another --state-dir"
            )
        if self._requested_port:
            self._check_port_free(self._requested_port)
        for name in (PID_FILE, PORT_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / name).unlink()
        log_path = self.state_dir / LOG_FILE
        command = [
            sys.executable,
            "-m",
            "sagemaker_stack.local.process.server",
            "--port",
            str(self._requested_port or 0),
            "--state-dir",
            str(self.state_dir),
            "--region",
            self.region,
        ]
        if exit_with_parent:
            command.append("--exit-with-parent")
        command += self._startup_options()
        # Created private (as everything the server writes, under its umask 077).
        with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            offset = log.tell()
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self.pid = self._process.pid
        self._wait_ready(timeout, log_path, offset)
        return self

    def _startup_options(self) -> list[str]:
        """The server's options for the start-up model; its table goes in a private file."""
        table_file = self.state_dir / STARTUP_TABLE_FILE
        table_file.unlink(missing_ok=True)
        options = ["--job-startup-seconds", repr(self.job_startup.default_seconds)]
        if self.job_startup.table:
            with os.fdopen(os.open(table_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
                json.dump(dict(self.job_startup.table), file)
            options += ["--job-startup-table", str(table_file)]
        return options

    @staticmethod
    def _check_port_free(port: int) -> None:
        """As the server will bind it (SO_REUSEADDR: a port our last server just left is free)."""
        try:
            check_free(HOST, port)
        except PortInUse as error:
            raise EmulatorError(str(error)) from None
        except OSError as error:
            raise EmulatorError(f"cannot use port {port} on {HOST}: {error.strerror}") from None

    def _wait_ready(self, timeout: float, log_path: Path, offset: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                self.pid = None
                raise EmulatorError(f"the emulator did not start: {_log_tail(log_path, offset)}")
            try:
                pid = int((self.state_dir / PID_FILE).read_text().strip())
                port = int((self.state_dir / PORT_FILE).read_text().strip())
            except (OSError, ValueError):
                time.sleep(0.1)
                continue
            health = _health(f"http://{HOST}:{port}") if pid == self.pid else None
            if health is not None:
                self.port = port
                self.state_notice = _notice(health)
                return
            time.sleep(0.1)
        self.stop()
        raise EmulatorError(
            f"the emulator did not answer within {timeout:.0f} s; see {log_path}: "
            f"{_log_tail(log_path, offset)}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the server (it ends running steps and saves its state), SIGKILL if it does not exit."""
        if self.pid is None:
            return
        pid, process = self.pid, self._process
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        else:
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.pid = self.port = None
        self._process = None

    def reset(self) -> None:
        """Forget all AWS state and stop running executions (moto's `POST /moto-api/reset`)."""
        request = urllib.request.Request(self.endpoint_url + "/moto-api/reset", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
        except (urllib.error.URLError, OSError) as error:
            raise EmulatorError(f"the emulator at {self.endpoint_url} is not reachable: {error}") from None

    def detach(self) -> None:
        """Leave the server running after this object is gone (the CLI's `start`)."""
        self._process = None

    # -- using it ---------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Variables to export so that AWS tools in any process talk to this emulator."""
        return emulator_env(self.endpoint_url, self.region)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for boto3.client(...) that reach this emulator."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": TEST_ACCESS_KEY_ID,
            "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        }

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on this emulator."""
        import boto3

        return boto3.client(service, **self.client_kwargs())  # type: ignore[call-overload]

    def __enter__(self) -> Emulator:
        if self.pid is None:
            self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _notice(health: dict[str, Any]) -> str | None:
    return str((health.get("state") or {}).get("restore") or "") or None


def _log_tail(path: Path, offset: int, lines: int = 5) -> str:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(tail) or "(no output)"
