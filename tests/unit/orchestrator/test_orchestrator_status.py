"""Run and step status from SageMaker, progress while waiting, failures named with their log."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from zenml.enums import ExecutionStatus

from sagemaker_stack.orchestrator import execution
from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from sagemaker_stack.orchestrator.run_metadata import execution_status, step_status
from tests.support.runtime_fakes import ACCOUNT, REGION

EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/smstack-training/execution/abc123def456"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/pipelines-abc123def456-train-x1y2z3"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")  # type: ignore[call-overload]


def _step(name: str, status: str, reason: str | None = None, job: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "StepName": name,
        "StepStatus": status,
        "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
    }
    if reason:
        item["FailureReason"] = reason
    if job:
        item["Metadata"] = {"ProcessingJob": {"Arn": job}}
    return item


def _describe(stubber: Stubber, status: str, steps: list[dict[str, Any]] | None = None) -> None:
    stubber.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": status},
        {"PipelineExecutionArn": EXECUTION_ARN},
    )
    if steps is not None:
        stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": steps},
            {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
        )


@pytest.mark.parametrize(
    ("sagemaker", "zenml"),
    [
        ("Executing", ExecutionStatus.RUNNING),
        ("Stopping", ExecutionStatus.STOPPING),
        ("Stopped", ExecutionStatus.STOPPED),
        ("Failed", ExecutionStatus.FAILED),
        ("Succeeded", ExecutionStatus.COMPLETED),
    ],
)
def test_execution_status_mapping(sagemaker: str, zenml: ExecutionStatus) -> None:
    assert execution_status(sagemaker) is zenml
    assert step_status(sagemaker) is zenml


def test_a_starting_step_is_running_and_unknown_statuses_are_errors() -> None:
    assert step_status("Starting") is ExecutionStatus.RUNNING
    with pytest.raises(ValueError, match="Paused"):
        execution_status("Paused")


def _run(metadata: dict[str, Any], orchestrator_run_id: str | None = None) -> Any:
    return SimpleNamespace(
        name="training-run", run_metadata=metadata, orchestrator_run_id=orchestrator_run_id
    )


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Any:
    client = _client("sagemaker")
    monkeypatch.setattr(
        orchestrator_module.SagemakerPipelinesOrchestrator, "_client", lambda self, service: client
    )
    return client


def test_fetch_status_maps_steps_back_to_zenml_names(make_orchestrator: Any, sagemaker: Any) -> None:
    run = _run(
        {"orchestrator_run_id": EXECUTION_ARN, "sagemaker_step_names": {"long-name-1a2b3c4d": "long.name"}}
    )
    with Stubber(sagemaker) as stubber:
        _describe(
            stubber, "Executing", [_step("long-name-1a2b3c4d", "Succeeded"), _step("train", "Executing")]
        )
        status, steps = make_orchestrator().fetch_status(run, include_steps=True)
    assert status is ExecutionStatus.RUNNING
    assert steps == {"long.name": ExecutionStatus.COMPLETED, "train": ExecutionStatus.RUNNING}


@pytest.mark.parametrize("zenml", [ExecutionStatus.INITIALIZING, ExecutionStatus.PROVISIONING])
def test_an_executing_run_no_step_claimed_yet_is_left_for_the_steps(
    make_orchestrator: Any, sagemaker: Any, zenml: ExecutionStatus
) -> None:
    """A refresh right after an async submit must not mark the placeholder run running: the first
    step only claims a run that is initializing or provisioning, and would start a second one."""
    run = _run({"orchestrator_run_id": EXECUTION_ARN})
    run.status = zenml
    with Stubber(sagemaker) as stubber:
        _describe(stubber, "Executing")
        _describe(stubber, "Failed")
        orchestrator = make_orchestrator()
        assert orchestrator.fetch_status(run) == (None, None)
        # An end is still reported (a step that died before ZenML ran leaves the run provisioning).
        assert orchestrator.fetch_status(run) == (ExecutionStatus.FAILED, None)


def test_fetch_status_of_a_run_no_step_reached(make_orchestrator: Any, sagemaker: Any) -> None:
    """A step that died before ZenML ran leaves only the submission metadata: enough to fail the run."""
    with Stubber(sagemaker) as stubber:
        _describe(stubber, "Failed")
        status, steps = make_orchestrator().fetch_status(_run({"pipeline_execution_arn": EXECUTION_ARN}))
    assert status is ExecutionStatus.FAILED and steps is None


def test_fetch_status_falls_back_to_the_orchestrator_run_id(make_orchestrator: Any, sagemaker: Any) -> None:
    with Stubber(sagemaker) as stubber:
        _describe(stubber, "Succeeded")
        status, _ = make_orchestrator().fetch_status(_run({}, orchestrator_run_id=EXECUTION_ARN))
    assert status is ExecutionStatus.COMPLETED


def test_fetch_status_without_an_execution_is_a_clear_error(make_orchestrator: Any) -> None:
    with pytest.raises(ValueError, match="no SageMaker execution ARN"):
        make_orchestrator().fetch_status(_run({}))


def test_list_steps_follows_pagination() -> None:
    client = _client("sagemaker")
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": [_step("a", "Succeeded")], "NextToken": "t"},
            {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
        )
        stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": [_step("b", "Failed", "boom", JOB_ARN)]},
            {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending", "NextToken": "t"},
        )
        steps = execution.list_steps(client, EXECUTION_ARN)
    assert [(s.name, s.status) for s in steps] == [("a", "Succeeded"), ("b", "Failed")]
    assert steps[1].job_kind == "Processing" and steps[1].job_name == "pipelines-abc123def456-train-x1y2z3"


def test_stop_calls_stop_pipeline_execution(make_orchestrator: Any, sagemaker: Any) -> None:
    with Stubber(sagemaker) as stubber:
        stubber.add_response(
            "stop_pipeline_execution",
            {"PipelineExecutionArn": EXECUTION_ARN},
            {"PipelineExecutionArn": EXECUTION_ARN},
        )
        make_orchestrator()._stop_run(_run({"orchestrator_run_id": EXECUTION_ARN}))
        stubber.assert_no_pending_responses()


def test_watch_reports_progress_only_when_it_changes() -> None:
    client = _client("sagemaker")
    lines: list[str] = []
    with Stubber(client) as stubber:
        _describe(stubber, "Executing", [_step("a", "Executing")])
        _describe(stubber, "Executing", [_step("a", "Executing")])
        _describe(stubber, "Executing", [_step("a", "Succeeded"), _step("b", "Executing")])
        _describe(stubber, "Succeeded", [_step("a", "Succeeded"), _step("b", "Succeeded")])
        state = execution.watch(
            client, EXECUTION_ARN, total_steps=2, report=lines.append, sleep=lambda _: None
        )
    assert state.status == "Succeeded"
    assert lines == [
        "Executing: 0/2 steps done, 1 running, 0 failed",
        "Executing: 1/2 steps done, 1 running, 0 failed",
        "Succeeded: 2/2 steps done, 0 running, 0 failed",
    ]


def test_failed_run_names_the_step_and_shows_its_log_tail(
    make_orchestrator: Any, watched: tuple[Any, Any]
) -> None:
    sagemaker, logs = watched
    built = SimpleNamespace(step_names={"load": "load", "train.model": "train-model-1a2b3c4d"})
    stream = "pipelines-abc123def456-train-x1y2z3/algo-1-1767225600"
    with Stubber(sagemaker) as sm, Stubber(logs) as cw:
        _describe(
            sm,
            "Failed",
            [
                _step("load", "Succeeded"),
                _step("train-model-1a2b3c4d", "Failed", "AlgorithmError: exit 1", JOB_ARN),
            ],
        )
        cw.add_response(
            "describe_log_streams",
            {"logStreams": [{"logStreamName": stream}]},
            {
                "logGroupName": "/aws/sagemaker/ProcessingJobs",
                "logStreamNamePrefix": "pipelines-abc123def456-train-x1y2z3/",
            },
        )
        cw.add_response(
            "get_log_events",
            {
                "events": [
                    {"timestamp": 1, "message": "Traceback ..."},
                    {"timestamp": 2, "message": "ValueError: bad"},
                ]
            },
            {
                "logGroupName": "/aws/sagemaker/ProcessingJobs",
                "logStreamName": stream,
                "startFromHead": False,
                "limit": 20,
            },
        )
        with pytest.raises(RuntimeError) as caught:
            make_orchestrator()._wait(EXECUTION_ARN, built, None, 600)
    message = str(caught.value)
    assert "Step 'train.model' failed: AlgorithmError: exit 1" in message
    assert "ValueError: bad" in message


def test_links_and_names() -> None:
    assert execution.execution_id(EXECUTION_ARN) == "abc123def456"
    assert execution.display_name("training_run_2026_01_01-12:00:00") == "training-run-2026-01-01-12-00-00"
    url = execution.console_url(REGION, "smstack-training", EXECUTION_ARN)
    assert url.startswith(
        f"https://{REGION}.console.aws.amazon.com/sagemaker/home?region={REGION}#/pipelines/"
    )
    logs = execution.logs_url(REGION, "/aws/sagemaker/ProcessingJobs", "pipelines-abc123def456-train")
    assert "$252Faws$252Fsagemaker$252FProcessingJobs" in logs
    assert logs.endswith("pipelines-abc123def456-train")
