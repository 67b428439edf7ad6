"""Each kind of schedule made on the emulator and read back through the Scheduler API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.schedules import ScheduleError, hooks
from sagemaker_stack.schedules import plan as plan_api
from sagemaker_stack.schedules import scheduler as scheduler_api
from tests.support.schedules import ACCOUNT, PIPELINE_ARN, SCHEDULER_ROLE, Stored, stack_config

GROUP = "schedtest-schedules"


def _get(scheduler: Any, name: str) -> dict[str, Any]:
    return dict(scheduler.get_schedule(Name=name, GroupName=GROUP))


def _names(scheduler: Any) -> list[str]:
    return sorted(s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"])


def _close(a: datetime, b: datetime) -> bool:
    return abs(a.astimezone(UTC) - b.astimezone(UTC)) < timedelta(seconds=1)


def test_cron_schedule_reads_back_with_expression_target_role_and_window(
    config: StackConfig, scheduler: Any
) -> None:
    start = datetime.now(UTC) + timedelta(hours=2)
    end = start + timedelta(days=30)
    stored = Stored(cron_expression="*/30 6-18 * * 1-5", start_time=start, end_time=end)

    plan, arn, created = scheduler_api.create_or_update_schedule(
        config, stored, PIPELINE_ARN, zenml_pipeline="training"
    )

    assert created and arn.endswith(f":schedule/{GROUP}/zenml-{stored.id}")
    got = _get(scheduler, plan.name)
    assert got["ScheduleExpression"] == "cron(0/30 6-18 ? * MON-FRI *)"
    assert got["ScheduleExpressionTimezone"] == "UTC"
    assert got["Target"]["Arn"] == PIPELINE_ARN
    assert got["Target"]["RoleArn"] == SCHEDULER_ROLE
    assert got["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert _close(got["StartDate"], start) and _close(got["EndDate"], end)
    assert got["State"] == "ENABLED"
    assert plan_api.parse_owner(got["Description"])["zenml_schedule_id"] == str(stored.id)


def test_interval_schedule_is_a_rate(config: StackConfig, scheduler: Any) -> None:
    stored = Stored(interval_second=timedelta(hours=6), start_time=datetime.now(UTC) + timedelta(minutes=10))
    plan, _, _ = scheduler_api.create_or_update_schedule(config, stored, PIPELINE_ARN)
    got = _get(scheduler, plan.name)
    assert got["ScheduleExpression"] == "rate(6 hours)"
    assert _close(got["StartDate"], stored.start_time)  # type: ignore[arg-type]
    assert "EndDate" not in got or got["EndDate"] is None


def test_run_once_schedule_is_an_at_expression_in_its_zone(config: StackConfig, scheduler: Any) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    stored = Stored(run_once_start_time=when.replace(tzinfo=None))  # naive UTC, as ZenML stores it
    plan, _, _ = scheduler_api.create_or_update_schedule(config, stored, PIPELINE_ARN, timezone="Asia/Tokyo")
    got = _get(scheduler, plan.name)
    tokyo = when.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert got["ScheduleExpression"] == f"at({tokyo:%Y-%m-%dT%H:%M:%S})"
    assert got["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert got["ActionAfterCompletion"] == "DELETE"


def test_pipeline_name_is_turned_into_the_stack_pipeline_arn(config: StackConfig, scheduler: Any) -> None:
    plan, _, _ = scheduler_api.create_or_update_schedule(
        config, Stored(cron_expression="0 0 * * *"), "schedtest-training"
    )
    assert _get(scheduler, plan.name)["Target"]["Arn"] == PIPELINE_ARN


def test_update_changes_the_schedule_in_place(config: StackConfig, scheduler: Any) -> None:
    stored = Stored(cron_expression="0 1 * * *")
    plan, first_arn, _ = scheduler_api.create_or_update_schedule(config, stored, PIPELINE_ARN)
    created_at = _get(scheduler, plan.name)["CreationDate"]

    changed = Stored(id=stored.id, name="renamed", cron_expression="0 2 * * 0")
    _, second_arn, created = scheduler_api.create_or_update_schedule(config, changed, PIPELINE_ARN)

    assert not created and second_arn == first_arn
    got = _get(scheduler, plan.name)
    assert got["ScheduleExpression"] == "cron(0 2 ? * SUN *)"
    assert got["CreationDate"] == created_at
    assert plan_api.parse_owner(got["Description"])["zenml_schedule"] == "renamed"
    assert _names(scheduler) == [plan.name]


def test_zenml_update_hook_changes_cron_and_state_and_keeps_the_target(
    config: StackConfig, scheduler: Any
) -> None:
    from zenml.models import ScheduleUpdate

    stored = Stored(cron_expression="0 1 * * *")
    plan, _, _ = scheduler_api.create_or_update_schedule(
        config, stored, PIPELINE_ARN, zenml_pipeline="training", timezone="Europe/Berlin"
    )

    hooks.update_from_zenml(config, stored, ScheduleUpdate(cron_expression="15 3 * * *", active=False))

    got = _get(scheduler, plan.name)
    assert got["ScheduleExpression"] == "cron(15 3 * * ? *)"
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["State"] == "DISABLED"
    assert got["Target"]["Arn"] == PIPELINE_ARN and got["Target"]["RoleArn"] == SCHEDULER_ROLE
    assert plan_api.parse_owner(got["Description"])["zenml_pipeline"] == "training"


def test_zenml_update_of_a_missing_schedule_says_how_to_recover(config: StackConfig) -> None:
    from zenml.models import ScheduleUpdate

    with pytest.raises(ScheduleError, match="run the pipeline with this schedule again"):
        hooks.update_from_zenml(
            config, Stored(cron_expression="0 1 * * *"), ScheduleUpdate(cron_expression="0 2 * * *")
        )


def test_delete_removes_and_is_idempotent(config: StackConfig, scheduler: Any) -> None:
    keep = Stored(cron_expression="0 1 * * *")
    gone = Stored(cron_expression="0 2 * * *")
    for stored in (keep, gone):
        scheduler_api.create_or_update_schedule(config, stored, PIPELINE_ARN)

    assert hooks.delete_for_zenml(config, gone) is True
    assert hooks.delete_for_zenml(config, gone) is False
    assert _names(scheduler) == [f"zenml-{keep.id}"]


def test_orphans_are_found_and_removed_and_foreign_schedules_left_alone(
    config: StackConfig, scheduler: Any
) -> None:
    alive, dead1, dead2 = (Stored(name=n, cron_expression="0 0 * * *") for n in ("alive", "dead1", "dead2"))
    for stored in (alive, dead1, dead2):
        scheduler_api.create_or_update_schedule(config, stored, PIPELINE_ARN, zenml_pipeline="training")
    scheduler.create_schedule(  # someone else's schedule in our group: never ours to delete
        Name="hand-made",
        GroupName=GROUP,
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": PIPELINE_ARN, "RoleArn": SCHEDULER_ROLE},
    )
    existing = {str(alive.id)}

    listed = {info.name: info for info in scheduler_api.list_schedules(config, existing)}
    assert listed[f"zenml-{alive.id}"].orphan is False
    assert listed[f"zenml-{dead1.id}"].orphan is True
    assert listed["hand-made"].orphan is None and not listed["hand-made"].managed
    assert listed[f"zenml-{alive.id}"].pipeline_name == "schedtest-training"

    orphans = scheduler_api.find_orphans(config, existing)
    assert sorted(o.zenml_schedule_name or "" for o in orphans) == ["dead1", "dead2"]

    removed = scheduler_api.delete_orphans(config, existing)
    assert sorted(removed) == sorted([f"zenml-{dead1.id}", f"zenml-{dead2.id}"])
    assert _names(scheduler) == sorted([f"zenml-{alive.id}", "hand-made"])


def test_delete_all_schedules_leaves_none_and_no_group(config: StackConfig, scheduler: Any) -> None:
    made = [Stored(cron_expression=f"0 {h} * * *") for h in range(3)]
    for stored in made:
        scheduler_api.create_or_update_schedule(config, stored, PIPELINE_ARN)

    removed = scheduler_api.delete_all_schedules(config)

    assert removed == sorted(f"zenml-{s.id}" for s in made)
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert GROUP not in groups
    assert scheduler_api.list_schedules(config) == []
    assert scheduler_api.delete_all_schedules(config) == []  # a second `down` is harmless


def test_another_stack_group_is_untouched(config: StackConfig, scheduler: Any) -> None:
    other = stack_config(config.endpoint_url or "", resource_prefix="other", stack_name="other")
    mine, theirs = Stored(cron_expression="0 0 * * *"), Stored(cron_expression="0 0 * * *")
    scheduler_api.create_or_update_schedule(config, mine, PIPELINE_ARN)
    scheduler_api.create_or_update_schedule(
        other, theirs, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/other-x"
    )

    assert scheduler_api.delete_all_schedules(config) == [f"zenml-{mine.id}"]
    assert [i.name for i in scheduler_api.list_schedules(other)] == [f"zenml-{theirs.id}"]


def test_orchestrator_submit_creates_the_schedule_and_reports_it(config: StackConfig, scheduler: Any) -> None:
    """`submit_schedule` as SagemakerPipelinesOrchestrator calls it, with its real config class."""
    from types import SimpleNamespace

    from zenml.orchestrators import SubmissionResult

    from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorConfig, config_kwargs_from_stack_config

    orchestrator_config = SagemakerPipelinesOrchestratorConfig(**config_kwargs_from_stack_config(config))
    snapshot = SimpleNamespace(
        schedule=Stored(id=uuid4(), interval_second=timedelta(seconds=90)),
        pipeline_configuration=SimpleNamespace(name="training"),
    )

    result = hooks.submit_schedule(orchestrator_config, snapshot, pipeline_arn=PIPELINE_ARN)

    assert isinstance(result, SubmissionResult) and result.wait_for_completion is None
    assert result.metadata is not None
    name = f"zenml-{snapshot.schedule.id}"
    assert result.metadata["schedule_name"] == name
    assert result.metadata["schedule_expression"] == "rate(2 minutes)"
    got = _get(scheduler, name)
    assert got["ScheduleExpression"] == "rate(2 minutes)"
    assert got["Target"]["RoleArn"] == SCHEDULER_ROLE
