"""ZenML schedules as EventBridge Scheduler schedules that start this stack's SageMaker pipelines.

The life cycle (create, update in place, delete, list, find orphans) lives here; the orchestrator
only calls in (`check_submission`, `submit_schedule`, `update_from_zenml`, `delete_for_zenml`),
and `sagemaker-stack down` calls `delete_all_schedules`.

Design choices, and why:

- Pure translation first (`translate`): a ZenML `Schedule` becomes the exact CreateSchedule
  arguments with no clock (the caller passes `now`), no network and no ZenML store, so every
  bad input (invalid cron, interval under a minute, end before start, no scheduler role) is a
  `ScheduleError` raised before any AWS call.
- Target: the *templated* SageMaker target (`Target.Arn` = the pipeline's ARN, optional
  `SageMakerPipelineParameters`). EventBridge Scheduler then calls StartPipelineExecution on
  exactly that ARN, which is what the stack's scheduler role allows (`sagemaker:
  StartPipelineExecution` on `pipeline/<prefix>*`, nothing else). The universal target
  (`arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution`) would need the same
  permission but hides the pipeline inside a JSON string, so listing and auditing get harder.
- One schedule group per stack (`<resource_prefix>-schedules`). EventBridge schedules cannot be
  tagged, so each schedule's Description carries a small JSON record of the ZenML schedule it
  belongs to; the group itself is tagged.
- Names are `zenml-<ZenML schedule UUID>`: stable when the ZenML schedule is renamed, so an
  update finds its EventBridge schedule again.

Times (measured in zenml 0.98): `zenml.config.schedule.Schedule` turns a naive datetime into an
aware one in the *local* time zone, and `ScheduleRequest` then stores it as naive *UTC*. What an
orchestrator receives (`snapshot.schedule`, a `ScheduleResponse`) therefore always holds naive
UTC datetimes, and the original time zone is gone. Here a naive datetime means UTC, an aware one
is converted; a cron expression or a run-once time is evaluated in `timezone` when given, else in
the IANA zone of an aware `ZoneInfo` datetime, else in UTC.
"""

from __future__ import annotations

import hashlib
import json
import re
import zoneinfo
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final, Protocol
from uuid import UUID

from sagemaker_stack import aws

if TYPE_CHECKING:
    from sagemaker_stack.config import StackConfig

#: EventBridge Scheduler never fires more often than this (rate(1 minute)).
MIN_INTERVAL: Final = timedelta(minutes=1)
NAME_MAX: Final = 64
DESCRIPTION_MAX: Final = 512
NAME_PREFIX: Final = "zenml-"
MANAGED_BY: Final = "sagemaker-stack"
#: A run that starts hours late is worse than a skipped one: give up after an hour.
RETRY_POLICY: Final = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 5}
DEFAULT_TIMEZONE: Final = "UTC"

_NAME_CHARS = re.compile(r"[^0-9A-Za-z_.-]+")
_NOT_FOUND = ("ResourceNotFoundException", "ResourceNotFound", "404")


class ScheduleError(ValueError):
    """A schedule cannot be made as asked; the message says what is wrong and how to fix it."""


class ScheduleLike(Protocol):
    """What both `zenml.config.schedule.Schedule` and ZenML's `ScheduleResponse` offer."""

    @property
    def cron_expression(self) -> str | None: ...
    @property
    def start_time(self) -> datetime | None: ...
    @property
    def end_time(self) -> datetime | None: ...
    @property
    def interval_second(self) -> timedelta | None: ...
    @property
    def catchup(self) -> bool: ...
    @property
    def run_once_start_time(self) -> datetime | None: ...


class StackLike(Protocol):
    """The part of a StackConfig or of the orchestrator's config that schedules need."""

    @property
    def region(self) -> str: ...
    @property
    def resource_prefix(self) -> str: ...
    @property
    def scheduler_role_arn(self) -> str | None: ...
    @property
    def endpoint_url(self) -> str | None: ...


@dataclass(frozen=True)
class ScheduleTimes:
    """A schedule's timing in EventBridge terms (see `schedule_timing`)."""

    expression: str
    timezone: str
    start: datetime | None = None  # aware UTC; None: from creation on
    end: datetime | None = None  # aware UTC; None: for ever
    one_time: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchedulePlan:
    """The CreateSchedule/UpdateSchedule arguments for one ZenML schedule, plus what changed."""

    name: str
    group_name: str
    arguments: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScheduleInfo:
    """One EventBridge schedule of the stack's group, as `list_schedules` reports it."""

    name: str
    group_name: str
    arn: str | None
    state: str | None
    expression: str | None
    timezone: str | None
    start: datetime | None
    end: datetime | None
    window: str
    pipeline_arn: str | None
    zenml_schedule_id: str | None
    zenml_schedule_name: str | None
    zenml_pipeline: str | None
    #: True/False when the ZenML schedules were consulted; None when they were not (or when this
    #: schedule was not made by sagemaker-stack, so nothing says which ZenML schedule it serves).
    orphan: bool | None = None

    @property
    def pipeline_name(self) -> str | None:
        """The SageMaker pipeline the schedule starts (the last part of the target ARN)."""
        if not self.pipeline_arn or ":pipeline/" not in self.pipeline_arn:
            return None
        return self.pipeline_arn.rsplit(":pipeline/", 1)[1]

    @property
    def managed(self) -> bool:
        """Made by sagemaker-stack (its Description names a ZenML schedule)."""
        return self.zenml_schedule_id is not None or self.zenml_schedule_name is not None


# --- names ------------------------------------------------------------------------------------


def schedule_group_name(config: StackLike) -> str:
    """The stack's group; the same rule as `StackConfig.schedule_group_name`."""
    return f"{config.resource_prefix}-schedules"


def schedule_name(schedule: object) -> str:
    """`zenml-<uuid>` for a stored ZenML schedule; a cleaned `name` for an unsaved `Schedule`.

    The id is what survives a rename in ZenML, so updates and deletes find the schedule again.
    """
    schedule_id = getattr(schedule, "id", None)
    if schedule_id is not None:
        return f"{NAME_PREFIX}{UUID(str(schedule_id))}"
    name = getattr(schedule, "name", None)
    if not name:
        raise ScheduleError(
            "the schedule has neither an id nor a name: give the ZenML Schedule a name (Schedule(name=...))"
        )
    raw = f"{NAME_PREFIX}{name}"
    clean = _NAME_CHARS.sub("-", raw)
    if clean == raw and len(clean) <= NAME_MAX:
        return clean
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{clean[: NAME_MAX - len(digest) - 1]}-{digest}"


def pipeline_arn(region: str, account: str, pipeline_name: str, partition: str = "aws") -> str:
    """The ARN SageMaker gives a pipeline (resource names in SageMaker ARNs are lower case)."""
    return f"arn:{partition}:sagemaker:{region}:{account}:pipeline/{pipeline_name.lower()}"


def describe_owner(
    zenml_schedule_id: str | None, zenml_schedule_name: str | None, zenml_pipeline: str | None
) -> str:
    """The Description that records which ZenML schedule an EventBridge schedule serves.

    EventBridge schedules take no tags, so this JSON (at most 512 characters) is the link.
    """
    record = {
        "managed_by": MANAGED_BY,
        "zenml_schedule_id": zenml_schedule_id,
        "zenml_schedule": (zenml_schedule_name or "")[:160] or None,
        "zenml_pipeline": (zenml_pipeline or "")[:160] or None,
    }
    text = json.dumps({k: v for k, v in record.items() if v is not None}, separators=(",", ":"))
    return text[:DESCRIPTION_MAX]


def parse_owner(description: str | None) -> dict[str, str]:
    """The record `describe_owner` wrote, or {} for a schedule sagemaker-stack did not make."""
    if not description:
        return {}
    try:
        record = json.loads(description)
    except ValueError:
        return {}
    if not isinstance(record, dict) or record.get("managed_by") != MANAGED_BY:
        return {}
    return {str(k): str(v) for k, v in record.items() if v is not None}


# --- cron -----------------------------------------------------------------------------------------

_CRON_HINT = (
    "ZenML schedules take a 5-field Unix cron expression 'minute hour day-of-month month day-of-week', "
    "e.g. '0 6 * * 1-5' (06:00 on weekdays)"
)
_MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS: Final = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_AWS_DAYS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAYS: Final = {d: i for i, d in enumerate(_AWS_DAYS)}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)


_FIELDS: Final = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _DAYS),
)


def _cron_error(expression: str, problem: str) -> ScheduleError:
    return ScheduleError(f"invalid cron expression {expression!r}: {problem}. {_CRON_HINT}.")


def _value(text: str, spec: _Field, expression: str) -> int:
    upper = text.upper()
    if upper in spec.names:
        return spec.names[upper]
    if not text.isdigit():
        raise _cron_error(expression, f"{spec.name} value {text!r} is not a number")
    number = int(text)
    if not spec.low <= number <= spec.high:
        raise _cron_error(expression, f"{spec.name} value {number} is outside {spec.low}-{spec.high}")
    return number


def _parse_field(text: str, spec: _Field, expression: str) -> tuple[set[int], str]:
    """The values a Unix cron field selects, and the same field in AWS syntax (non-weekday fields)."""
    selected: set[int] = set()
    parts: list[str] = []
    for item in text.split(","):
        if not item:
            raise _cron_error(expression, f"{spec.name} field {text!r} has an empty list item")
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _cron_error(expression, f"{spec.name} step {step_text!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            low, high = spec.low, spec.high
            aws_base = "*" if not step_text else str(spec.low)  # AWS writes '*/n' as '<first>/n'
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, spec, expression), _value(last, spec, expression)
            if low > high:
                raise _cron_error(expression, f"{spec.name} range {base!r} runs backwards")
            aws_base = f"{low}-{high}"
        else:
            low = _value(base, spec, expression)
            high = spec.high if step_text else low  # 'a/n' means from a to the end, every n
            aws_base = str(low)
        selected.update(range(low, high + 1, step))
        parts.append(f"{aws_base}/{step}" if step_text else aws_base)
    return selected, ",".join(parts)


def _aws_weekdays(days: set[int]) -> str:
    """Unix weekdays (0-7, Sunday 0 or 7) as AWS SUN-SAT, ranges kept compact (AWS has no '/' here)."""
    aws = sorted({day % 7 + 1 for day in days})  # AWS numbers SUN=1 .. SAT=7
    runs: list[list[int]] = []
    for day in aws:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        first, last = _AWS_DAYS[run[0] - 1], _AWS_DAYS[run[-1] - 1]
        parts.append(first if len(run) == 1 else f"{first}-{last}" if len(run) > 2 else f"{first},{last}")
    return ",".join(parts)


def cron_to_aws(expression: str) -> str:
    """A 5-field Unix cron expression (or @daily etc.) as AWS's `cron(m h dom mon dow year)`.

    AWS needs '?' in one of day-of-month and day-of-week, numbers weekdays SUN=1..SAT=7, and has
    no '/' in day-of-week; Unix runs a job when *either* restricted day field matches, which AWS
    cannot express: that case is refused rather than silently changed.
    """
    text = " ".join(expression.split())
    if not text:
        raise _cron_error(expression, "it is empty")
    if text.startswith("@"):
        if text.lower() not in _MACROS:
            raise _cron_error(expression, f"{text!r} is not one of {', '.join(sorted(_MACROS))}")
        text = _MACROS[text.lower()]
    fields = text.split(" ")
    if len(fields) != 5:
        raise _cron_error(expression, f"it has {len(fields)} fields, not 5")
    parsed = [_parse_field(part, spec, expression) for part, spec in zip(fields, _FIELDS, strict=True)]
    (_, minute), (_, hour), (dom_days, dom), (_, month), (dow_days, _) = parsed
    dom_restricted = dom_days != set(range(1, 32))
    dow_restricted = {d % 7 for d in dow_days} != set(range(7))
    if dom_restricted and dow_restricted:
        raise _cron_error(
            expression,
            "it restricts both day-of-month and day-of-week; cron runs when either matches, and AWS "
            "cannot express that: use '*' in one of them (or make two schedules)",
        )
    if dow_restricted:
        dom, dow = "?", _aws_weekdays(dow_days)
    else:
        dow = "?"
        dom = dom if dom_restricted else "*"
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


# --- times ----------------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """Naive means UTC (what ZenML stores and hands to orchestrators); aware is converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _zone_name(moment: datetime | None) -> str | None:
    """The IANA name of an aware datetime's zone (ZoneInfo or pytz); 'UTC' for offset 0; else None."""
    if moment is None or moment.tzinfo is None:
        return None
    zone: tzinfo = moment.tzinfo
    key = getattr(zone, "key", None) or getattr(zone, "zone", None)
    if isinstance(key, str) and key:
        return key
    if moment.utcoffset() == timedelta(0):
        return DEFAULT_TIMEZONE
    return None


def _check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from None
    return name


def _rate(interval: timedelta) -> tuple[str, str | None]:
    """`rate(N unit)` in whole minutes (AWS's unit), and a note when that changed the interval."""
    seconds = interval.total_seconds()
    if seconds < MIN_INTERVAL.total_seconds():
        raise ScheduleError(
            f"interval_second is {seconds:g} s, but EventBridge Scheduler runs a schedule at most once a "
            "minute: use an interval of at least 60 seconds (or a cron expression)"
        )
    minutes = int(seconds // 60 + (1 if seconds % 60 >= 30 else 0))
    note = None
    if minutes * 60 != seconds:
        note = (
            f"interval_second {seconds:g} s is not a whole number of minutes, which EventBridge Scheduler "
            f"requires: rounded to {minutes} minute{'s' if minutes != 1 else ''}"
        )
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            count = minutes // size
            return f"rate({count} {unit}{'s' if count != 1 else ''})", note
    raise AssertionError("unreachable: every minute count divides by 1")


def schedule_timing(schedule: ScheduleLike, *, now: datetime, timezone: str | None = None) -> ScheduleTimes:
    """Expression, time zone and window of a ZenML schedule; ScheduleError for what AWS cannot do.

    ZenML's precedence is kept: a cron expression wins over start_time + interval_second, which
    wins over run_once_start_time. `now` is passed in so the result depends on nothing else.
    """
    now = as_utc(now)
    notes: list[str] = []
    if timezone is not None:
        _check_timezone(timezone)
    start = as_utc(schedule.start_time) if schedule.start_time else None
    end = as_utc(schedule.end_time) if schedule.end_time else None

    if schedule.cron_expression:
        expression = cron_to_aws(schedule.cron_expression)
        zone = timezone or _zone_name(schedule.start_time) or _zone_name(schedule.end_time)
        if schedule.interval_second:
            notes.append("interval_second is ignored: the cron expression takes precedence (as in ZenML)")
    elif schedule.interval_second:
        expression, note = _rate(schedule.interval_second)
        zone = timezone
        if note:
            notes.append(note)
    elif schedule.run_once_start_time:
        when = as_utc(schedule.run_once_start_time)
        if when <= now:
            raise ScheduleError(
                f"run_once_start_time {when.isoformat()} is in the past: pick a time after {now.isoformat()}"
            )
        zone = timezone or _zone_name(schedule.run_once_start_time) or DEFAULT_TIMEZONE
        wall = when.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")
        return ScheduleTimes(expression=f"at({wall})", timezone=zone, one_time=True, notes=tuple(notes))
    else:
        raise ScheduleError(
            "the schedule has no cron_expression, no interval_second and no run_once_start_time: "
            "set one of them"
        )

    if start and end and end <= start:
        raise ScheduleError(
            f"end_time {end.isoformat()} is not after start_time {start.isoformat()}: "
            "move end_time later or start_time earlier"
        )
    if end and end <= now:
        raise ScheduleError(
            f"end_time {end.isoformat()} is in the past, so the schedule would never run: "
            "move it later or leave it unset"
        )
    if start and start <= now:
        # AWS refuses a StartDate more than 5 minutes old; a past start means "from now on" anyway.
        if now - start > timedelta(minutes=5):
            notes.append(f"start_time {start.isoformat()} is in the past: the schedule starts now")
        start = None
    if schedule.catchup:
        notes.append("catchup is ignored: EventBridge Scheduler does not run missed schedules afterwards")
    return ScheduleTimes(
        expression=expression,
        timezone=zone or DEFAULT_TIMEZONE,
        start=start,
        end=end,
        notes=tuple(notes),
    )


# --- the request ----------------------------------------------------------------------------------


def require_scheduler_role(config: StackLike) -> str:
    """The stack's scheduler role ARN, or the error that tells how to get one."""
    if not config.scheduler_role_arn:
        raise ScheduleError(
            "this stack has no scheduler role, so EventBridge Scheduler could not start its pipelines: "
            "redeploy it with this version of sagemaker-stack (`sagemaker-stack up`, or `cdk deploy` then "
            "`sagemaker-stack export` and `sagemaker-stack register`) so that its config has "
            "scheduler_role_arn"
        )
    return config.scheduler_role_arn


def translate(
    config: StackLike,
    schedule: ScheduleLike,
    *,
    pipeline_arn: str,
    zenml_pipeline: str | None = None,
    now: datetime,
    timezone: str | None = None,
    pipeline_parameters: Mapping[str, str] | None = None,
    state: str | None = None,
) -> SchedulePlan:
    """The full CreateSchedule arguments for `schedule`, checked before any AWS call (pure)."""
    role_arn = require_scheduler_role(config)
    times = schedule_timing(schedule, now=now, timezone=timezone)
    name = schedule_name(schedule)
    schedule_id = getattr(schedule, "id", None)
    target: dict[str, Any] = {"Arn": pipeline_arn, "RoleArn": role_arn, "RetryPolicy": dict(RETRY_POLICY)}
    if pipeline_parameters:
        target["SageMakerPipelineParameters"] = {
            "PipelineParameterList": [{"Name": k, "Value": v} for k, v in sorted(pipeline_parameters.items())]
        }
    if state is None:
        state = "ENABLED" if getattr(schedule, "active", True) else "DISABLED"
    arguments: dict[str, Any] = {
        "Name": name,
        "GroupName": schedule_group_name(config),
        "ScheduleExpression": times.expression,
        "ScheduleExpressionTimezone": times.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": target,
        "State": state,
        "Description": describe_owner(
            str(schedule_id) if schedule_id is not None else None,
            getattr(schedule, "name", None),
            zenml_pipeline,
        ),
        "ActionAfterCompletion": "DELETE" if times.one_time else "NONE",
    }
    if times.start:
        arguments["StartDate"] = times.start
    if times.end:
        arguments["EndDate"] = times.end
    return SchedulePlan(name=name, group_name=arguments["GroupName"], arguments=arguments, notes=times.notes)


# --- AWS calls ------------------------------------------------------------------------------------


def scheduler_client(config: StackLike) -> Any:
    """A Scheduler client for the stack: its region, and the emulator's endpoint when set."""
    return aws.client("scheduler", region=config.region, endpoint_url=config.endpoint_url)


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _is_not_found(error: Exception) -> bool:
    response = getattr(error, "response", None)
    status = ""
    if isinstance(response, dict):
        status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return _error_code(error) in _NOT_FOUND or status == "404"


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


def ensure_group(config: StackLike, client: Any | None = None) -> str:
    """Create the stack's schedule group unless it exists; return its name."""
    client = client or scheduler_client(config)
    group = schedule_group_name(config)
    client_error = _client_error()
    try:
        state = client.get_schedule_group(Name=group).get("State")
    except client_error as error:
        if not _is_not_found(error):
            raise
    else:
        if state == "DELETING":
            raise ScheduleError(
                f"schedule group {group} is still being deleted (after `sagemaker-stack down`): "
                "retry in a minute"
            )
        return group
    try:
        client.create_schedule_group(
            Name=group,
            Tags=[
                {"Key": "managed-by", "Value": MANAGED_BY},
                {"Key": "resource-prefix", "Value": config.resource_prefix},
            ],
        )
    except client_error as error:  # made meanwhile by a concurrent submit: fine
        if _error_code(error) != "ConflictException":
            raise
    return group


def apply_plan(plan: SchedulePlan, config: StackLike, client: Any | None = None) -> tuple[str, bool]:
    """Create the schedule, or update it in place if it exists; returns (schedule ARN, created)."""
    client = client or scheduler_client(config)
    ensure_group(config, client)
    client_error = _client_error()
    try:
        client.get_schedule(Name=plan.name, GroupName=plan.group_name)
    except client_error as error:
        if not _is_not_found(error):
            raise
        response = client.create_schedule(**plan.arguments)
        return str(response["ScheduleArn"]), True
    response = client.update_schedule(**plan.arguments)
    return str(response["ScheduleArn"]), False


def create_or_update_schedule(
    config: StackLike,
    schedule: ScheduleLike,
    pipeline: str,
    *,
    zenml_pipeline: str | None = None,
    timezone: str | None = None,
    pipeline_parameters: Mapping[str, str] | None = None,
    now: datetime | None = None,
    client: Any | None = None,
) -> tuple[SchedulePlan, str, bool]:
    """Translate and apply: (plan, schedule ARN, created). Every check runs before the first call.

    `pipeline` is the SageMaker pipeline's ARN, or its name when `config` knows the account
    (a StackConfig does); the orchestrator passes the ARN CreatePipeline/UpdatePipeline returned.
    """
    arn = pipeline if pipeline.startswith("arn:") else _pipeline_arn_for(config, pipeline)
    plan = translate(
        config,
        schedule,
        pipeline_arn=arn,
        zenml_pipeline=zenml_pipeline,
        now=now or datetime.now(UTC),
        timezone=timezone,
        pipeline_parameters=pipeline_parameters,
    )
    schedule_arn, created = apply_plan(plan, config, client)
    return plan, schedule_arn, created


def _pipeline_arn_for(config: StackLike, pipeline_name: str) -> str:
    account = getattr(config, "account", None)
    if not account:
        raise ScheduleError(
            f"cannot tell the ARN of SageMaker pipeline {pipeline_name!r}: pass the pipeline ARN "
            "(the config has no account)"
        )
    return pipeline_arn(config.region, str(account), pipeline_name)


def delete_schedule(config: StackLike, name: str, client: Any | None = None) -> bool:
    """Delete one schedule of the stack's group; False if it was not there (deleting is idempotent)."""
    client = client or scheduler_client(config)
    try:
        client.delete_schedule(Name=name, GroupName=schedule_group_name(config))
    except _client_error() as error:
        if _is_not_found(error):
            return False
        raise
    return True


def _schedule_names(config: StackLike, client: Any) -> Iterator[str]:
    group = schedule_group_name(config)
    token: str | None = None
    while True:
        request: dict[str, Any] = {"GroupName": group, "MaxResults": 100}
        if token:
            request["NextToken"] = token
        try:
            page = client.list_schedules(**request)
        except _client_error() as error:
            if _is_not_found(error):
                return
            raise
        for summary in page.get("Schedules", []):
            # ListSchedules filters by group; checked again because an emulator may not.
            if summary.get("GroupName", group) == group:
                yield str(summary["Name"])
        token = page.get("NextToken")
        if not token:
            return


def _info(detail: Mapping[str, Any], existing: Container[str] | None) -> ScheduleInfo:
    owner = parse_owner(detail.get("Description"))
    window = detail.get("FlexibleTimeWindow") or {}
    mode = str(window.get("Mode", "OFF"))
    if mode == "FLEXIBLE" and window.get("MaximumWindowInMinutes"):
        mode = f"FLEXIBLE {window['MaximumWindowInMinutes']} min"
    schedule_id = owner.get("zenml_schedule_id")
    schedule_name_ = owner.get("zenml_schedule")
    orphan: bool | None = None
    if existing is not None:
        if schedule_id:
            orphan = schedule_id not in existing
        elif schedule_name_ and getattr(existing, "matches_names", True):
            orphan = schedule_name_ not in existing
    return ScheduleInfo(
        name=str(detail["Name"]),
        group_name=str(detail.get("GroupName", "")),
        arn=detail.get("Arn"),
        state=detail.get("State"),
        expression=detail.get("ScheduleExpression"),
        timezone=detail.get("ScheduleExpressionTimezone"),
        start=_as_datetime(detail.get("StartDate")),
        end=_as_datetime(detail.get("EndDate")),
        window=mode,
        pipeline_arn=(detail.get("Target") or {}).get("Arn"),
        zenml_schedule_id=schedule_id,
        zenml_schedule_name=schedule_name_,
        zenml_pipeline=owner.get("zenml_pipeline"),
        orphan=orphan,
    )


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime.fromtimestamp(float(value), UTC)


def list_schedules(
    config: StackLike, existing: Container[str] | None = None, client: Any | None = None
) -> list[ScheduleInfo]:
    """Every schedule in the stack's group, with the ZenML schedule and pipeline it belongs to.

    `existing` holds the ids (or names) of the ZenML schedules that still exist; given it, each
    managed schedule says whether it is an orphan. Any container works, so the CLI can pass one
    that asks the ZenML server per id while tests pass a set.
    """
    client = client or scheduler_client(config)
    group = schedule_group_name(config)
    found: list[ScheduleInfo] = []
    for name in _schedule_names(config, client):
        try:
            detail = client.get_schedule(Name=name, GroupName=group)
        except _client_error() as error:
            if _is_not_found(error):  # deleted meanwhile (a one-time schedule that ran, say)
                continue
            raise
        found.append(_info(detail, existing))
    return sorted(found, key=lambda info: info.name)


def find_orphans(
    config: StackLike, existing: Container[str], client: Any | None = None
) -> list[ScheduleInfo]:
    """Schedules sagemaker-stack made whose ZenML schedule no longer exists."""
    return [info for info in list_schedules(config, existing, client) if info.orphan]


def delete_orphans(config: StackLike, existing: Container[str], client: Any | None = None) -> list[str]:
    """Delete what `find_orphans` finds; returns the deleted names."""
    client = client or scheduler_client(config)
    return [
        info.name
        for info in find_orphans(config, existing, client)
        if delete_schedule(config, info.name, client)
    ]


def delete_all_schedules(config: StackConfig | StackLike, client: Any | None = None) -> list[str]:
    """Delete every schedule of the stack's group, then the group (`sagemaker-stack down`)."""
    client = client or scheduler_client(config)
    deleted = [
        name for name in list(_schedule_names(config, client)) if delete_schedule(config, name, client)
    ]
    group = schedule_group_name(config)
    try:
        client.get_schedule_group(Name=group)
        client.delete_schedule_group(Name=group)
    except _client_error() as error:
        if not _is_not_found(error):
            raise
    return sorted(deleted)


# --- ZenML hooks (called by the orchestrator) -----------------------------------------------------


def _submission_error(error: Exception) -> Exception:
    """ZenML deletes the schedule it stored only for a PipelineSubmissionError: use one."""
    from zenml.orchestrators.exceptions import PipelineSubmissionError

    return PipelineSubmissionError(str(error))


def _schedule_timezone(orchestrator: Any, snapshot: Any) -> str | None:
    """A `schedule_timezone` setting, once the flavor has one (ZenML itself keeps no time zone)."""
    try:
        settings = orchestrator.get_settings(snapshot)
    except Exception:  # settings are optional here; UTC is the documented default
        return None
    value = getattr(settings, "schedule_timezone", None)
    return value if isinstance(value, str) and value else None


def check_submission(config: StackLike, schedule: ScheduleLike, timezone: str | None = None) -> None:
    """Everything `submit_schedule` would refuse, checked before the orchestrator's first AWS call."""
    try:
        translate(
            config,
            schedule,
            pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/check",
            now=datetime.now(UTC),
            timezone=timezone,
        )
    except ScheduleError as error:
        raise _submission_error(error) from error


def check_snapshot(*, orchestrator: Any, snapshot: Any) -> None:
    """`check_submission` for a snapshot with a schedule, as the orchestrator holds them."""
    check_submission(
        orchestrator.config, snapshot.schedule, timezone=_schedule_timezone(orchestrator, snapshot)
    )


def submit_schedule(
    *,
    orchestrator: Any,
    snapshot: Any,
    pipeline_arn: str,
    spec: Any = None,
    pipeline_parameters: Mapping[str, str] | None = None,
) -> Any:
    """Create or update the EventBridge schedule of `snapshot.schedule`; a ZenML SubmissionResult.

    Called from `SagemakerPipelinesOrchestrator.submit_pipeline` after the pipeline was upserted
    (and after `check_snapshot`, before it). `spec` (the BuiltPipeline) is accepted for the
    caller's convenience and not needed. `pipeline_parameters` go to the templated target's
    SageMakerPipelineParameters: only names the pipeline definition declares.
    What changed to fit AWS (rounded interval, ignored catchup) is logged as a warning.
    """
    from zenml.logger import get_logger
    from zenml.orchestrators import SubmissionResult

    logger = get_logger(__name__)
    config = orchestrator.config
    schedule = snapshot.schedule
    try:
        plan, schedule_arn, created = create_or_update_schedule(
            config,
            schedule,
            pipeline_arn,
            zenml_pipeline=snapshot.pipeline_configuration.name,
            timezone=_schedule_timezone(orchestrator, snapshot),
            pipeline_parameters=pipeline_parameters,
        )
    except ScheduleError as error:
        raise _submission_error(error) from error
    for note in plan.notes:
        logger.warning("Schedule %s: %s.", plan.name, note)
    logger.info(
        "%s EventBridge schedule %s in group %s: %s (%s), starting SageMaker pipeline %s.",
        "Created" if created else "Updated",
        plan.name,
        plan.group_name,
        plan.arguments["ScheduleExpression"],
        plan.arguments["ScheduleExpressionTimezone"],
        pipeline_arn,
    )
    metadata = {
        "schedule_arn": schedule_arn,
        "schedule_name": plan.name,
        "schedule_group": plan.group_name,
        "schedule_expression": plan.arguments["ScheduleExpression"],
        "schedule_timezone": plan.arguments["ScheduleExpressionTimezone"],
    }
    return SubmissionResult(metadata=metadata)


@dataclass(frozen=True)
class _ScheduleView:
    """A ZenML schedule with an update applied (ZenML's ScheduleUpdate: name, cron, active)."""

    id: Any
    name: str | None
    cron_expression: str | None
    start_time: datetime | None
    end_time: datetime | None
    interval_second: timedelta | None
    catchup: bool
    run_once_start_time: datetime | None
    active: bool


def _view(schedule: Any, update: Any = None) -> _ScheduleView:
    view = _ScheduleView(
        id=getattr(schedule, "id", None),
        name=getattr(schedule, "name", None),
        cron_expression=schedule.cron_expression,
        start_time=schedule.start_time,
        end_time=schedule.end_time,
        interval_second=schedule.interval_second,
        catchup=bool(schedule.catchup),
        run_once_start_time=schedule.run_once_start_time,
        active=bool(getattr(schedule, "active", True)),
    )
    if update is not None:
        changes: dict[str, Any] = {}
        for key in ("name", "cron_expression", "active"):
            value = getattr(update, key, None)
            if value is not None:
                changes[key] = value
        view = replace(view, **changes)
    return view


def update_from_zenml(
    config: StackLike,
    schedule: Any,
    update: Any,
    *,
    now: datetime | None = None,
    client: Any | None = None,
) -> SchedulePlan | None:
    """Apply a ZenML schedule update (`BaseOrchestrator.update_schedule`) to its EventBridge schedule.

    The schedule is changed in place (same name, same target): a new cron expression, a new
    name in the Description, `active` as ENABLED/DISABLED. Returns None when there is nothing to
    update because a one-time schedule already ran (EventBridge deleted it after the run).
    """
    now = as_utc(now or datetime.now(UTC))
    view = _view(schedule, update)
    schedule_timing(view, now=now)  # bad input fails here, before any AWS call
    client = client or scheduler_client(config)
    name = schedule_name(view)
    group = schedule_group_name(config)
    try:
        current = client.get_schedule(Name=name, GroupName=group)
    except _client_error() as error:
        if not _is_not_found(error):
            raise
        if view.run_once_start_time and not view.cron_expression and not view.interval_second:
            return None
        raise ScheduleError(
            f"EventBridge schedule {name} (group {group}) does not exist, so it cannot be updated: "
            "run the pipeline with this schedule again to recreate it, or delete the ZenML schedule"
        ) from None
    owner = parse_owner(current.get("Description"))
    target = dict(current["Target"])
    if config.scheduler_role_arn:
        target["RoleArn"] = config.scheduler_role_arn
    zone = current.get("ScheduleExpressionTimezone") or None
    plan = translate(
        _WithRole(config, str(target["RoleArn"])),
        view,
        pipeline_arn=str(target["Arn"]),
        zenml_pipeline=owner.get("zenml_pipeline"),
        now=now,
        timezone=zone,
        state="ENABLED" if view.active else "DISABLED",
    )
    arguments = dict(plan.arguments)
    arguments["Target"] = target
    if current.get("FlexibleTimeWindow"):
        arguments["FlexibleTimeWindow"] = current["FlexibleTimeWindow"]
    plan = replace(plan, arguments=arguments)
    client.update_schedule(**arguments)
    return plan


@dataclass(frozen=True)
class _WithRole:
    """A config view whose scheduler role is the one already on the schedule (for updates)."""

    base: Any
    scheduler_role_arn: str

    @property
    def region(self) -> str:
        return str(self.base.region)

    @property
    def resource_prefix(self) -> str:
        return str(self.base.resource_prefix)

    @property
    def endpoint_url(self) -> str | None:
        return self.base.endpoint_url


def delete_for_zenml(config: StackLike, schedule: Any, client: Any | None = None) -> bool:
    """Delete the EventBridge schedule of a ZenML schedule (`BaseOrchestrator.delete_schedule`)."""
    return delete_schedule(config, schedule_name(schedule), client)


#: For the CLI: a callable that says whether a ZenML schedule (by id) still exists.
ExistsCheck = Callable[[str], bool]


class ZenMLScheduleIds(Container[str]):
    """`in` asks the ZenML store whether a schedule id exists (and is not archived), caching answers.

    Asking per id (rather than listing) sees every project, so a schedule made in another
    project is never taken for an orphan.
    """

    #: Names are not unique across projects: a schedule known only by name is never called an orphan.
    matches_names = False

    def __init__(self, exists: ExistsCheck | None = None) -> None:
        self._exists = exists or _zenml_schedule_exists
        self._cache: dict[str, bool] = {}

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            UUID(key)
        except ValueError:
            return False  # names are not unique across projects: only ids count
        if key not in self._cache:
            self._cache[key] = self._exists(key)
        return self._cache[key]


def _zenml_schedule_exists(schedule_id: str) -> bool:
    from zenml.client import Client

    try:
        found = Client().zen_store.get_schedule(UUID(schedule_id), hydrate=False)
    except KeyError:
        return False
    return not bool(getattr(found, "is_archived", False))
