"""The run's cost in ZenML and in the watch's last line: at the end of the watch, when a refresh
finds the run ended (once), a dynamic run's jobs too; a failure to work it out is one warning."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber

from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from sagemaker_stack.orchestrator.standalone_jobs import PROCESSING, JobRef
from tests.unit.orchestrator.test_run_cost import (
    EXECUTION_ARN,
    START,
    _client,
    _job_arn,
    _price,
    _processing,
)


def _step(name: str, job: str, status: str = "Succeeded") -> dict[str, Any]:
    return {
        "StepName": name,
        "StepStatus": status,
        "StartTime": START,
        "Metadata": {"ProcessingJob": {"Arn": _job_arn("processing", job)}},
    }


def _execution(stubber: Stubber, status: str, steps: list[dict[str, Any]]) -> None:
    stubber.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": status},
        {"PipelineExecutionArn": EXECUTION_ARN},
    )
    stubber.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": steps},
        {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
    )


@pytest.fixture
def zenml(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[Any, Any]]]:
    """ZenML's run metadata API, recorded; a ZenML run with no step jobs."""
    published: list[tuple[Any, dict[Any, Any]]] = []
    monkeypatch.setattr(
        "zenml.orchestrators.publish_utils.publish_pipeline_run_metadata",
        lambda pipeline_run_id, pipeline_run_metadata: published.append(
            (pipeline_run_id, pipeline_run_metadata)
        ),
    )
    run = SimpleNamespace(steps={}, run_metadata={}, stack=None)
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(get_pipeline_run=lambda run_id: run))
    monkeypatch.setenv("SAGEMAKER_STACK_POLL_SECONDS", "0")
    return published


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Any:
    client = _client()
    monkeypatch.setattr(
        orchestrator_module.SagemakerPipelinesOrchestrator,
        "_client",
        lambda self, service, config=None: client,
    )
    return client


def test_the_watch_ends_with_the_cost_and_publishes_it_on_the_run(
    make_orchestrator: Any,
    sagemaker: Any,
    zenml: list[tuple[Any, dict[Any, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_id = uuid.uuid4()
    orchestrator = make_orchestrator()
    built = SimpleNamespace(step_names={"load": "load", "train": "train"})
    with Stubber(sagemaker) as stubber, caplog.at_level(logging.INFO):
        _execution(stubber, "Succeeded", [_step("load", "p1"), _step("train", "p2")])
        _processing(stubber, "p1", seconds=40)
        _processing(stubber, "p2", seconds=60, count=2)
        orchestrator._wait(EXECUTION_ARN, built, run_id, 600)
        stubber.assert_no_pending_responses()
    lines = [record.getMessage() for record in caplog.records]
    assert lines[-1] == (
        "SageMaker execution succeeded: 2 jobs, 160 billed seconds, about $0.0051 "
        "(estimate: on-demand us-east-1 list prices of 2026-12-01)"
    )
    [(published_run, by_component)] = zenml
    assert published_run == run_id
    metadata = by_component[orchestrator.id]
    assert metadata["billed_seconds"] == 160
    assert metadata["estimated_cost_usd"] == pytest.approx(160 / 3600 * _price("ml.m5.large"), abs=1e-8)
    assert metadata["cost_by_step"]["train"]["billed_seconds"] == 120
    assert set(metadata["cost_by_step"]["train"]["jobs"]) == {"p2"}
    assert "estimate" in metadata["cost_estimate"].lower() and "2026-12-01" in metadata["cost_estimate"]


def test_a_failed_run_says_what_it_cost_before_its_failure(
    make_orchestrator: Any, sagemaker: Any, zenml: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    built = SimpleNamespace(step_names={"load": "load"})
    with Stubber(sagemaker) as stubber, caplog.at_level(logging.INFO):
        _execution(stubber, "Failed", [_step("load", "p1", status="Failed")])
        _processing(stubber, "p1", seconds=10, status="Failed")
        with pytest.raises(RuntimeError, match="Step 'load' failed"):
            make_orchestrator()._wait(EXECUTION_ARN, built, uuid.uuid4(), 600)
    lines = [record.getMessage() for record in caplog.records]
    cost = lines.index(next(line for line in lines if line.startswith("SageMaker execution failed: 1 job")))
    failure = lines.index(next(line for line in lines if line.startswith("SageMaker execution arn")))
    assert cost < failure
    assert len(zenml) == 1


def test_a_cost_that_cannot_be_worked_out_is_one_warning_not_the_runs_outcome(
    make_orchestrator: Any, sagemaker: Any, zenml: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    built = SimpleNamespace(step_names={"load": "load"})
    with Stubber(sagemaker) as stubber, caplog.at_level(logging.INFO):
        _execution(stubber, "Succeeded", [_step("load", "p1")])
        stubber.add_client_error("describe_processing_job", "AccessDeniedException", http_status_code=400)
        make_orchestrator()._wait(EXECUTION_ARN, built, uuid.uuid4(), 600)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Could not work out what the run cost" in warnings[0]
    assert caplog.records[-1].getMessage() == "SageMaker execution succeeded."
    assert zenml == []


def _run(metadata: dict[str, Any]) -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(),
        name="cost-run",
        orchestrator_run_id=EXECUTION_ARN,
        run_metadata={"orchestrator_run_id": EXECUTION_ARN, **metadata},
    )


def test_a_refresh_that_finds_the_run_ended_records_its_cost_once(
    make_orchestrator: Any, sagemaker: Any, zenml: list[tuple[Any, dict[Any, Any]]]
) -> None:
    orchestrator = make_orchestrator()
    run = _run({})
    with Stubber(sagemaker) as stubber:
        stubber.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": "Succeeded"},
            {"PipelineExecutionArn": EXECUTION_ARN},
        )
        stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": [_step("load", "p1")]},
            {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
        )
        _processing(stubber, "p1", seconds=30)
        orchestrator.fetch_status(run)
        stubber.assert_no_pending_responses()
    [(published_run, by_component)] = zenml
    assert published_run == run.id and by_component[orchestrator.id]["billed_seconds"] == 30

    # Recorded, every job ended: the next refresh asks SageMaker for the status only.
    run.run_metadata.update(by_component[orchestrator.id])
    with Stubber(sagemaker) as stubber:
        stubber.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": "Succeeded"},
            {"PipelineExecutionArn": EXECUTION_ARN},
        )
        orchestrator.fetch_status(run)
        stubber.assert_no_pending_responses()
    assert len(zenml) == 1


def test_a_cost_recorded_while_a_job_still_ran_is_recorded_again(
    make_orchestrator: Any, sagemaker: Any, zenml: list[tuple[Any, dict[Any, Any]]]
) -> None:
    orchestrator = make_orchestrator()
    run = _run({"billed_seconds": 30.0, "cost_jobs_still_running": ["p2"]})
    with Stubber(sagemaker) as stubber:
        _execution(stubber, "Stopped", [_step("load", "p1"), _step("train", "p2", status="Stopped")])
        _processing(stubber, "p1", seconds=30)
        _processing(stubber, "p2", seconds=20, status="Stopped")
        orchestrator.fetch_status(run, include_steps=True)
        stubber.assert_no_pending_responses()
    [(_, by_component)] = zenml
    assert by_component[orchestrator.id]["billed_seconds"] == 50
    assert by_component[orchestrator.id]["cost_jobs_still_running"] == []


def test_a_running_execution_records_no_cost(
    make_orchestrator: Any, sagemaker: Any, zenml: list[Any]
) -> None:
    with Stubber(sagemaker) as stubber:
        stubber.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": "Executing"},
            {"PipelineExecutionArn": EXECUTION_ARN},
        )
        make_orchestrator().fetch_status(_run({}))
        stubber.assert_no_pending_responses()
    assert zenml == []


def test_a_dynamic_run_costs_its_orchestration_job_and_its_isolated_steps(
    make_orchestrator: Any,
    sagemaker: Any,
    zenml: list[tuple[Any, dict[Any, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    isolated = SimpleNamespace(
        run_metadata={"sagemaker_job_name": "job-square", "sagemaker_job_kind": "processing"}
    )
    inline = SimpleNamespace(run_metadata={})
    run = SimpleNamespace(steps={"square": isolated, "total": inline}, run_metadata={}, stack=None)
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(get_pipeline_run=lambda run_id: run))
    orchestrator = make_orchestrator()
    with Stubber(sagemaker) as stubber, caplog.at_level(logging.INFO):
        _processing(stubber, "orchestrate", seconds=90, instance_type="ml.t3.medium")  # the watch
        _processing(stubber, "orchestrate", seconds=90, instance_type="ml.t3.medium")  # the cost
        _processing(stubber, "job-square", seconds=30, instance_type="ml.m5.xlarge")
        orchestrator._wait_for_job(JobRef(PROCESSING, "orchestrate"), uuid.uuid4(), 60)
        stubber.assert_no_pending_responses()
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith("Dynamic pipeline run completed: 2 jobs, 120 billed seconds")
    )
    [(_, by_component)] = zenml
    by_step = by_component[orchestrator.id]["cost_by_step"]
    assert set(by_step) == {"orchestration job", "square"}
    assert by_step["square"]["estimated_cost_usd"] == pytest.approx(
        30 / 3600 * _price("ml.m5.xlarge"), abs=1e-8
    )
