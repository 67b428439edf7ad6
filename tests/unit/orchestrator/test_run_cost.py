"""What a run cost: billed seconds from each job's Describe answer, an estimate from the price table,
the run's metadata in ZenML and the watch's last line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_stack.orchestrator import execution, run_cost
from sagemaker_stack.orchestrator.instance_types import BY_NAME
from sagemaker_stack.orchestrator.standalone_jobs import PROCESSING, TRAINING, JobRef
from tests.support.runtime_fakes import ACCOUNT, REGION

EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/smstack-cost/execution/abc123def456"
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _client() -> Any:
    return boto3.client(  # type: ignore[call-overload]
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )


def _job_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}-job/{name}"


def _processing(
    stubber: Stubber,
    name: str,
    *,
    seconds: float | None = 100,
    instance_type: str = "ml.m5.large",
    count: int = 1,
    status: str = "Completed",
) -> None:
    response: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingJobArn": _job_arn("processing", name),
        "ProcessingJobStatus": status,
        "CreationTime": START - timedelta(minutes=5),
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml:x"},
    }
    if seconds is not None:
        response["ProcessingStartTime"] = START
        if status != "InProgress":
            response["ProcessingEndTime"] = START + timedelta(seconds=seconds)
    stubber.add_response("describe_processing_job", response, {"ProcessingJobName": name})


def _training(
    stubber: Stubber,
    name: str,
    *,
    billable: int,
    trained: int,
    spot: bool = False,
    instance_type: str = "ml.m5.xlarge",
) -> None:
    response = {
        "TrainingJobName": name,
        "TrainingJobArn": _job_arn("training", name),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": START - timedelta(minutes=5),
        "TrainingStartTime": START,
        "TrainingEndTime": START + timedelta(seconds=trained),
        "TrainingTimeInSeconds": trained,
        "BillableTimeInSeconds": billable,
        "EnableManagedSpotTraining": spot,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "image"},
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }
    stubber.add_response("describe_training_job", response, {"TrainingJobName": name})


def _cost(stub: Any, *jobs: tuple[str, JobRef]) -> run_cost.RunCost:
    client = _client()
    with Stubber(client) as stubber:
        stub(stubber)
        cost = run_cost.of_jobs(client, jobs)
        stubber.assert_no_pending_responses()
    return cost


def _price(name: str) -> float:
    return BY_NAME[name].price_per_hour


def test_a_processing_job_is_billed_from_its_start_to_its_end_at_the_list_price() -> None:
    cost = _cost(lambda s: _processing(s, "p1", seconds=100), ("load", JobRef(PROCESSING, "p1")))
    assert cost.billed_seconds == 100
    assert cost.cost_usd == pytest.approx(100 / 3600 * _price("ml.m5.large"))
    assert cost.summary() == (
        "1 job, 100 billed seconds, about $0.0032 (estimate: on-demand us-east-1 list prices of 2026-12-01)"
    )


def test_a_training_job_is_billed_its_billable_time() -> None:
    cost = _cost(lambda s: _training(s, "t1", billable=200, trained=200), ("train", JobRef(TRAINING, "t1")))
    assert cost.billed_seconds == 200
    assert cost.cost_usd == pytest.approx(200 / 3600 * _price("ml.m5.xlarge"))
    assert cost.spot_saved_seconds == 0


def test_managed_spot_training_bills_less_than_it_trained_and_says_what_it_saved() -> None:
    cost = _cost(
        lambda s: _training(s, "t1", billable=100, trained=500, spot=True), ("train", JobRef(TRAINING, "t1"))
    )
    assert cost.billed_seconds == 100
    assert cost.spot_saved_seconds == 400
    assert cost.cost_usd == pytest.approx(100 / 3600 * _price("ml.m5.xlarge"))
    assert "400 seconds saved by managed spot training" in cost.summary()
    assert cost.metadata()[run_cost.METADATA_SPOT_SAVED_SECONDS] == 400


def test_a_type_without_a_list_price_keeps_its_seconds_and_its_cost_is_unknown_not_zero() -> None:
    def stub(stubber: Stubber) -> None:
        _processing(stubber, "p1", seconds=60)
        _processing(stubber, "p2", seconds=30, instance_type="ml.m7i.large")

    cost = _cost(stub, ("load", JobRef(PROCESSING, "p1")), ("split", JobRef(PROCESSING, "p2")))
    assert "ml.m7i.large" not in BY_NAME
    assert cost.billed_seconds == 90
    assert cost.cost_usd is None
    assert "cost unknown (no list price for ml.m7i.large)" in cost.summary()
    metadata = cost.metadata()
    assert metadata[run_cost.METADATA_BILLED_SECONDS] == 90
    # ZenML stores no null: the total is left out and the note says why; the step's is null.
    assert run_cost.METADATA_COST_USD not in metadata
    assert "no list price for ml.m7i.large" in metadata[run_cost.METADATA_COST_NOTE]
    assert metadata[run_cost.METADATA_COST_BY_STEP]["split"]["estimated_cost_usd"] is None
    assert metadata[run_cost.METADATA_COST_BY_STEP]["load"]["estimated_cost_usd"] == pytest.approx(
        60 / 3600 * _price("ml.m5.large"), abs=1e-8
    )


def test_a_job_still_running_is_not_counted_and_the_line_says_so() -> None:
    def stub(stubber: Stubber) -> None:
        _processing(stubber, "p1", seconds=60)
        _processing(stubber, "p2", seconds=30, status="InProgress")

    cost = _cost(stub, ("load", JobRef(PROCESSING, "p1")), ("split", JobRef(PROCESSING, "p2")))
    assert cost.billed_seconds == 60
    assert not cost.complete
    assert cost.summary().startswith("1 job, 60 billed seconds")
    assert cost.summary().endswith("1 job still running, not counted")
    metadata = cost.metadata()
    assert metadata[run_cost.METADATA_JOBS_RUNNING] == ["p2"]
    assert set(metadata[run_cost.METADATA_COST_BY_STEP]) == {"load"}


def test_a_multi_instance_job_bills_each_instance() -> None:
    cost = _cost(lambda s: _processing(s, "p1", seconds=60, count=3), ("load", JobRef(PROCESSING, "p1")))
    assert cost.billed_seconds == 180
    assert cost.cost_usd == pytest.approx(180 / 3600 * _price("ml.m5.large"))
    job = cost.metadata()[run_cost.METADATA_COST_BY_STEP]["load"]["jobs"]["p1"]
    assert job["instances"] == {"ml.m5.large": 3} and job["billed_seconds"] == 180


def test_a_job_that_ended_before_it_started_billed_nothing() -> None:
    cost = _cost(
        lambda s: _processing(s, "p1", seconds=None, status="Failed"), ("load", JobRef(PROCESSING, "p1"))
    )
    assert cost.billed_seconds == 0 and cost.cost_usd == 0


def test_every_listed_attempt_of_a_retried_step_is_counted_once() -> None:
    client = _client()

    def item(job: str) -> dict[str, Any]:
        return {
            "StepName": "train",
            "StepStatus": "Succeeded",
            "StartTime": START,
            "Metadata": {"ProcessingJob": {"Arn": _job_arn("processing", job)}},
        }

    with Stubber(client) as stubber:
        stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": [item("attempt-1"), item("attempt-2")]},
            {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
        )
        steps = execution.list_steps(client, EXECUTION_ARN)
    assert [step.job_name for step in steps] == ["attempt-2"]
    assert run_cost.step_jobs(steps) == [
        ("train", JobRef(PROCESSING, "attempt-1")),
        ("train", JobRef(PROCESSING, "attempt-2")),
    ]


@pytest.mark.parametrize(("amount", "text"), [(0.011, "$0.011"), (0.00016, "$0.00016"), (12.345, "$12.35")])
def test_dollars_keep_two_significant_digits(amount: float, text: str) -> None:
    assert run_cost.usd(amount) == text
