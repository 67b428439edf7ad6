"""A schedule starts the snapshot it was made for: its target carries that snapshot id, and
updating the schedule (cron, active) keeps it, whatever ran on the pipeline since."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import ANY, Stubber
from zenml.models import ScheduleUpdate

from sagemaker_stack.schedules import hooks, scheduler
from tests.support.schedules_fakes import PIPELINE_ARN, ROLE, SCHEDULE_ID, Stack, StoredSchedule

SNAPSHOT_ID = "0b4d3f7e-2d0e-4b8a-9a8e-0c6f1f3f1d2a"
PARAMETERS = {"PipelineParameterList": [{"Name": "ZenMLSnapshotId", "Value": SNAPSHOT_ID}]}
NAME = f"zenml-{SCHEDULE_ID}"
GROUP = "demo-schedules"


@pytest.fixture
def stubber(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client(
        "scheduler", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(scheduler, "scheduler_client", lambda config: client)
    return Stubber(client)


def test_submitting_a_schedule_puts_the_snapshot_id_on_the_target(stubber: Stubber) -> None:
    stubber.add_response("get_schedule_group", {"Name": GROUP, "State": "ACTIVE"}, {"Name": GROUP})
    stubber.add_client_error(
        "get_schedule", service_error_code="ResourceNotFoundException", http_status_code=404
    )
    expected_target = {
        "Arn": PIPELINE_ARN,
        "RoleArn": ROLE,
        "RetryPolicy": ANY,
        "SageMakerPipelineParameters": PARAMETERS,
    }
    stubber.add_response(
        "create_schedule",
        {"ScheduleArn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/{NAME}"},
        {
            "Name": NAME,
            "GroupName": GROUP,
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": expected_target,
            "State": "ENABLED",
            "Description": ANY,
            "ActionAfterCompletion": "NONE",
        },
    )
    snapshot = SimpleNamespace(
        schedule=StoredSchedule(cron_expression="0 3 * * *"),
        pipeline_configuration=SimpleNamespace(name="training"),
    )
    with stubber:
        result = hooks.submit_schedule(
            Stack(),
            snapshot,
            pipeline_arn=PIPELINE_ARN,
            pipeline_parameters={"ZenMLSnapshotId": SNAPSHOT_ID},
        )
        stubber.assert_no_pending_responses()
    assert result.metadata["schedule_name"] == NAME


def test_updating_a_schedule_keeps_its_snapshot(stubber: Stubber) -> None:
    target = {"Arn": PIPELINE_ARN, "RoleArn": ROLE, "SageMakerPipelineParameters": PARAMETERS}
    stubber.add_response(
        "get_schedule",
        {
            "Name": NAME,
            "GroupName": GROUP,
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
        },
        {"Name": NAME, "GroupName": GROUP},
    )
    stubber.add_response(
        "update_schedule",
        {"ScheduleArn": f"arn:aws:scheduler:us-east-1:123456789012:schedule/{GROUP}/{NAME}"},
        {
            "Name": NAME,
            "GroupName": GROUP,
            "ScheduleExpression": "cron(15 4 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
            "State": "DISABLED",
            "Description": ANY,
            "ActionAfterCompletion": "NONE",
        },
    )
    with stubber:
        hooks.update_from_zenml(
            Stack(),
            StoredSchedule(cron_expression="0 3 * * *"),
            ScheduleUpdate(cron_expression="15 4 * * *", active=False),
        )
        stubber.assert_no_pending_responses()
