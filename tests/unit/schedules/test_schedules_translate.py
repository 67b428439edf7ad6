"""ZenML schedule -> EventBridge Scheduler arguments: what users rely on, with no AWS and no clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from zenml.config.schedule import Schedule

from sagemaker_stack.schedules import ScheduleError, hooks
from sagemaker_stack.schedules import plan as plan_api
from sagemaker_stack.schedules.cron import cron_to_aws
from sagemaker_stack.schedules.plan import parse_owner, translate
from sagemaker_stack.schedules.timing import schedule_timing
from tests.support.schedules_fakes import NOW, PIPELINE_ARN, ROLE, SCHEDULE_ID, Stack, StoredSchedule


@pytest.mark.parametrize(
    ("unix", "aws"),
    [
        ("0 6 * * 1-5", "cron(0 6 ? * MON-FRI *)"),
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),
        ("30 2 1,15 * *", "cron(30 2 1,15 * ? *)"),
        ("0 9-17/2 * * *", "cron(0 9-17/2 * * ? *)"),
        ("0 0 */2 * *", "cron(0 0 1/2 * ? *)"),
        ("0 0 * * 0", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 7", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * SUN,FRI,SAT *)"),
        ("0 0 * * */2", "cron(0 0 ? * SUN,TUE,THU,SAT *)"),
        ("0 12 * jan,JUL sun", "cron(0 12 ? 1,7 SUN *)"),
        ("5 4 * * mon-wed", "cron(5 4 ? * MON-WED *)"),
        ("0 0 1-31 * 0-6", "cron(0 0 * * ? *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@hourly", "cron(0 * * * ? *)"),
        ("@weekly", "cron(0 0 ? * SUN *)"),
        ("  0   6 * * *  ", "cron(0 6 * * ? *)"),
    ],
)
def test_unix_cron_becomes_aws_cron(unix: str, aws: str) -> None:
    assert cron_to_aws(unix) == aws


@pytest.mark.parametrize(
    ("unix", "says"),
    [
        ("61 * * * *", "minute value 61 is outside 0-59"),
        ("* * *", "it has 3 fields, not 5"),
        ("0 0 * * * 2030", "it has 6 fields, not 5"),
        ("0 0 1 * 1", "restricts both day-of-month and day-of-week"),
        ("0 0 5-1 * *", "range '5-1' runs backwards"),
        ("*/0 * * * *", "step '0' is not a positive number"),
        ("0 0 * 13 *", "month value 13 is outside 1-12"),
        ("0 0 * * 8", "day-of-week value 8 is outside 0-7"),
        ("0 0 L * *", "day-of-month value 'L' is not a number"),
        ("0 0 1,,2 * *", "empty list item"),
        ("@reboot", "'@reboot' is not one of"),
        ("", "it is empty"),
    ],
)
def test_invalid_cron_is_named_with_the_reason(unix: str, says: str) -> None:
    with pytest.raises(ScheduleError, match="invalid cron expression") as caught:
        cron_to_aws(unix)
    assert says in str(caught.value)
    assert "minute hour day-of-month month day-of-week" in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "expression"),
    [
        (60, "rate(1 minute)"),
        (120, "rate(2 minutes)"),
        (5400, "rate(90 minutes)"),
        (3600, "rate(1 hour)"),
        (7200, "rate(2 hours)"),
        (86400, "rate(1 day)"),
        (172800, "rate(2 days)"),
    ],
)
def test_whole_minute_intervals_are_exact_rates(seconds: int, expression: str) -> None:
    times = schedule_timing(StoredSchedule(interval_second=timedelta(seconds=seconds)), now=NOW)
    assert times.expression == expression
    assert times.notes == ()


@pytest.mark.parametrize(("seconds", "expression"), [(90, "rate(2 minutes)"), (149, "rate(2 minutes)")])
def test_other_intervals_are_rounded_and_say_so(seconds: int, expression: str) -> None:
    times = schedule_timing(StoredSchedule(interval_second=timedelta(seconds=seconds)), now=NOW)
    assert times.expression == expression
    assert any(f"{seconds} s" in note and "rounded to 2 minutes" in note for note in times.notes)


def test_interval_under_a_minute_is_refused() -> None:
    with pytest.raises(ScheduleError, match=r"30 s.*at least 60 seconds"):
        schedule_timing(StoredSchedule(interval_second=timedelta(seconds=30)), now=NOW)


def test_run_once_is_a_one_time_at_schedule_deleted_after_it_ran() -> None:
    when = datetime(2030, 2, 1, 8, 30, 15)  # naive: ZenML stored it as UTC
    plan = translate(Stack(), StoredSchedule(run_once_start_time=when), pipeline_arn=PIPELINE_ARN, now=NOW)
    assert plan.arguments["ScheduleExpression"] == "at(2030-02-01T08:30:15)"
    assert plan.arguments["ScheduleExpressionTimezone"] == "UTC"
    assert plan.arguments["ActionAfterCompletion"] == "DELETE"
    assert "StartDate" not in plan.arguments and "EndDate" not in plan.arguments


def test_run_once_keeps_a_named_time_zone() -> None:
    when = datetime(2030, 7, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    times = schedule_timing(Schedule(run_once_start_time=when), now=NOW)
    assert (times.expression, times.timezone) == ("at(2030-07-01T09:00:00)", "Europe/Berlin")


def test_run_once_in_utc_is_shown_in_the_requested_zone() -> None:
    times = schedule_timing(
        StoredSchedule(run_once_start_time=datetime(2030, 7, 1, 7, 0)), now=NOW, timezone="Europe/Berlin"
    )
    assert (times.expression, times.timezone) == ("at(2030-07-01T09:00:00)", "Europe/Berlin")


def test_run_once_in_the_past_is_refused() -> None:
    with pytest.raises(ScheduleError, match=r"run_once_start_time .* is in the past"):
        schedule_timing(StoredSchedule(run_once_start_time=datetime(2029, 1, 1)), now=NOW)


def test_start_and_end_become_the_window_in_utc() -> None:
    start = datetime(2030, 2, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    end = datetime(2030, 3, 1, 0, 0, tzinfo=UTC)
    plan = translate(
        Stack(),
        StoredSchedule(cron_expression="0 * * * *", start_time=start, end_time=end),
        pipeline_arn=PIPELINE_ARN,
        now=NOW,
    )
    assert plan.arguments["StartDate"] == datetime(2030, 2, 1, 14, 0, tzinfo=UTC)
    assert plan.arguments["EndDate"] == end
    assert plan.arguments["FlexibleTimeWindow"] == {"Mode": "OFF"}
    # The cron expression runs in the zone the start time was given in.
    assert plan.arguments["ScheduleExpressionTimezone"] == "America/New_York"


def test_a_past_start_means_from_now_on_and_says_so() -> None:
    stored = StoredSchedule(interval_second=timedelta(hours=1), start_time=datetime(2030, 1, 1))
    plan = translate(Stack(), stored, pipeline_arn=PIPELINE_ARN, now=NOW)
    assert "StartDate" not in plan.arguments
    assert any("in the past: the schedule starts now" in note for note in plan.notes)


def test_a_start_moments_ago_is_dropped_silently() -> None:
    stored = StoredSchedule(interval_second=timedelta(hours=1), start_time=NOW - timedelta(seconds=2))
    plan = translate(Stack(), stored, pipeline_arn=PIPELINE_ARN, now=NOW)
    assert "StartDate" not in plan.arguments and plan.notes == ()


def test_end_before_start_is_refused() -> None:
    stored = StoredSchedule(
        cron_expression="0 0 * * *", start_time=datetime(2030, 3, 1), end_time=datetime(2030, 2, 1)
    )
    with pytest.raises(ScheduleError, match=r"end_time .* is not after start_time"):
        schedule_timing(stored, now=NOW)


def test_end_in_the_past_is_refused() -> None:
    stored = StoredSchedule(cron_expression="0 0 * * *", end_time=datetime(2030, 1, 1))
    with pytest.raises(ScheduleError, match=r"end_time .* is in the past"):
        schedule_timing(stored, now=NOW)


def test_naive_datetimes_are_utc_as_zenml_stores_them() -> None:
    stored = StoredSchedule(cron_expression="0 0 * * *", start_time=datetime(2030, 2, 1, 10, 0))
    times = schedule_timing(stored, now=NOW)
    assert times.start == datetime(2030, 2, 1, 10, 0, tzinfo=UTC)
    assert times.timezone == "UTC"


def test_a_fixed_offset_cannot_name_a_zone_so_cron_stays_in_utc() -> None:
    start = datetime(2030, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    times = schedule_timing(StoredSchedule(cron_expression="0 0 * * *", start_time=start), now=NOW)
    assert times.timezone == "UTC"
    assert times.start == datetime(2030, 2, 1, 8, 0, tzinfo=UTC)


def test_an_explicit_time_zone_wins_and_must_exist() -> None:
    start = datetime(2030, 2, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    stored = StoredSchedule(cron_expression="0 0 * * *", start_time=start)
    assert schedule_timing(stored, now=NOW, timezone="Europe/Paris").timezone == "Europe/Paris"
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        schedule_timing(stored, now=NOW, timezone="Mars/Olympus")


def test_cron_wins_over_interval_and_catchup_is_reported_as_ignored() -> None:
    stored = StoredSchedule(
        cron_expression="0 0 * * *",
        interval_second=timedelta(hours=1),
        start_time=datetime(2030, 2, 1),
        catchup=True,
    )
    times = schedule_timing(stored, now=NOW)
    assert times.expression == "cron(0 0 * * ? *)"
    assert any("interval_second is ignored" in note for note in times.notes)
    assert any("catchup is ignored" in note for note in times.notes)


def test_a_schedule_without_a_kind_is_refused() -> None:
    with pytest.raises(ScheduleError, match="no cron_expression, no interval_second"):
        schedule_timing(StoredSchedule(), now=NOW)


def test_request_targets_the_pipeline_with_the_scheduler_role_in_the_stack_group() -> None:
    plan = translate(
        Stack(),
        StoredSchedule(cron_expression="0 3 * * *"),
        pipeline_arn=PIPELINE_ARN,
        zenml_pipeline="training",
        now=NOW,
        pipeline_parameters={"ZenMLSnapshotId": "abc"},
    )
    args = plan.arguments
    assert plan.name == args["Name"] == f"zenml-{SCHEDULE_ID}"
    assert plan.group_name == args["GroupName"] == "demo-schedules"
    assert args["Target"]["Arn"] == PIPELINE_ARN
    assert args["Target"]["RoleArn"] == ROLE
    assert args["Target"]["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": "ZenMLSnapshotId", "Value": "abc"}]
    }
    assert args["State"] == "ENABLED"
    assert args["ActionAfterCompletion"] == "NONE"
    owner = parse_owner(args["Description"])
    assert owner["zenml_schedule_id"] == str(SCHEDULE_ID)
    assert owner["zenml_schedule"] == "nightly"
    assert owner["zenml_pipeline"] == "training"
    assert len(args["Description"]) <= 512


def test_request_matches_botocore_shape() -> None:
    """The arguments are exactly what CreateSchedule accepts (validated by botocore's model)."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    plan = translate(
        Stack(),
        StoredSchedule(cron_expression="0 3 * * *", end_time=datetime(2030, 6, 1)),
        pipeline_arn=PIPELINE_ARN,
        now=NOW,
    )
    shape = get_session().get_service_model("scheduler").operation_model("CreateSchedule").input_shape
    assert shape is not None
    report = ParamValidator().validate(plan.arguments, shape)
    assert not report.has_errors(), report.generate_report()


def test_inactive_zenml_schedule_is_disabled() -> None:
    plan = translate(
        Stack(), StoredSchedule(cron_expression="0 3 * * *", active=False), pipeline_arn=PIPELINE_ARN, now=NOW
    )
    assert plan.arguments["State"] == "DISABLED"


def test_names_are_stable_and_within_aws_limits() -> None:
    assert plan_api.schedule_name(StoredSchedule(name="renamed")) == f"zenml-{SCHEDULE_ID}"
    long_odd = Schedule(name="my pipeline/überlong " * 5, cron_expression="0 0 * * *")
    name = plan_api.schedule_name(long_odd)
    assert len(name) <= 64
    assert name == plan_api.schedule_name(long_odd)
    assert all(c.isalnum() or c in "-_." for c in name) and name.isascii()
    assert plan_api.schedule_name(Schedule(name="a", cron_expression="0 0 * * *")) == "zenml-a"


def test_long_names_keep_the_description_within_512() -> None:
    text = plan_api.describe_owner(str(SCHEDULE_ID), "s" * 600, "p" * 600)
    assert len(text) <= 512
    assert json.loads(text)["zenml_schedule_id"] == str(SCHEDULE_ID)


def test_foreign_descriptions_are_not_taken_for_ours() -> None:
    assert plan_api.parse_owner("nightly retraining") == {}
    assert plan_api.parse_owner('{"zenml_schedule_id": "x"}') == {}
    assert plan_api.parse_owner(None) == {}


def test_pipeline_arn_from_name_uses_the_stack_account() -> None:
    assert (
        plan_api.pipeline_arn("eu-west-1", "123456789012", "Demo-Training")
        == "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/demo-training"
    )


def test_zenml_stores_schedule_times_as_naive_utc() -> None:
    """The assumption behind 'naive means UTC': ZenML 0.98's ScheduleRequest drops the zone."""
    from uuid import uuid4

    from zenml.models import ScheduleRequest

    request = ScheduleRequest(
        name="x",
        cron_expression="0 0 * * *",
        start_time=datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        active=True,
        project=uuid4(),
        user=uuid4(),
        orchestrator_id=None,
        pipeline_id=None,
    )
    assert request.start_time == datetime(2029, 12, 31, 22, 0)


def test_a_real_schedule_response_translates() -> None:
    from uuid import uuid4

    from zenml.models import ScheduleResponse, ScheduleResponseBody

    moment = datetime(2030, 1, 1)
    body = ScheduleResponseBody(
        active=False,
        cron_expression="0 4 * * *",
        end_time=datetime(2030, 6, 1),
        is_archived=False,
        created=moment,
        updated=moment,
        user_id=uuid4(),
        project_id=uuid4(),
    )
    response = ScheduleResponse(id=SCHEDULE_ID, name="nightly", body=body)
    plan = translate(Stack(), response, pipeline_arn=PIPELINE_ARN, now=NOW)
    assert plan.name == f"zenml-{SCHEDULE_ID}"
    assert plan.arguments["ScheduleExpression"] == "cron(0 4 * * ? *)"
    assert plan.arguments["EndDate"] == datetime(2030, 6, 1, tzinfo=UTC)
    assert plan.arguments["State"] == "DISABLED"


def test_zenml_ids_container_asks_once_per_id_and_ignores_names() -> None:
    asked: list[str] = []

    def exists(schedule_id: str) -> bool:
        asked.append(schedule_id)
        return schedule_id == str(SCHEDULE_ID)

    ids = hooks.ZenMLScheduleIds(exists)
    assert str(SCHEDULE_ID) in ids and str(SCHEDULE_ID) in ids
    assert "8f0c2a36-0000-4d8e-9a7e-0c1f3b2d6e11" not in ids
    assert "nightly" not in ids
    assert asked == [str(SCHEDULE_ID), "8f0c2a36-0000-4d8e-9a7e-0c1f3b2d6e11"]
