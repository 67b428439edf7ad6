"""A local environment whose state folder sits beside the pipeline file, as a user's project has it.

The README's flow in a git project: `local start --state-dir <project>/local-state`, `eval "$(local
env)"`, `sagemaker-stack up`, `eval` again (it pins the registered stack), then pipelines run from
the project folder, so ZenML's code archive starts from the folder that holds the state. In order:
a `kill -9` of the emulator while a step runs ends the execution Failed with a reason, and the
client says so without a traceback (the archive never walked the emulator's state, which the
state folder's `.gitignore` keeps out); then three first runs of a new pipeline started at once
all run on the registered stack (none falls back to ZenML's default stack or a SQLite store).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.ops.test_ops_local_demo import _base_env, _exports, _wait_for_executing_step
from tests.support.deployed import CLI, REPO

CLIENT = Path(__file__).with_name("local_env_client.py")
STACK = "local-project"


@dataclass
class Project:
    folder: Path
    state: Path
    env: dict[str, str]

    def run(self, *command: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command), cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def aws(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)


def _local_env(base: dict[str, str], state: Path) -> dict[str, str]:
    printed = _cli(base, "local", "env", "--state-dir", str(state))
    assert printed.returncode == 0, printed.stdout + printed.stderr
    return {**base, **_exports(printed.stdout)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    folder = tmp_path_factory.mktemp("project")
    shutil.copy(CLIENT, folder / "pipeline.py")
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    state = folder / "local-state"
    base = _base_env()
    try:
        started = _cli(base, "local", "start", "--state-dir", str(state))
        assert started.returncode == 0, started.stdout + started.stderr
        env = _local_env(base, state)
        assert "ZENML_ACTIVE_STACK_ID" not in env  # nothing registered yet
        up = _cli(
            env, "up", "--stack-name", STACK, "-c", "retain_data=false", "--config", str(folder / "s.json")
        )
        assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
        env = _local_env(base, state)  # again: now it pins the stack `up` registered
        assert "ZENML_ACTIVE_STACK_ID" in env
        yield Project(folder=folder, state=state, env=env)
    finally:
        _cli(base, "local", "destroy", "--state-dir", str(state))


def test_the_state_folder_beside_the_pipeline_is_never_archived(project: Project) -> None:
    assert (project.state / ".gitignore").read_text().splitlines()[-1] == "*"
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project.folder,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "local-state" not in listed.stdout and "pipeline.py" in listed.stdout


def test_kill_9_during_a_step_fails_the_execution_with_a_reason_and_no_traceback(project: Project) -> None:
    client = subprocess.Popen(
        [sys.executable, "pipeline.py", "slow"],
        cwd=project.folder,
        env={**project.env, "ZENML_LOGGING_VERBOSITY": "INFO", "SAGEMAKER_STACK_POLL_SECONDS": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sagemaker = project.aws("sagemaker")
        arn = _wait_for_executing_step(sagemaker, "slow_sum", timeout=900)
        os.kill(int((project.state / "emulator" / "emulator.pid").read_text()), signal.SIGKILL)
        started = _cli(_base_env(), "local", "start", "--state-dir", str(project.state))
        assert started.returncode == 0, started.stdout + started.stderr
        output, _ = client.communicate(timeout=600)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 1, output[-4000:]
    assert "Traceback" not in output and "FileNotFoundError" not in output, output[-6000:]
    assert "ended Failed" in output, output[-4000:]
    execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert execution["PipelineExecutionStatus"] == "Failed"
    assert execution.get("FailureReason"), execution
    # The code ZenML uploaded for the run holds the pipeline file and nothing of the state.
    archives = [
        item["Key"]
        for page in project.aws("s3").get_paginator("list_objects_v2").paginate(Bucket=_bucket(project))
        for item in page.get("Contents", [])
        if item["Key"].endswith(".tar.gz") and "code_uploads" in item["Key"]
    ]
    assert archives, "no code archive was uploaded"
    body = project.aws("s3").get_object(Bucket=_bucket(project), Key=archives[0])["Body"].read()
    archive = project.folder.parent / "archive.tar.gz"
    archive.write_bytes(body)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "pipeline.py" in names and not [name for name in names if "local-state" in name], names


def test_three_first_runs_at_once_all_run_on_the_registered_stack(project: Project) -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "pipeline.py", "quick"],
            cwd=project.folder,
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=1200)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-4000:]
        assert "Creating default stack" not in output and "Traceback" not in output, output[-4000:]
    listed = project.run(sys.executable, "pipeline.py", "runs", "quick_pipeline")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    found = json.loads(listed.stdout.strip().splitlines()[-1])
    assert found == [{"status": "completed", "stack": STACK}] * 3, found
    # Nothing made a local store, and the shared client folder still points at the server.
    assert not list((project.state / "zenml-client").rglob("*.db"))
    status = _cli(_base_env(), "local", "status", "--state-dir", str(project.state))
    assert status.returncode == 0, status.stdout


def _bucket(project: Project) -> str:
    return str(json.loads((project.folder / "s.json").read_text())["bucket_name"])
