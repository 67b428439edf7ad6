"""A step's container, stood in for by a local process group.

The image is not pulled: the emulator's own Python environment stands in for it, so an
entrypoint that starts with `python`/`python3` runs this interpreter. The process gets what
SageMaker gives a container and nothing more: the step's Environment, credentials standing for
the role, the region, the emulator's endpoint, and a fresh working folder (also its HOME, so
nothing from the user's home, such as ~/.aws, leaks in). It runs in its own session so that
stopping it stops everything it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

#: moto accepts any credentials; these are the ones its documentation uses.
TEST_ACCESS_KEY_ID = "testing"
TEST_SECRET_ACCESS_KEY = "testing"
#: Seconds between SIGTERM and SIGKILL when a step is stopped (AWS waits longer; tests wait less).
STOP_GRACE_SECONDS = 5.0
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
#: Variables of the emulator's own environment a step process keeps: enough to find programs and
#: run Python, nothing that could carry the user's credentials or configuration.
_KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "VIRTUAL_ENV", "SYSTEMROOT", "TMPDIR")


class LogSink(Protocol):
    """Where one job's output lines go (the emulator's CloudWatch Logs stream)."""

    def write(self, line: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int
    timed_out: bool  # killed for running past MaxRuntimeInSeconds
    stopped: bool  # killed because the execution was stopped


def container_command(entrypoint: list[Any], arguments: list[Any]) -> list[str]:
    command = [str(item) for item in [*entrypoint, *arguments]]
    if command and _PYTHON.match(Path(command[0]).name):
        command[0] = sys.executable
    return command


def container_environment(
    step_environment: Mapping[str, str], *, region: str, endpoint_url: str, home: Path
) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in _KEPT_VARIABLES or (name.startswith("PYTHON") and name != "PYTHONSTARTUP")
    }
    venv_bin = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join(filter(None, [venv_bin, environment.get("PATH", "")]))
    environment["HOME"] = str(home)
    environment.update(step_environment)
    environment.update(
        {
            "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": endpoint_url,
        }
    )
    return environment


def run_container(
    command: list[str],
    *,
    work_dir: Path,
    environment: dict[str, str],
    sink: LogSink,
    max_runtime: float | None,
    stop: threading.Event,
    track: Callable[[subprocess.Popen[bytes] | None], None],
) -> ProcessOutcome:
    """Run to the end, a stop or the runtime limit; output lines go to `sink`.

    `track` is told the process once it runs (and None when it is over) so that a stop from
    another thread can terminate it at once. OSError if the command cannot be started.
    """
    try:
        process = subprocess.Popen(
            command,
            cwd=work_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError:
        sink.close()
        raise
    track(process)
    reader = threading.Thread(target=_pump, args=(process, sink), daemon=True)
    reader.start()
    try:
        timed_out = _wait(process, max_runtime, stop)
    finally:
        reader.join(timeout=STOP_GRACE_SECONDS)
        sink.close()
        track(None)
    return ProcessOutcome(process.returncode, timed_out, stop.is_set())


def _wait(process: subprocess.Popen[bytes], max_runtime: float | None, stop: threading.Event) -> bool:
    """Wait for the process; True if it was killed for running past max_runtime."""
    deadline = time.monotonic() + max_runtime if max_runtime else None
    timed_out = terminated = False
    while True:
        try:
            process.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            pass
        if terminated:
            continue
        if stop.is_set():
            terminated = True
            terminate(process)
        elif deadline is not None and time.monotonic() > deadline:
            terminated = timed_out = True
            terminate(process)
    # As when a container ends: nothing the step started outlives it.
    kill_group(process, signal.SIGKILL)
    return timed_out


def _pump(process: subprocess.Popen[bytes], sink: LogSink) -> None:
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line:
            sink.write(line)


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the step's process group now, SIGKILL it after a grace period."""
    if process.poll() is not None:
        return
    kill_group(process, signal.SIGTERM)

    def finish() -> None:
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            kill_group(process, signal.SIGKILL)

    threading.Thread(target=finish, daemon=True).start()


def kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
