"""A real ZenML schedule through the sagemaker_pipelines orchestrator, on the emulator.

The SageMaker pipeline of a ZenML pipeline is updated in place by every run, so the snapshot a
run executes travels as the `ZenMLSnapshotId` pipeline parameter: the EventBridge schedule's
target carries its own snapshot id, and a later manual run must not repoint the schedule at the
newest snapshot. Scheduled submissions start no execution (the emulator's schedules never fire);
only the manual run executes a step.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support.e2e_stack import E2EStack

PIPELINE_NAME = "e2e-single"  # <resource_prefix>-<ZenML pipeline name>
GROUP = "e2e-schedules"
CRON = "0 3 * * *"


@pytest.fixture(scope="module")
def scheduled(e2e_stack: E2EStack) -> dict[str, Any]:
    """The `single` pipeline scheduled with a cron expression (once for the module)."""
    result = e2e_stack.zenml("schedule", "single", CRON)
    assert result["snapshot_id"], result["_output"][-4000:]
    return result


def _get_schedule(stack: E2EStack, scheduled: dict[str, Any]) -> dict[str, Any]:
    name = f"zenml-{scheduled['schedule_id']}"
    return dict(stack.client("scheduler").get_schedule(Name=name, GroupName=GROUP))


def _snapshot_parameter(schedule: dict[str, Any]) -> str:
    parameters = schedule["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"]
    return str({item["Name"]: item["Value"] for item in parameters}["ZenMLSnapshotId"])


def _definition(stack: E2EStack) -> dict[str, Any]:
    response = stack.client("sagemaker").describe_pipeline(PipelineName=PIPELINE_NAME)
    return dict(json.loads(response["PipelineDefinition"]))


def _wait_for_execution(stack: E2EStack, execution_arn: str, timeout: float = 180) -> str:
    sagemaker = stack.client("sagemaker")
    deadline = time.monotonic() + timeout
    while True:
        status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        if status["PipelineExecutionStatus"] in ("Succeeded", "Failed", "Stopped"):
            return str(status["PipelineExecutionStatus"])
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_arn} still {status['PipelineExecutionStatus']}")
        time.sleep(1)


def _step_logs(stack: E2EStack) -> str:
    """The emulator's processing job logs (shown when a step did not do what was expected)."""
    logs = stack.client("logs")
    group = "/aws/sagemaker/ProcessingJobs"
    lines: list[str] = []
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
        lines.extend(f"{stream['logStreamName']}: {event['message']}" for event in events)
    return "\n".join(lines[-60:])


def test_a_cron_schedule_becomes_an_eventbridge_schedule_of_its_snapshot(
    e2e_stack: E2EStack, scheduled: dict[str, Any]
) -> None:
    schedule = _get_schedule(e2e_stack, scheduled)
    pipeline_arn = e2e_stack.client("sagemaker").describe_pipeline(PipelineName=PIPELINE_NAME)["PipelineArn"]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == pipeline_arn
    assert schedule["Target"]["RoleArn"] == e2e_stack.scheduler_role_arn
    assert _snapshot_parameter(schedule) == scheduled["snapshot_id"]
    # The steps read the snapshot from the parameter; the definition only holds it as a default.
    definition = _definition(e2e_stack)
    assert definition["Parameters"] == [
        {"Name": "ZenMLSnapshotId", "Type": "String", "DefaultValue": scheduled["snapshot_id"]}
    ]
    (step,) = definition["Steps"]
    arguments = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--snapshot_id") + 1] == {"Get": "Parameters.ZenMLSnapshotId"}
    assert scheduled["snapshot_id"] not in json.dumps(definition["Steps"])
    # A scheduled submission starts nothing by itself.
    executions = e2e_stack.client("sagemaker").list_pipeline_executions(PipelineName=PIPELINE_NAME)
    assert executions["PipelineExecutionSummaries"] == []


def test_a_later_manual_run_leaves_the_schedule_on_its_snapshot(
    e2e_stack: E2EStack, scheduled: dict[str, Any]
) -> None:
    started = e2e_stack.zenml("run", "single", "--async")
    assert started["error"] is None, started["_output"][-4000:]
    run_snapshot = started["snapshot_id"]
    assert run_snapshot and run_snapshot != scheduled["snapshot_id"]
    execution_arn = started["metadata"]["orchestrator_run_id"]
    assert _wait_for_execution(e2e_stack, execution_arn) == "Succeeded"

    # The manual run executed its own snapshot (a step on another snapshot would not complete it).
    report = e2e_stack.zenml("report", started["run_id"])
    assert report["status"] == "completed", _step_logs(e2e_stack)
    assert report["steps"] == {"load": "completed"}
    # The pipeline was updated in place: its default moved to the new snapshot ...
    assert _definition(e2e_stack)["Parameters"][0]["DefaultValue"] == run_snapshot
    # ... but the schedule still starts the snapshot it was made for.
    schedule = _get_schedule(e2e_stack, scheduled)
    assert _snapshot_parameter(schedule) == scheduled["snapshot_id"]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"


def test_deleting_the_zenml_schedule_deletes_the_eventbridge_schedule(
    e2e_stack: E2EStack, scheduled: dict[str, Any]
) -> None:
    assert _get_schedule(e2e_stack, scheduled)["Name"] == f"zenml-{scheduled['schedule_id']}"
    e2e_stack.zenml("delete-schedule", scheduled["schedule_id"])
    scheduler = e2e_stack.client("scheduler")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        _get_schedule(e2e_stack, scheduled)
    names = [item["Name"] for item in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    assert f"zenml-{scheduled['schedule_id']}" not in names
