"""Helpers for the emulator tests: hand-written pipeline definitions and a boto3 driver."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sagemaker_stack.local import Emulator
from tests.support.images import STEP_IMAGE

ROLE_ARN = "arn:aws:iam::123456789012:role/emulator-test"
#: The bucket `Pipelines` makes for the steps' data (a training step's model goes to s3://BUCKET/out).
BUCKET = "emulator-test-data"


def python_step(
    name: str,
    code: str,
    depends_on: tuple[str, ...] = (),
    environment: dict[str, Any] | None = None,
    step_type: str = "Processing",
    image: str = STEP_IMAGE,
    **extra: Any,
) -> dict[str, Any]:
    """A step whose container runs `python -c code` in `image` (by default the minimal image)."""
    command = {"ContainerEntrypoint": ["python3", "-c", code], "ContainerArguments": []}
    if step_type == "Processing":
        arguments: dict[str, Any] = {
            "AppSpecification": {"ImageUri": image, **command},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 30}
            },
            "RoleArn": ROLE_ARN,
        }
    else:
        arguments = {
            "AlgorithmSpecification": {
                "TrainingImage": image,
                "TrainingInputMode": "File",
                **command,
            },
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "RoleArn": ROLE_ARN,
        }
    if environment:
        arguments["Environment"] = environment
    arguments.update(extra.pop("arguments", {}))
    step: dict[str, Any] = {"Name": name, "Type": step_type, "Arguments": arguments}
    if depends_on:
        step["DependsOn"] = list(depends_on)
    step.update(extra)
    return step


def definition(*steps: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"Version": "2020-12-01", "Parameters": parameters or [], "Steps": list(steps)})


class Pipelines:
    """Create/start/wait through boto3 against the emulator, exactly as a client on AWS would."""

    def __init__(self, server: Emulator) -> None:
        self.sagemaker = server.client("sagemaker")
        self.logs = server.client("logs")
        self.s3 = server.client("s3")
        if BUCKET not in {bucket["Name"] for bucket in self.s3.list_buckets()["Buckets"]}:
            self.s3.create_bucket(Bucket=BUCKET)
        self._count = 0

    def start(
        self,
        *steps: dict[str, Any],
        parameters: list[dict[str, Any]] | None = None,
        max_parallel: int | None = None,
    ) -> str:
        self._count += 1
        name = f"test-pipeline-{self._count}"
        create: dict[str, Any] = {
            "PipelineName": name,
            "PipelineDefinition": definition(*steps, parameters=parameters),
            "RoleArn": ROLE_ARN,
        }
        if max_parallel is not None:
            create["ParallelismConfiguration"] = {"MaxParallelExecutionSteps": max_parallel}
        self.sagemaker.create_pipeline(**create)
        return str(self.sagemaker.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"])

    def wait(self, arn: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
            if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
                return dict(described)
            time.sleep(0.2)
        raise AssertionError(f"execution {arn} did not end within {timeout} s")

    def steps(self, arn: str) -> dict[str, dict[str, Any]]:
        listed = self.sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)
        return {step["StepName"]: step for step in listed["PipelineExecutionSteps"]}

    def wait_for_step(self, arn: str, step: str, status: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.steps(arn).get(step, {}).get("StepStatus") == status:
                return
            time.sleep(0.2)
        raise AssertionError(f"step {step} of {arn} did not reach {status} within {timeout} s")


def read_float(path: Path) -> float:
    return float(path.read_text())


def wait_for_file(path: Path, timeout: float = 60.0) -> str:
    """The file's text once a step has written it (steps take a moment to start Python)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written within {timeout} s")


def saved(emulator: Emulator, timeout: float = 120.0) -> None:
    """Wait until the emulator has saved every change it acknowledged so far."""
    deadline = time.monotonic() + timeout
    while emulator.state_report()["unsaved"]:
        assert time.monotonic() < deadline, f"no save within {timeout} s: {emulator.state_report()}"
        time.sleep(0.2)


def clean(value: Any) -> Any:
    """A response without its ResponseMetadata, with bodies read, comparable with ==."""
    if isinstance(value, dict):
        return {key: clean(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, list):
        return [clean(item) for item in value]
    if hasattr(value, "read"):
        return value.read()
    return value


def job_request(kind: str, name: str, code: str, image: str = STEP_IMAGE, **extra: Any) -> dict[str, Any]:
    """A standalone CreateProcessingJob / CreateTrainingJob request (`kind`: "Processing" or
    "Training") whose container runs `python3 -c code`, as `python_step` makes a step's."""
    arguments = python_step(name, code, step_type=kind, image=image)["Arguments"]
    specification = arguments["AppSpecification" if kind == "Processing" else "AlgorithmSpecification"]
    del specification["ContainerArguments"]  # empty in a definition, too short for the API
    request: dict[str, Any] = {f"{kind}JobName": name, **arguments, **extra}
    return request


def wait_for_job(sagemaker: Any, kind: str, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """Describe the job until it has ended (Completed, Failed or Stopped)."""
    describe = sagemaker.describe_processing_job if kind == "Processing" else sagemaker.describe_training_job
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = describe(**{f"{kind}JobName": name})
        if described[f"{kind}JobStatus"] not in ("InProgress", "Stopping"):
            return dict(described)
        time.sleep(0.2)
    raise AssertionError(f"{kind} job {name} did not end within {timeout} s")
