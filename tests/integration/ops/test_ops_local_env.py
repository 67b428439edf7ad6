"""`sagemaker-stack local start|status|env|stop|destroy`, run as a user runs them, in a shell.

One environment is shared by the module's first test (each start of the ZenML server costs about
8 s); the bad-input tests start nothing, since ports and the state folder are checked first.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "sagemaker-stack")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ZENML_", "SAGEMAKER_STACK_"))}


def local(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "local", *args], env=_env(), capture_output=True, text=True, timeout=timeout)


def shell(script: str) -> subprocess.CompletedProcess[str]:
    """A bash session, as a user's, with the venv's tools first on PATH."""
    return subprocess.run(["bash", "-c", script], env=_env(), capture_output=True, text=True, timeout=300)


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "local"
    yield state
    local("destroy", "--state-dir", str(state))


def _pids(state: Path) -> tuple[int, int]:
    return (
        int((state / "emulator" / "emulator.pid").read_text()),
        json.loads((state / "zenml" / "server.json").read_text())["pid"],
    )


def test_start_env_status_stop_start_destroy(state_dir: Path) -> None:
    started = local("start", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stdout + started.stderr
    assert re.search(r"started the emulator at http://127\.0\.0\.1:\d+", started.stdout)
    assert re.search(r"ZenML dashboard: http://127\.0\.0\.1:\d+", started.stdout)
    assert f"password: `cat {state_dir / 'zenml' / 'admin-password'}`" in started.stdout
    assert (state_dir / "zenml" / "admin-password").stat().st_mode & 0o777 == 0o600
    assert (state_dir / "zenml-client").stat().st_mode & 0o777 == 0o700
    pids = _pids(state_dir)

    # Idempotent: what runs is kept.
    again = local("start", "--state-dir", str(state_dir))
    assert again.returncode == 0 and again.stdout.count("already running:") == 2, again.stdout
    assert _pids(state_dir) == pids

    # Every tool works from the printed lines alone: the AWS CLI (v1), boto3, zenml.
    used = shell(
        f'eval "$(sagemaker-stack local env --state-dir {state_dir})" && '
        "aws s3 mb s3://local-env-test && aws s3 ls && "
        'python -c \'import boto3; print(boto3.client("s3").list_buckets()["Buckets"][0]["Name"])\' && '
        "zenml stack list && echo ZENML_CONFIG_PATH=$ZENML_CONFIG_PATH"
    )
    assert used.returncode == 0, used.stdout + used.stderr
    assert used.stdout.count("local-env-test") == 3  # made, listed by the AWS CLI, by boto3
    assert "default" in used.stdout  # ZenML's default stack, listed by the server
    assert f"ZENML_CONFIG_PATH={state_dir / 'zenml-client'}" in used.stdout
    password = (state_dir / "zenml" / "admin-password").read_text().strip()
    printed = local("env", "--state-dir", str(state_dir)).stdout
    assert password not in printed and "AWS_DEFAULT_REGION=us-east-1" in printed

    status = local("status", "--state-dir", str(state_dir))
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(", answers") == 2

    recorded = json.loads((state_dir / "local.json").read_text())
    stopped = local("stop", "--state-dir", str(state_dir))
    assert "stopped the emulator" in stopped.stdout and "stopped the ZenML server" in stopped.stdout
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    status = local("status", "--state-dir", str(state_dir))
    assert status.returncode == 1 and "stopped (last at http://127.0.0.1:" in status.stdout
    not_running = local("env", "--state-dir", str(state_dir))
    assert not_running.returncode == 1
    assert not_running.stderr.startswith("Error: the emulator and the ZenML server of the local environment")
    assert "sagemaker-stack local start" in not_running.stderr

    # Started again right away on the same ports (sockets in TIME_WAIT are no running program),
    # with the same ZenML database: the admin password still logs in.
    restarted = local("start", "--state-dir", str(state_dir))
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert json.loads((state_dir / "local.json").read_text()) == recorded
    assert f"http://127.0.0.1:{recorded['zenml_port']}" in restarted.stdout
    listed = shell(f'eval "$(sagemaker-stack local env --state-dir {state_dir})" && zenml stack list')
    assert listed.returncode == 0, listed.stdout + listed.stderr

    destroyed = local("destroy", "--state-dir", str(state_dir))
    assert destroyed.returncode == 0 and not state_dir.exists(), destroyed.stdout


@pytest.mark.parametrize(
    ("option", "what"), [("--port", "the emulator"), ("--zenml-port", "the ZenML server")]
)
def test_start_on_a_port_another_program_holds_is_one_line_and_starts_nothing(
    state_dir: Path, option: str, what: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        done = local("start", "--state-dir", str(state_dir), option, str(port))
    assert done.returncode == 1
    # One line that names the port and the option that moves it (the emulator words its own part).
    assert done.stderr.startswith(f"Error: port {port} on 127.0.0.1 is in use"), done.stderr
    assert done.stderr.endswith(f"; choose another with `sagemaker-stack local start {option} PORT`\n")
    assert "--port or omit it" not in done.stderr  # `emulator start`'s advice, not this command's
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    if what == "the ZenML server":
        assert "so the ZenML server cannot listen there" in done.stderr
    assert not (state_dir / "emulator" / "emulator.pid").exists()
    assert not (state_dir / "zenml" / "server.json").exists()


def test_a_state_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = local("start", "--state-dir", str(blocker / "local"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: state folder {blocker / 'local'} is not writable (")
    assert done.stderr.endswith("choose another with --state-dir\n") and done.stderr.count("\n") == 1


def test_destroy_removes_only_a_local_environment(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    done = local("destroy", "--state-dir", str(tmp_path))
    assert done.returncode == 1 and "holds no local environment" in done.stderr
    assert (tmp_path / "precious.txt").exists()
