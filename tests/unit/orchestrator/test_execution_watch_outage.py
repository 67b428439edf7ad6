"""A watched run survives an outage of SageMaker: it says so once, waits, and goes on.

The client is a real botocore client (Stubber answers) behind a stand-in that refuses
connections, with botocore's own exception, while a fake clock is inside the outage; sleeping
advances the clock, so a 30-second outage takes no time.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from sagemaker_stack.orchestrator import execution
from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from tests.support.runtime_fakes import ACCOUNT, REGION

EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/smstack-diamond/execution/abc123def456"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


class Unreachable:
    """The SageMaker client, but every call in [start, end) of the clock raises `error`."""

    def __init__(self, client: Any, clock: Clock, start: float, end: float, error: Exception) -> None:
        self.client, self.clock, self.start, self.end, self.error = client, clock, start, end, error
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.start <= self.clock.now < self.end:
                self.refused += 1
                raise self.error
            return method(*args, **kwargs)

        return call


def _client() -> Any:
    return boto3.client(  # type: ignore[call-overload]
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )


def _answer(stubber: Stubber, status: str, step_status: str) -> None:
    stubber.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": status},
        {"PipelineExecutionArn": EXECUTION_ARN},
    )
    step = {"StepName": "load", "StepStatus": step_status, "StartTime": datetime(2026, 1, 1, tzinfo=UTC)}
    stubber.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": [step]},
        {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
    )


REFUSED = EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")


def test_a_30_second_outage_is_reported_once_each_way_and_the_watch_reaches_the_real_end() -> None:
    clock, client = Clock(), _client()
    progress: list[str] = []
    warnings: list[str] = []
    with Stubber(client) as stubber:
        _answer(stubber, "Executing", "Executing")  # before the outage
        _answer(stubber, "Executing", "Executing")  # back: the same progress, not repeated
        _answer(stubber, "Succeeded", "Succeeded")
        sagemaker = Unreachable(client, clock, start=1010.0, end=1040.0, error=REFUSED)
        state = execution.watch(
            sagemaker,
            EXECUTION_ARN,
            total_steps=1,
            report=progress.append,
            warn=warnings.append,
            interval=10.0,
            outage_limit=600.0,
            sleep=clock.sleep,
            clock=clock,
        )
        stubber.assert_no_pending_responses()
    assert state.status == "Succeeded"
    assert progress == [
        "Executing: 0/1 steps done, 1 running, 0 failed",
        "Succeeded: 1/1 steps done, 0 running, 0 failed",
    ]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("Lost contact with SageMaker (Could not connect to the endpoint URL")
    assert "retrying for up to 600 s" in warnings[0]
    assert warnings[1] == "Contact with SageMaker is back after 30 s"
    assert sagemaker.refused == 2  # retried at 1010 and 1020 (10 s), back at 1040 (20 s later)
    assert clock.pauses == [10.0, 10.0, 20.0, 10.0]


def test_an_outage_past_the_bound_ends_the_watch_with_contact_lost_and_bounded_backoff() -> None:
    clock, client = Clock(), _client()
    warnings: list[str] = []
    with Stubber(client) as stubber:
        _answer(stubber, "Executing", "Executing")
        sagemaker = Unreachable(client, clock, start=1005.0, end=10_000.0, error=REFUSED)
        with pytest.raises(execution.ContactLost) as caught:
            execution.watch(
                sagemaker,
                EXECUTION_ARN,
                total_steps=1,
                report=lambda line: None,
                warn=warnings.append,
                interval=10.0,
                outage_limit=300.0,
                sleep=clock.sleep,
                clock=clock,
            )
    assert caught.value.execution_arn == EXECUTION_ARN
    assert 300 <= caught.value.seconds < 340
    assert str(caught.value).startswith("lost contact with SageMaker for 3")
    assert len(warnings) == 1  # one line when contact was lost, none per retry
    assert max(clock.pauses) == execution.MAX_BACKOFF_SECONDS
    assert clock.pauses[1:4] == [10.0, 20.0, 30.0]
    assert sagemaker.refused < 20


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "..."}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DescribePipelineExecution",
    )


@pytest.mark.parametrize(
    "error",
    [
        REFUSED,
        ReadTimeoutError(endpoint_url="http://127.0.0.1:4566/"),
        _client_error("ThrottlingException", 400),
        _client_error("InternalFailure", 500),
        _client_error("ServiceUnavailable", 503),
    ],
    ids=["refused", "read-timeout", "throttled", "500", "503"],
)
def test_transient_failures_are_retried(error: Exception) -> None:
    assert execution.transient_reason(error) is not None


@pytest.mark.parametrize(
    "error",
    [_client_error("ValidationException", 400), _client_error("ResourceNotFound", 404), ValueError("bug")],
    ids=["validation", "not-found", "bug"],
)
def test_real_answers_end_the_watch_at_once(error: Exception) -> None:
    clock, client = Clock(), _client()
    assert execution.transient_reason(error) is None
    with pytest.raises(type(error)):
        execution.watch(
            Unreachable(client, clock, start=0.0, end=10_000.0, error=error),
            EXECUTION_ARN,
            total_steps=1,
            report=lambda line: None,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.pauses == []


def test_the_orchestrator_ends_a_lost_watch_with_one_message_and_no_traceback(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*args: Any, **kwargs: Any) -> Any:
        raise execution.ContactLost(EXECUTION_ARN, 601.0, "Could not connect to the endpoint URL")

    monkeypatch.setattr(execution, "watch", lost)
    monkeypatch.setattr(orchestrator_module.SagemakerPipelinesOrchestrator, "_client", lambda *a, **k: None)
    run_id = uuid.uuid4()
    built = SimpleNamespace(step_names={"load": "load"}, sagemaker_pipeline_name="smstack-diamond")
    with pytest.raises(SystemExit) as caught:
        make_orchestrator()._wait(EXECUTION_ARN, built, run_id, 600)
    message = str(caught.value.code)
    assert "\n" not in message
    assert message.startswith("Stopped watching: lost contact with SageMaker for 601 s")
    assert "The run may still be going" in message
    assert f"`zenml pipeline runs refresh {run_id}`" in message
    assert execution.console_url(REGION, "smstack-diamond", EXECUTION_ARN) in message


def test_zenml_log_export_failures_are_quiet_only_while_contact_is_lost(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ZenML's exporter of client logs to S3 fails with a traceback every few seconds of an outage."""
    exporter = logging.getLogger("zenml.log_stores.artifact.artifact_log_exporter")

    def export_fails(error: Exception, message: str) -> None:
        try:
            raise error
        except Exception:
            exporter.error(message)  # as ZenML's exporter logs, inside its `except` block

    def watch(*args: Any, warn: Any, **kwargs: Any) -> Any:
        exporter.error("before the outage")
        export_fails(PermissionError("Access Denied"), "a real failure")
        export_fails(REFUSED, "refused, a moment before the watch notices")
        warn("Lost contact with SageMaker (refused); retrying for up to 600 s")
        exporter.error("during the outage")
        warn("Contact with SageMaker is back after 30 s")
        exporter.error("after the outage")
        return execution.ExecutionState(status="Succeeded")

    monkeypatch.setattr(execution, "watch", watch)
    monkeypatch.setattr(orchestrator_module.SagemakerPipelinesOrchestrator, "_client", lambda *a, **k: None)
    built = SimpleNamespace(step_names={"load": "load"}, sagemaker_pipeline_name="smstack-diamond")
    with caplog.at_level(logging.INFO):
        make_orchestrator()._wait(EXECUTION_ARN, built, None, 600)
    exported = [r.getMessage() for r in caplog.records if r.name == exporter.name]
    assert exported == ["before the outage", "a real failure", "after the outage"]
    assert not exporter.filters  # removed once the watch is over
