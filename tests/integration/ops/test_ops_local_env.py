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

from sagemaker_stack.local import Emulator
from sagemaker_stack.local.sagemaker.startup import StartupModel
from sagemaker_stack.ops.processes import AWS_AND_ZENML, environment_without

CLI = str(Path(sys.executable).parent / "sagemaker-stack")


def _env() -> dict[str, str]:
    return environment_without(os.environ, (*AWS_AND_ZENML, "SAGEMAKER_STACK_"))


def local(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "local", *args], env=_env(), capture_output=True, text=True, timeout=timeout)


def shell(script: str) -> subprocess.CompletedProcess[str]:
    """A bash session, as a user's, with the venv's tools first on PATH."""
    env = {**_env(), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)


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


def test_start_env_status_stop_start_destroy(state_dir: Path, tmp_path: Path) -> None:
    table = tmp_path / "startup.json"
    table.write_text(json.dumps({"ml.g5.xlarge": 240}))
    model = ("--job-startup-seconds", "5", "--job-startup-table", str(table))
    started = local("start", "--state-dir", str(state_dir), *model)
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
    other = local("start", "--state-dir", str(state_dir), "--job-startup-seconds", "7")
    assert other.returncode == 1 and "already runs with a job start-up of 5 s per job" in other.stderr
    assert "Traceback" not in other.stderr

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
    assert "job start-up: 5 s per job; ml.g5.xlarge: 240 s" in status.stdout

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
    # The start-up model is kept as the ports are: the restarted emulator runs with it.
    assert Emulator.attach(state_dir / "emulator").job_startup == StartupModel(5, {"ml.g5.xlarge": 240})
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


def _in_env(state: Path, command: str) -> subprocess.CompletedProcess[str]:
    return shell(f'eval "$(sagemaker-stack local env --state-dir {state})" && {command}')


_ACTIVE = (
    "from zenml.client import Client; c = Client(); "
    "print('ACTIVE', c.active_stack_model.name, c.zen_store.url)"
)


def test_the_environment_is_private_its_clients_pinned_and_a_damaged_client_folder_repaired(
    state_dir: Path,
) -> None:
    import base64
    import sqlite3

    import psutil
    import yaml  # type: ignore[import-untyped]

    started = local("start", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stdout + started.stderr
    server_url = re.search(r"ZenML dashboard: (http://127\.0\.0\.1:\d+)", started.stdout)
    assert server_url, started.stdout

    # Private: the folder is its user's alone, nothing the emulator or the server wrote is
    # world-readable, and git (so ZenML's code archive) ignores all of it.
    assert state_dir.stat().st_mode & 0o777 == 0o700
    assert (state_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    readable = [
        path for path in state_dir.rglob("*") if path.stat().st_mode & 0o044 and not path.is_symlink()
    ]
    assert readable == [], readable
    # No secret in the server's process environment; its secrets are encrypted at rest.
    password = (state_dir / "zenml" / "admin-password").read_text().strip()
    server = psutil.Process(json.loads((state_dir / "zenml" / "server.json").read_text())["pid"])
    assert password not in server.environ().values()
    assert not [name for name in server.environ() if "PASSWORD" in name or "ENCRYPTION" in name]
    # The server runs ZenML's AWS service connectors: they reach the emulator, as they would AWS.
    emulator_port = json.loads((state_dir / "local.json").read_text())["emulator_port"]
    assert server.environ().get("AWS_ENDPOINT_URL") == f"http://127.0.0.1:{emulator_port}"
    assert (state_dir / "zenml" / "secrets-key").stat().st_mode & 0o777 == 0o600
    created = _in_env(state_dir, "zenml secret create at-rest --value=not-in-clear-9f3a")
    assert created.returncode == 0, created.stdout + created.stderr
    with sqlite3.connect(state_dir / "zenml" / "server" / "zenml.db") as database:
        (stored,) = database.execute('SELECT "values" FROM secret').fetchone()
    assert b"not-in-clear-9f3a" not in base64.b64decode(stored + "=" * (-len(stored) % 4))

    # Once a stack is registered, `local env` pins it, the server and the project.
    registered = _in_env(state_dir, "zenml stack register pinned -o default -a default --set")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    printed = local("env", "--state-dir", str(state_dir)).stdout
    assert f"export ZENML_STORE_URL={server_url.group(1)}" in printed
    assert "export ZENML_ACTIVE_PROJECT_ID=" in printed and "export ZENML_ACTIVE_STACK_ID=" in printed

    # What concurrent starts leave behind (an empty config.yaml) is named and changes nothing
    # for a process of the environment: same server, same stack, no SQLite store made.
    config = state_dir / "zenml-client" / "config.yaml"
    config.write_text("")
    status = local("status", "--state-dir", str(state_dir))
    assert status.returncode == 1
    assert f"problem: {config} is empty: `sagemaker-stack local start` repairs it" in status.stdout
    used = _in_env(state_dir, f'python -c "{_ACTIVE}"')
    assert used.returncode == 0, used.stdout + used.stderr
    assert f"ACTIVE pinned {server_url.group(1)}" in used.stdout
    assert not list((state_dir / "zenml-client").rglob("*.db"))

    # What such a process wrote back for all later ones: another store and ZenML's default stack.
    config.write_text(
        yaml.safe_dump(
            {
                "store": {
                    "type": "sql",
                    "url": f"sqlite:///{state_dir}/zenml-client/local_stores/x/zenml.db",
                },
                "active_stack_id": str(_stack_id(state_dir, "default")),
            }
        )
    )
    status = local("status", "--state-dir", str(state_dir))
    assert status.returncode == 1
    assert "points at another ZenML store (sqlite:///" in status.stdout
    assert "is ZenML's 'default' stack, not the registered 'pinned'" in status.stdout
    repaired = local("start", "--state-dir", str(state_dir))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.count("repaired the ZenML client configuration") == 2, repaired.stdout
    assert local("status", "--state-dir", str(state_dir)).returncode == 0
    fixed = yaml.safe_load(config.read_text())
    assert fixed["store"]["url"] == server_url.group(1)
    assert fixed["active_stack_id"] == _stack_id(state_dir, "pinned")

    # An emulator that cannot save its state says so (here: a file where its state goes).
    saved = state_dir / "emulator" / "state"
    saved.rename(state_dir / "state-kept")
    saved.write_text("in the way")
    try:
        _in_env(state_dir, "aws s3 mb s3://changed-after-the-save-broke")
        status = _wait_for_status(state_dir, "not being saved")
        assert status.returncode == 1
        assert f"problem: the emulator's state is not being saved (cannot write {saved}" in status.stdout
    finally:
        saved.unlink()
        (state_dir / "state-kept").rename(saved)


def _stack_id(state: Path, name: str) -> str:
    found = _in_env(
        state, f"python -c \"from zenml.client import Client; print(Client().get_stack('{name}').id)\""
    )
    assert found.returncode == 0, found.stdout + found.stderr
    return found.stdout.strip().splitlines()[-1]


def _wait_for_status(state: Path, text: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = local("status", "--state-dir", str(state))
        if text in status.stdout or time.monotonic() > deadline:
            return status
        time.sleep(1)
