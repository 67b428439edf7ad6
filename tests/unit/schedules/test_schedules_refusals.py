"""Bad input fails with one clear message before any AWS call (a Stubber with nothing queued
raises on any call, so reaching AWS would fail these tests differently)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_stack.schedules import ScheduleError, hooks, scheduler
from sagemaker_stack.schedules import plan as plan_api
from tests.support.schedules_fakes import NOW, PIPELINE_ARN, Stack, StoredSchedule


@pytest.fixture
def silent_client() -> Iterator[Any]:
    client = boto3.client(
        "scheduler", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client
        stubber.assert_no_pending_responses()


BAD = [
    pytest.param(Stack(), StoredSchedule(cron_expression="0 0 32 * *"), "invalid cron expression", id="cron"),
    pytest.param(
        Stack(), StoredSchedule(interval_second=timedelta(seconds=59)), "at least 60 seconds", id="interval"
    ),
    pytest.param(
        Stack(),
        StoredSchedule(
            cron_expression="0 0 * * *", start_time=datetime(2030, 5, 1), end_time=datetime(2030, 4, 1)
        ),
        "is not after start_time",
        id="end-before-start",
    ),
    pytest.param(
        Stack(scheduler_role_arn=None),
        StoredSchedule(cron_expression="0 0 * * *"),
        "this stack has no scheduler role",
        id="no-role",
    ),
]


@pytest.mark.parametrize(("stack", "schedule", "message"), BAD)
def test_create_refuses_before_any_call(
    stack: Stack, schedule: StoredSchedule, message: str, silent_client: Any
) -> None:
    with pytest.raises(ScheduleError, match=message):
        scheduler.create_or_update_schedule(stack, schedule, PIPELINE_ARN, now=NOW, client=silent_client)


def test_no_role_message_says_how_to_fix_it() -> None:
    with pytest.raises(ScheduleError) as caught:
        plan_api.require_scheduler_role(Stack(scheduler_role_arn=None))
    assert "redeploy" in str(caught.value) and "scheduler_role_arn" in str(caught.value)


def test_update_refuses_a_bad_cron_before_any_call(silent_client: Any) -> None:
    from zenml.models import ScheduleUpdate

    with pytest.raises(ScheduleError, match="invalid cron expression"):
        hooks.update_from_zenml(
            Stack(),
            StoredSchedule(cron_expression="0 0 * * *"),
            ScheduleUpdate(cron_expression="every day"),
            now=NOW,
            client=silent_client,
        )


def test_a_pipeline_name_needs_an_account_to_become_an_arn(silent_client: Any) -> None:
    class NoAccount:
        region = "us-east-1"
        resource_prefix = "demo"
        scheduler_role_arn = Stack().scheduler_role_arn
        endpoint_url = None

    with pytest.raises(ScheduleError, match="pass the pipeline ARN"):
        scheduler.create_or_update_schedule(
            NoAccount(), StoredSchedule(cron_expression="0 0 * * *"), "demo-x", now=NOW, client=silent_client
        )


@pytest.mark.parametrize(("stack", "schedule", "message"), BAD)
def test_orchestrator_check_raises_what_zenml_cleans_up_after(
    stack: Stack, schedule: StoredSchedule, message: str
) -> None:
    """ZenML deletes the schedule it stored only for a PipelineSubmissionError."""
    from zenml.orchestrators.exceptions import PipelineSubmissionError

    with pytest.raises(PipelineSubmissionError, match=message):
        hooks.check_submission(stack, schedule)


def test_a_group_still_being_deleted_is_reported_not_used() -> None:
    client = boto3.client(
        "scheduler", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_response(
        "get_schedule_group",
        {"Name": "demo-schedules", "State": "DELETING"},
        {"Name": "demo-schedules"},
    )
    with stubber, pytest.raises(ScheduleError, match="still being deleted"):
        scheduler.create_or_update_schedule(
            Stack(), StoredSchedule(cron_expression="0 0 * * *"), PIPELINE_ARN, now=NOW, client=client
        )
    stubber.assert_no_pending_responses()


def test_schedules_known_only_by_name_are_never_orphans_to_zenml() -> None:
    detail = {
        "Name": "zenml-nightly",
        "Description": plan_api.describe_owner(None, "nightly", "training"),
        "Target": {"Arn": PIPELINE_ARN},
    }
    assert scheduler._info(detail, hooks.ZenMLScheduleIds(lambda _: False)).orphan is None
    assert scheduler._info(detail, {"nightly"}).orphan is False
    assert scheduler._info(detail, set()).orphan is True
    assert scheduler._info(detail, None).orphan is None
