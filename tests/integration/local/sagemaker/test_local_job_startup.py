"""The emulator's start-up model: every job waits its modeled start-up before its container runs.

With `job_startup_seconds` (and a table by instance type) a standalone job and a pipeline step's
job stay InProgress (a step `Starting`) for that long before their container runs; their start
time (ProcessingStartTime / TrainingStartTime, what AWS bills from) is when the start-up ended; a
Stop during the wait ends the job at once. Asserted on the recorded timestamps, not on sleeps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sagemaker_stack.local import Emulator
from tests.support.emulator import Pipelines, job_request, python_step, wait_for_job
from tests.support.images import step_image

#: The fixture's model: 2 s by default, longer for two instance types.
DEFAULT_SECONDS = 2.0
TABLE = {"ml.m5.xlarge": 4.0, "ml.p3.2xlarge": 600.0}


@pytest.fixture(scope="module")
def startup_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state_dir = tmp_path_factory.mktemp("emulator-startup")
    with Emulator(
        state_dir=state_dir, job_startup_seconds=DEFAULT_SECONDS, job_startup_table=TABLE
    ) as server:
        yield server


@pytest.fixture
def pipelines(startup_server: Emulator) -> Iterator[Pipelines]:
    step_image(startup_server)
    yield Pipelines(startup_server)
    startup_server.reset()


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def _first_log_time(pipelines: Pipelines, group: str, name: str) -> float:
    streams = pipelines.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{name}/")
    stream = streams["logStreams"][0]["logStreamName"]
    events = pipelines.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return float(min(event["timestamp"] for event in events["events"])) / 1000


def _processing(name: str, code: str, instance_type: str | None = None, **extra: Any) -> dict[str, Any]:
    request = job_request("Processing", name, code, **extra)
    if instance_type:
        request["ProcessingResources"]["ClusterConfig"]["InstanceType"] = instance_type
    return request


def test_a_processing_job_runs_only_after_its_start_up(pipelines: Pipelines) -> None:
    pipelines.sagemaker.create_processing_job(**_processing("waits", "print('running now')"))
    early = pipelines.sagemaker.describe_processing_job(ProcessingJobName="waits")
    assert early["ProcessingJobStatus"] == "InProgress"
    assert "ProcessingStartTime" not in early  # its instances are not up yet

    described = wait_for_job(pipelines.sagemaker, "Processing", "waits")
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    assert _seconds(described["ProcessingStartTime"], described["CreationTime"]) >= DEFAULT_SECONDS
    assert described["ProcessingEndTime"] >= described["ProcessingStartTime"]
    first_line = _first_log_time(pipelines, "/aws/sagemaker/ProcessingJobs", "waits")
    assert first_line >= described["ProcessingStartTime"].timestamp() - 0.01


def test_the_table_sets_the_start_up_of_its_instance_types(pipelines: Pipelines) -> None:
    pipelines.sagemaker.create_processing_job(**_processing("bigger", "print(1)", "ml.m5.xlarge"))

    described = wait_for_job(pipelines.sagemaker, "Processing", "bigger")
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    assert _seconds(described["ProcessingStartTime"], described["CreationTime"]) >= TABLE["ml.m5.xlarge"]


def test_a_stop_during_the_start_up_stops_the_job_at_once(pipelines: Pipelines, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('ran')"
    pipelines.sagemaker.create_processing_job(**_processing("slow-start", code, "ml.p3.2xlarge"))

    pipelines.sagemaker.stop_processing_job(ProcessingJobName="slow-start")

    described = wait_for_job(pipelines.sagemaker, "Processing", "slow-start", timeout=60)
    assert described["ProcessingJobStatus"] == "Stopped"
    assert "ProcessingStartTime" not in described
    assert _seconds(described["ProcessingEndTime"], described["CreationTime"]) < 60
    assert not marker.exists(), "the container ran although the job was stopped while it started"


def test_a_training_job_reports_its_start_and_billable_time_without_the_start_up(
    pipelines: Pipelines,
) -> None:
    code = "import time; time.sleep(1.5); open('/opt/ml/model/weights.txt', 'w').write('42')"
    pipelines.sagemaker.create_training_job(**job_request("Training", "billed", code))

    described = wait_for_job(pipelines.sagemaker, "Training", "billed")
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    start, end = described["TrainingStartTime"], described["TrainingEndTime"]
    assert _seconds(start, described["CreationTime"]) >= DEFAULT_SECONDS
    transitions = described["SecondaryStatusTransitions"]
    assert [item["Status"] for item in transitions] == ["Starting", "Downloading", "Training", "Completed"]
    assert transitions[0]["StatusMessage"] == "Launching requested ML instances"
    assert _seconds(transitions[0]["EndTime"], transitions[0]["StartTime"]) >= DEFAULT_SECONDS
    assert all(item["StartTime"] <= item["EndTime"] for item in transitions)
    billed = math.ceil(_seconds(end, start))
    assert described["TrainingTimeInSeconds"] == billed >= 1
    assert described["BillableTimeInSeconds"] == billed  # no spot discount in the emulator
    # The start-up is not billed: the job lasted longer than it was billed for.
    assert (
        _seconds(end, described["CreationTime"]) >= described["BillableTimeInSeconds"] + DEFAULT_SECONDS - 1
    )


def test_a_pipeline_step_is_starting_during_its_jobs_start_up(pipelines: Pipelines) -> None:
    slow = python_step("Slow", "print(1)")
    slow["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.p3.2xlarge"
    arn = pipelines.start(slow)

    pipelines.wait_for_step(arn, "Slow", "Starting")
    job_arn = pipelines.steps(arn)["Slow"]["Metadata"]["ProcessingJob"]["Arn"]
    job = pipelines.sagemaker.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
    assert job["ProcessingJobStatus"] == "InProgress"
    assert "ProcessingStartTime" not in job

    pipelines.sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert pipelines.wait(arn, timeout=60)["PipelineExecutionStatus"] == "Stopped"
    job = wait_for_job(pipelines.sagemaker, "Processing", job_arn.rsplit("/", 1)[-1], timeout=60)
    assert job["ProcessingJobStatus"] == "Stopped"


def test_a_pipeline_steps_job_starts_after_its_start_up(pipelines: Pipelines) -> None:
    arn = pipelines.start(python_step("Quick", "print('step output')"))

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"
    step = pipelines.steps(arn)["Quick"]
    name = step["Metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
    job = pipelines.sagemaker.describe_processing_job(ProcessingJobName=name)
    assert _seconds(job["ProcessingStartTime"], job["CreationTime"]) >= DEFAULT_SECONDS
    first_line = _first_log_time(pipelines, "/aws/sagemaker/ProcessingJobs", name)
    assert first_line >= job["ProcessingStartTime"].timestamp() - 0.01


def test_a_job_the_emulators_stop_cuts_off_during_its_start_up_ends_failed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Emulator(state, job_startup_seconds=600) as emulator:
        step_image(emulator)
        sagemaker = emulator.client("sagemaker")
        sagemaker.create_processing_job(**_processing("cut", "print(1)"))
        assert (
            sagemaker.describe_processing_job(ProcessingJobName="cut")["ProcessingJobStatus"] == "InProgress"
        )

    with Emulator(state) as emulator:
        described = emulator.client("sagemaker").describe_processing_job(ProcessingJobName="cut")
    assert described["ProcessingJobStatus"] == "Failed"
    assert (
        described["FailureReason"]
        == "InternalServerError: the emulator was stopped while this job was running"
    )
    assert "ProcessingStartTime" not in described
