"""A step's container, stood in for by a local process group in the environment of its image.

The image (see build) is a Python environment: an entrypoint that starts with
`python`/`python3` runs the image's interpreter, the image's `bin` is first on PATH, and the
command is the job's ContainerEntrypoint/ContainerArguments or else the image's ENTRYPOINT/CMD,
as docker combines them. The process gets what SageMaker gives a container and nothing more:
the image's ENV, under the step's Environment, under what SageMaker sets (credentials standing
for the role, the region, the emulator's endpoint), and a fresh working folder that starts with
the image's WORKDIR content; the image's WORKDIR path, in its ENV and the command, means that
folder (also the process's HOME, so nothing from the user's home, such as ~/.aws, leaks in). It
runs in its own session so that stopping it stops everything it started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sagemaker_stack.local.images.reference import is_python

if TYPE_CHECKING:  # the CLI imports this module's constants and must stay light
    from sagemaker_stack.local.images.store import Image

#: moto accepts any credentials; these are the ones its documentation uses.
TEST_ACCESS_KEY_ID = "testing"
TEST_SECRET_ACCESS_KEY = "testing"
#: Seconds between SIGTERM and SIGKILL when a step is stopped (AWS waits longer; tests wait less).
STOP_GRACE_SECONDS = 5.0
#: Variables of the emulator's own environment a step process keeps: enough to run Python and to
#: reach the network the way this machine does (its CA bundle, proxies and package index stand in
#: for those of a container image on AWS), nothing that could carry the user's credentials.
KEPT_VARIABLES = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "SYSTEMROOT",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
)


class LogSink(Protocol):
    """Where one job's output lines go (the emulator's CloudWatch Logs stream)."""

    def write(self, line: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int
    timed_out: bool  # killed for running past MaxRuntimeInSeconds
    stopped: bool  # killed because the execution was stopped


class CommandError(ValueError):
    """The job names no command and its image has none."""


def container_command(
    step_type: str, specification: dict[str, Any], image: Image, work_dir: Path
) -> list[str]:
    """What the container runs, as SageMaker starts the image and docker combines its parts.

    ContainerEntrypoint replaces the image's ENTRYPOINT (and its CMD); otherwise a training job
    runs `<ENTRYPOINT> train` and a processing job `<ENTRYPOINT> <ContainerArguments or CMD>`.
    """
    config = image.config
    entrypoint = [str(item) for item in specification.get("ContainerEntrypoint") or []]
    arguments = [str(item) for item in specification.get("ContainerArguments") or []]
    if entrypoint:
        command = [*entrypoint, *arguments]
    elif step_type == "Training":
        command = [*(config.entrypoint or []), "train"]
    else:
        command = [*(config.entrypoint or []), *(arguments or config.cmd or [])]
    if not command or (step_type == "Training" and not config.entrypoint and not entrypoint):
        raise CommandError(
            "the job names no ContainerEntrypoint and its image has no ENTRYPOINT"
            + ("" if step_type == "Training" else " or CMD")
        )
    command = [_in_work_dir(word, config.workdir, work_dir) for word in command]
    if is_python(command[0]):
        command[0] = str(image.environment.python)
    return command


def prepare_work_dir(image: Image, work_dir: Path) -> None:
    """A fresh working folder that starts with the image's WORKDIR content."""
    work_dir.mkdir(parents=True, exist_ok=False)
    if image.files is not None:
        content = image.files / image.config.workdir.lstrip("/")
        if image.config.workdir != "/" and content.is_dir():
            shutil.copytree(content, work_dir, symlinks=True, dirs_exist_ok=True)


def container_environment(
    step_environment: Mapping[str, str],
    *,
    image: Image,
    region: str,
    endpoint_url: str,
    home: Path,
) -> dict[str, str]:
    """A step container's environment: the image's ENV, the step's Environment, SageMaker's own."""
    environment = _kept_variables()
    config = image.config
    environment.update(
        {name: _in_work_dir(value, config.workdir, home) for name, value in config.env.items()}
    )
    path = config.env.get("PATH") or os.environ.get("PATH", "")
    environment["PATH"] = os.pathsep.join(filter(None, [str(image.environment.bin), path]))
    environment["HOME"] = str(home)
    environment.update(step_environment)
    environment.update(_aws_variables(region, endpoint_url))
    return environment


def host_environment(*, region: str, endpoint_url: str, home: Path) -> dict[str, str]:
    """A process on the emulator's own tools (a CodeBuild build): its Python first on PATH."""
    environment = _kept_variables()
    venv_bin = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join(filter(None, [venv_bin, os.environ.get("PATH", "")]))
    environment["HOME"] = str(home)
    environment.update(_aws_variables(region, endpoint_url))
    return environment


def _kept_variables() -> dict[str, str]:
    """What a process keeps of the emulator's own environment: enough to find programs and run Python."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in KEPT_VARIABLES or (name.startswith("PYTHON") and name != "PYTHONSTARTUP")
    }


def _aws_variables(region: str, endpoint_url: str) -> dict[str, str]:
    """Credentials standing for the role, the region and the emulator's endpoint."""
    return {
        "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
    }


def _in_work_dir(value: str, workdir: str, work_dir: Path) -> str:
    """A path under the image's WORKDIR, as it is in the job's working folder."""
    if workdir != "/" and (value == workdir or value.startswith(workdir.rstrip("/") + "/")):
        return str(work_dir) + value[len(workdir.rstrip("/")) :]
    return value


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
