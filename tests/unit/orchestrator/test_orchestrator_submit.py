"""Submitting a run: one SageMaker pipeline per ZenML pipeline, three API calls, no secret sent.

The snapshot a run executes is a pipeline parameter, never part of the steps: the pipeline is
updated in place by every run, and must not repoint existing schedules at the newest snapshot.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sagemaker_stack.orchestrator.environment import is_secret, public_environment
from sagemaker_stack.orchestrator.spec import InvalidPipelineError
from sagemaker_stack.step.entrypoint import ENTRYPOINT_COMMAND, ENV_EXECUTION_ARN, ENV_SECRET_ARN
from tests.support.runtime_fakes import (
    ACCOUNT,
    IMAGE,
    REGION,
    ROLE_ARN,
    SECRET_ARN,
    TOKEN,
    diamond,
    environments,
    fake_snapshot,
    fan_out,
)

PIPELINE_NAME = "smstack-training"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PIPELINE_NAME}"
EXECUTION_ARN = f"{PIPELINE_ARN}/execution/abc123def456"
#: The version UpdatePipeline answers with in these tests (a created pipeline's first is 1).
UPDATED_VERSION = 4


class Recorder:
    """A stubbed SageMaker client that also keeps every request it answered."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
        self.stubber = Stubber(self.client)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.client.meta.events.register("provide-client-params.sagemaker.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.name, dict(params)))

    def expect_run(
        self, exists: bool, max_parallel: int | None = None, snapshot_id: str | None = None
    ) -> None:
        if exists:
            self.stubber.add_response(
                "describe_pipeline", {"PipelineArn": PIPELINE_ARN}, {"PipelineName": PIPELINE_NAME}
            )
            self.stubber.add_response(
                "update_pipeline",
                {"PipelineArn": PIPELINE_ARN, "PipelineVersionId": UPDATED_VERSION},
                {
                    "PipelineName": PIPELINE_NAME,
                    "PipelineDefinition": ANY,
                    "RoleArn": ROLE_ARN,
                    "PipelineDescription": ANY,
                },
            )
        else:
            self.stubber.add_client_error(
                "describe_pipeline", service_error_code="ResourceNotFound", http_status_code=404
            )
            self.stubber.add_response(
                "create_pipeline",
                {"PipelineArn": PIPELINE_ARN},
                {
                    "PipelineName": PIPELINE_NAME,
                    "PipelineDefinition": ANY,
                    "RoleArn": ROLE_ARN,
                    "PipelineDescription": ANY,
                    "Tags": ANY,
                },
            )
            self.stubber.add_response(
                "list_pipeline_versions",
                {"PipelineVersionSummaries": [{"PipelineArn": PIPELINE_ARN, "PipelineVersionId": 1}]},
                {"PipelineName": PIPELINE_NAME, "SortOrder": "Ascending", "MaxResults": 1},
            )
        start: dict[str, Any] = {
            "PipelineName": PIPELINE_NAME,
            "PipelineVersionId": UPDATED_VERSION if exists else 1,
            "PipelineExecutionDisplayName": ANY,
            "PipelineParameters": (
                [{"Name": "ZenMLSnapshotId", "Value": snapshot_id}] if snapshot_id else ANY
            ),
        }
        if max_parallel:
            start["ParallelismConfiguration"] = {"MaxParallelExecutionSteps": max_parallel}
        self.stubber.add_response("start_pipeline_execution", {"PipelineExecutionArn": EXECUTION_ARN}, start)

    def definition(self) -> dict[str, Any]:
        for operation, params in self.requests:
            if operation in ("CreatePipeline", "UpdatePipeline"):
                return dict(json.loads(params["PipelineDefinition"]))
        raise AssertionError("no pipeline was created or updated")


def _submit(orchestrator: Any, snapshot: Any, extra_env: dict[str, str] | None = None) -> Any:
    return orchestrator.submit_pipeline(
        snapshot=snapshot,
        stack=None,
        base_environment=dict(environments(snapshot)[next(iter(snapshot.step_configurations))]),
        step_environments=environments(snapshot, extra_env),
        placeholder_run=None,
    )


def test_first_run_creates_the_pipeline_second_run_updates_it(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    orchestrator = make_orchestrator()
    snapshot = fake_snapshot(diamond())
    with recorder.stubber:
        recorder.expect_run(exists=False)
        first = _submit(orchestrator, snapshot)
        recorder.expect_run(exists=True)
        _submit(orchestrator, snapshot)
        recorder.stubber.assert_no_pending_responses()
    assert [operation for operation, _ in recorder.requests] == [
        "DescribePipeline",
        "CreatePipeline",
        "ListPipelineVersions",
        "StartPipelineExecution",
        "DescribePipeline",
        "UpdatePipeline",
        "StartPipelineExecution",
    ]
    create = recorder.requests[1][1]
    assert {"Key": "zenml-pipeline", "Value": "training"} in create["Tags"]
    assert first.metadata["orchestrator_run_id"] == EXECUTION_ARN
    assert first.wait_for_completion is None  # synchronous=False in the test config


@pytest.mark.parametrize("count", [1, 20])
def test_api_calls_do_not_grow_with_the_step_count(
    make_orchestrator: Any, recorder: Recorder, count: int
) -> None:
    snapshot = fake_snapshot(fan_out(count))
    with recorder.stubber:
        recorder.expect_run(exists=True)
        _submit(make_orchestrator(), snapshot)
    assert len(recorder.requests) == 3
    assert len(recorder.definition()["Steps"]) == count


def test_definition_holds_no_secret_but_the_secret_arn_and_run_id(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    snapshot = fake_snapshot(diamond(), step_settings={"join": {"environment": {"DB_PASSWORD": "hunter2"}}})
    extra = {"MY_FLAG": "1", "AWS_SECRET_ACCESS_KEY": "abc", "SOME_URL": "https://user:pw@example.com/x"}
    with recorder.stubber:
        recorder.expect_run(exists=False)
        _submit(make_orchestrator(), snapshot, extra)
    text = json.dumps(recorder.requests)
    for secret in (
        TOKEN,
        "hunter2",
        "user:pw",
        "ZENML_STORE_API_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "127.0.0.1:8237",
    ):
        assert secret not in text
    for step in recorder.definition()["Steps"]:
        environment = step["Arguments"]["Environment"]
        assert environment[ENV_SECRET_ARN] == SECRET_ARN
        assert environment[ENV_EXECUTION_ARN] == {"Get": "Execution.PipelineExecutionArn"}
        assert environment["MY_FLAG"] == "1"
        assert "ZENML_ACTIVE_STACK_ID" in environment


def test_steps_run_our_entrypoint_on_the_recorded_image(make_orchestrator: Any, recorder: Recorder) -> None:
    snapshot = fake_snapshot(diamond())
    with recorder.stubber:
        recorder.expect_run(exists=True, snapshot_id=str(snapshot.id))
        _submit(make_orchestrator(), snapshot)
        recorder.stubber.assert_no_pending_responses()
    steps = {step["Name"]: step for step in recorder.definition()["Steps"]}
    assert steps["join"]["DependsOn"] == ["left", "right"]
    app = steps["load"]["Arguments"]["AppSpecification"]
    assert app["ImageUri"] == IMAGE
    assert app["ContainerEntrypoint"] == list(ENTRYPOINT_COMMAND)
    arguments = app["ContainerArguments"]
    assert arguments[arguments.index("--step_name") + 1] == "load"
    # The snapshot is read from the pipeline parameter this run sets (checked by the stub above).
    assert arguments[arguments.index("--snapshot_id") + 1] == {"Get": "Parameters.ZenMLSnapshotId"}


def test_the_snapshot_is_a_parameter_so_steps_do_not_change_between_snapshots(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    first, second = fake_snapshot(diamond()), fake_snapshot(diamond())
    with recorder.stubber:
        recorder.expect_run(exists=False, snapshot_id=str(first.id))
        _submit(make_orchestrator(), first)
        recorder.expect_run(exists=True, snapshot_id=str(second.id))
        _submit(make_orchestrator(), second)
        recorder.stubber.assert_no_pending_responses()
    create, update = (
        json.loads(params["PipelineDefinition"])
        for operation, params in recorder.requests
        if operation in ("CreatePipeline", "UpdatePipeline")
    )
    assert create["Steps"] == update["Steps"]
    assert str(first.id) not in json.dumps(create["Steps"])
    assert create["Parameters"] == [
        {"Name": "ZenMLSnapshotId", "Type": "String", "DefaultValue": str(first.id)}
    ]
    assert update["Parameters"] == [
        {"Name": "ZenMLSnapshotId", "Type": "String", "DefaultValue": str(second.id)}
    ]


def test_a_scheduled_submission_gives_the_schedule_its_own_snapshot(
    make_orchestrator: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagemaker_stack.schedules import hooks

    submitted: dict[str, Any] = {}
    monkeypatch.setattr(hooks, "check_snapshot", lambda config, snapshot: None)
    monkeypatch.setattr(hooks, "submit_schedule", lambda config, snapshot, **kwargs: submitted.update(kwargs))
    snapshot = fake_snapshot(diamond())
    snapshot.schedule = object()
    with recorder.stubber:
        recorder.stubber.add_response(
            "describe_pipeline", {"PipelineArn": PIPELINE_ARN}, {"PipelineName": PIPELINE_NAME}
        )
        recorder.stubber.add_response("update_pipeline", {"PipelineArn": PIPELINE_ARN})
        _submit(make_orchestrator(), snapshot)
        recorder.stubber.assert_no_pending_responses()
    # No execution is started now: EventBridge starts them, with this snapshot's id.
    assert [operation for operation, _ in recorder.requests] == ["DescribePipeline", "UpdatePipeline"]
    assert submitted["pipeline_arn"] == PIPELINE_ARN
    assert submitted["pipeline_parameters"] == {"ZenMLSnapshotId": str(snapshot.id)}


def test_parallelism_goes_to_the_execution(make_orchestrator: Any, recorder: Recorder) -> None:
    with recorder.stubber:
        recorder.expect_run(exists=True, max_parallel=2)
        _submit(make_orchestrator(pipeline_settings={"max_parallel_steps": 2}), fake_snapshot(fan_out(5)))
        recorder.stubber.assert_no_pending_responses()


def test_invalid_settings_fail_before_any_aws_call(make_orchestrator: Any, recorder: Recorder) -> None:
    snapshot = fake_snapshot(
        diamond(), step_settings={"left": {"volume_size_in_gb": 0}, "right": {"instance_type": "huge"}}
    )
    with recorder.stubber, pytest.raises(InvalidPipelineError) as caught:
        _submit(make_orchestrator(), snapshot)
    assert recorder.requests == []
    message = str(caught.value)
    assert "left" in message and "right" in message


def test_synchronous_run_returns_a_waiter_and_links(make_orchestrator: Any, recorder: Recorder) -> None:
    with recorder.stubber:
        recorder.expect_run(exists=True)
        result = _submit(make_orchestrator(pipeline_settings={"synchronous": True}), fake_snapshot(diamond()))
    assert callable(result.wait_for_completion)
    metadata = result.metadata
    assert metadata["orchestrator_url"].startswith(f"https://{REGION}.console.aws.amazon.com/sagemaker/")
    assert set(metadata["step_log_urls"]) == {"load", "left", "right", "join"}
    assert "abc123def456" in metadata["step_log_urls"]["join"]
    assert metadata["sagemaker_step_names"] == {name: [name] for name in ("load", "left", "right", "join")}


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("ZENML_STORE_API_TOKEN", "x", True),
        ("ZENML_STORE_URL", "http://127.0.0.1:8237", True),
        ("GITHUB_TOKEN", "x", True),
        ("HARMLESS", TOKEN, True),
        ("HARMLESS", "ZENKEY_abc", True),
        ("HARMLESS", "AKIAABCDEFGHIJKLMNOP", True),
        ("ZENML_ACTIVE_STACK_ID", "0b4d3f7e-2d0e-4b8a-9a8e-0c6f1f3f1d2a", False),
        ("ZENML_DISABLE_CREDENTIALS_DISK_CACHING", "true", False),
        (ENV_SECRET_ARN, SECRET_ARN, False),
    ],
)
def test_secret_detection(name: str, value: str, secret: bool) -> None:
    assert is_secret(name, value) is secret


def test_public_environment_reports_dropped_names_only() -> None:
    kept, dropped = public_environment({"A": "1", "ZENML_STORE_API_TOKEN": TOKEN})
    assert kept == {"A": "1"} and dropped == ["ZENML_STORE_API_TOKEN"]
