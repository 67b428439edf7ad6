"""`sagemaker-stack emulator start|status|env|stop`, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

CLI = str(Path(sys.executable).parent / "sagemaker-stack")


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "emulator", *arguments], capture_output=True, text=True, timeout=120)


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    run("stop", "--state-dir", str(tmp_path))  # whatever the test did, leave nothing running


def test_start_status_env_stop(state_dir: Path) -> None:
    started = run("start", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stderr
    assert "emulator serving at http://127.0.0.1:" in started.stdout
    pid = int((state_dir / "emulator.pid").read_text())
    port = int((state_dir / "emulator.port").read_text())

    status = run("status", "--state-dir", str(state_dir))
    assert status.returncode == 0
    assert f"http://127.0.0.1:{port} (pid {pid}" in status.stdout

    again = run("start", "--state-dir", str(state_dir))
    assert again.returncode != 0
    assert "already running" in again.stderr

    printed = run("env", "--state-dir", str(state_dir))
    assert printed.returncode == 0
    exported = dict(
        line.removeprefix("export ").split("=", 1)
        for line in printed.stdout.splitlines()
        if line.startswith("export ")
    )
    assert exported["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    assert exported["AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION"] == f"http://localhost:{port}"
    assert exported["AWS_REGION"] == exported["AWS_DEFAULT_REGION"] == "us-east-1"
    session = boto3.Session(
        aws_access_key_id=exported["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exported["AWS_SECRET_ACCESS_KEY"],
        region_name=exported["AWS_REGION"],
    )
    identity = session.client("sts", endpoint_url=exported["AWS_ENDPOINT_URL"]).get_caller_identity()
    assert identity["Account"] == "123456789012"

    stopped = run("stop", "--state-dir", str(state_dir))
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    after = run("status", "--state-dir", str(state_dir))
    assert after.returncode == 1
    assert "no emulator is running" in after.stdout


def test_start_on_a_port_in_use_fails_with_the_fix(state_dir: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("start", "--port", str(port), "--state-dir", str(state_dir))
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use by " in result.stderr
    assert f"(pid {os.getpid()}); choose another with --port" in result.stderr


def test_start_with_a_job_start_up_model_says_it_and_status_reads_it_back(state_dir: Path) -> None:
    table = state_dir.parent / "startup.json"
    table.write_text('{"ml.g5.xlarge": 240}')
    started = run(
        "start",
        "--state-dir",
        str(state_dir),
        "--job-startup-seconds",
        "5",
        "--job-startup-table",
        str(table),
    )
    assert started.returncode == 0, started.stderr
    said = "job start-up: 5 s per job; ml.g5.xlarge: 240 s"
    assert said in started.stdout
    # status asks the running server, so this is the model the emulator runs with.
    status = run("status", "--state-dir", str(state_dir))
    assert status.returncode == 0 and said in status.stdout


def test_a_bad_job_start_up_table_is_one_line_and_starts_nothing(state_dir: Path) -> None:
    table = state_dir.parent / "startup.json"
    table.write_text('{"ml.g5.xlarge": -1}')
    refused = run("start", "--state-dir", str(state_dir), "--job-startup-table", str(table))
    assert refused.returncode != 0
    assert str(table) in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not (state_dir / "emulator.pid").exists()
