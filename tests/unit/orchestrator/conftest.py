"""Fixtures of the orchestrator's unit tests (the fakes live in runtime_fakes.py)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from zenml.enums import StackComponentType

from sagemaker_stack.flavor import (
    SagemakerPipelinesOrchestratorConfig,
    SagemakerPipelinesOrchestratorSettings,
)
from sagemaker_stack.orchestrator.sagemaker_orchestrator import SagemakerPipelinesOrchestrator
from tests.support.runtime_fakes import (
    IMAGE,
    make_config,
)


@pytest.fixture
def make_orchestrator(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """Build an orchestrator on a fake config; settings and images come from the fakes, not a store."""

    def build(
        config: SagemakerPipelinesOrchestratorConfig | None = None,
        pipeline_settings: Mapping[str, Any] | None = None,
    ) -> SagemakerPipelinesOrchestrator:
        configuration = config or make_config()
        now = datetime.now(UTC)
        orchestrator = SagemakerPipelinesOrchestrator(
            name="sagemaker",
            id=uuid.uuid4(),
            config=configuration,
            flavor="sagemaker_pipelines",
            type=StackComponentType.ORCHESTRATOR,
            user=None,
            created=now,
            updated=now,
        )
        base = configuration.model_dump(exclude_unset=True)

        def get_settings(container: Any) -> SagemakerPipelinesOrchestratorSettings:
            values = {
                key: value
                for key, value in base.items()
                if key in SagemakerPipelinesOrchestratorSettings.model_fields
            }
            values.update(pipeline_settings or {})
            values.update(getattr(container, "fake_settings", {}))
            return SagemakerPipelinesOrchestratorSettings(**values)

        monkeypatch.setattr(orchestrator, "get_settings", get_settings)
        monkeypatch.setattr(orchestrator, "get_image", lambda snapshot, step_name=None: IMAGE)
        return orchestrator

    yield build


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    """The `sagemaker` SDK's PipelineSession, offline: the oracle of the definition tests."""
    import boto3
    from sagemaker.telemetry import telemetry_logging
    from sagemaker.workflow.pipeline_context import PipelineSession

    patcher = pytest.MonkeyPatch()
    patcher.setattr(telemetry_logging, "_send_telemetry_request", lambda *args, **kwargs: None)
    patcher.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    patcher.setenv("AWS_EC2_METADATA_DISABLED", "true")
    boto_session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield PipelineSession(boto_session=boto_session, default_bucket="b")
    patcher.undo()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A `Recorder` (test_orchestrator_submit) as every orchestrator's AWS client: the submit
    tests and the step-group tests read the requests a run makes from it."""
    from tests.unit.orchestrator.test_orchestrator_submit import Recorder

    recorder = Recorder()
    monkeypatch.setattr(SagemakerPipelinesOrchestrator, "_client", lambda self, service: recorder.client)
    return recorder


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """Offline `sagemaker` and `logs` clients (for Stubbers) as every orchestrator's, polled with
    no pause: the tests of what the watch says about a run that failed."""
    import boto3

    sagemaker, logs = (
        boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")  # type: ignore[call-overload]
        for service in ("sagemaker", "logs")
    )
    monkeypatch.setattr(
        SagemakerPipelinesOrchestrator,
        "_client",
        lambda self, service, config=None: sagemaker if service == "sagemaker" else logs,
    )
    monkeypatch.setenv("SAGEMAKER_STACK_POLL_SECONDS", "0")
    return sagemaker, logs
