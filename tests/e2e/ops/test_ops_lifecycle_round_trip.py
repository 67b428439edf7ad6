"""`up`, a run, `down`, `up` with the default settings (retain_data=true), then `down --force`
during a run: what a user does over the life of a stack, on the emulator and a real ZenML server.

What they rely on: both `up`s succeed (the second adopts the bucket and repository the first
stack retained), nothing in the bucket is lost, the first run's artifacts still load, a new run
completes; `down --force` stops a run in progress, its ZenML run ends `stopped`, and no SageMaker
pipeline of the stack is left behind. The tests run in file order on one stack.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.zenml_server import LocalZenMLServer
from tests.support.deployed import CLI, client_of, run, user_env

SCRIPT = Path(__file__).with_name("round_trip_client.py")
STACK = "round-trip-test"
PREFIX = "rt-test"


@dataclass
class Life:
    """The module's emulator and ZenML client environment, and what earlier tests saw."""

    env: dict[str, str]
    config_path: Path
    seen: dict[str, Any] = field(default_factory=dict)

    def aws(self, service: str) -> Any:
        return client_of(self.env, service)

    def cli(self, *args: str) -> Any:
        return run(self.env, CLI, *args, "--config", str(self.config_path))

    def up(self) -> str:
        done = self.cli("up", "--stack-name", STACK, "-c", f"resource_prefix={PREFIX}")
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        return str(done.stdout)

    def client(self, *args: str) -> dict[str, Any]:
        done = run({**self.env, "SAGEMAKER_STACK_POLL_SECONDS": "1"}, sys.executable, str(SCRIPT), *args)
        lines = done.stdout.strip().splitlines()
        assert done.returncode == 0 and lines, done.stdout[-4000:] + done.stderr[-4000:]
        return dict(json.loads(lines[-1]))


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    root = tmp_path_factory.mktemp("round-trip")
    with Emulator(state_dir=root / "emulator") as emulator, LocalZenMLServer(root=root / "zenml") as server:
        yield Life(env=user_env(emulator, server, root / "client"), config_path=root / "stack.json")


def _versions(life: Life, bucket: str) -> set[tuple[str, str]]:
    s3 = life.aws("s3")
    return {
        (version["Key"], version["VersionId"])
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for version in page.get("Versions", [])
    }


def test_up_run_down_up_keeps_the_data_and_the_first_runs_artifacts_load(life: Life) -> None:
    first_up = life.up()
    for heading in ("Outputs:", "Stack ARN:"):  # cdk's headings whose values up does not print
        assert heading not in first_up
    config = StackConfig.load(life.config_path)
    assert config.retain_data

    first = life.client("run")
    assert first["status"] == "completed"
    loaded = life.client("load", first["id"])["artifacts"]
    assert loaded == {"numbers.numbers": list(range(10)), "total.total": 45}
    kept = _versions(life, config.bucket_name)
    assert len(kept) > 5  # the artifacts, their metadata, the code archive, the build context

    down = life.cli("down")
    assert down.returncode == 0, down.stdout[-4000:] + down.stderr[-4000:]
    assert f"kept bucket {config.bucket_name}" in down.stdout

    second_up = life.up()
    assert f"adopting the existing bucket {config.bucket_name}" in second_up
    assert f"adopting the existing repository {config.repository_name}" in second_up
    again = StackConfig.load(life.config_path)
    assert (again.bucket_name, again.repository_name) == (config.bucket_name, config.repository_name)
    assert kept <= _versions(life, config.bucket_name)  # nothing lost, every version

    assert life.client("load", first["id"])["artifacts"] == loaded
    second = life.client("run")
    assert second["status"] == "completed" and second["id"] != first["id"]
    life.seen["config"] = again


def test_down_force_stops_a_run_in_progress_and_leaves_no_pipeline(life: Life) -> None:
    config: StackConfig = life.seen["config"]
    sagemaker = life.aws("sagemaker")
    slow = life.client("start-slow")
    deadline = time.monotonic() + 600
    executing: list[str] = []
    while not executing:
        assert time.monotonic() < deadline, "the slow run never started executing"
        executing = [
            execution["PipelineExecutionArn"]
            for pipeline in sagemaker.list_pipelines(PipelineNamePrefix=config.pipeline_name_prefix)[
                "PipelineSummaries"
            ]
            for execution in sagemaker.list_pipeline_executions(PipelineName=pipeline["PipelineName"])[
                "PipelineExecutionSummaries"
            ]
            if execution["PipelineExecutionStatus"] == "Executing"
        ]
        time.sleep(1)

    refused = life.cli("down")
    assert refused.returncode != 0 and "still executing" in refused.stderr

    down = life.cli("down", "--force")
    assert down.returncode == 0, down.stdout[-4000:] + down.stderr[-4000:]
    assert "Traceback" not in down.stdout + down.stderr
    jobs = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    assert jobs and not [j for j in jobs if j["ProcessingJobStatus"] in ("InProgress", "Stopping")]
    assert life.client("status", slow["id"])["status"] == "stopped"
    left = sagemaker.list_pipelines(PipelineNamePrefix=config.pipeline_name_prefix)["PipelineSummaries"]
    assert left == []


def test_down_without_a_config_file_says_so_in_one_line(life: Life, tmp_path: Path) -> None:
    done = run(life.env, CLI, "down", "--config", str(tmp_path / "missing.json"), "--stack-name", STACK)
    assert done.returncode != 0
    assert f"no stack {STACK!r} is deployed" in done.stderr and "Traceback" not in done.stderr


def test_down_removes_a_stack_whose_deployment_failed_without_a_config_file(
    life: Life, tmp_path: Path
) -> None:
    """What a failed `up` leaves (a stack rolled back, no config file): `down --stack-name` removes it."""
    cloudformation, ecr = life.aws("cloudformation"), life.aws("ecr")
    ecr.create_repository(repositoryName="rt-failed-images")
    template = {
        "Resources": {
            "Repository": {
                "Type": "AWS::ECR::Repository",
                "Properties": {"RepositoryName": "rt-failed-images"},
            }
        }
    }
    cloudformation.create_stack(StackName="rt-failed", TemplateBody=json.dumps(template))
    assert (
        cloudformation.describe_stacks(StackName="rt-failed")["Stacks"][0]["StackStatus"]
        == "ROLLBACK_COMPLETE"
    )

    done = run(life.env, CLI, "down", "--config", str(tmp_path / "none.json"), "--stack-name", "rt-failed")

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "ROLLBACK_COMPLETE" in done.stdout
    live = [
        s["StackName"]
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert "rt-failed" not in live
