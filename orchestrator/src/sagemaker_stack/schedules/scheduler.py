"""EventBridge Scheduler calls for the stack's schedule group: create or update, delete, list, orphans.

One schedule group per stack (`<resource_prefix>-schedules`, the rule in `sagemaker_stack.config`);
the group itself is tagged, since schedules cannot be.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagemaker_stack import aws
from sagemaker_stack.config import schedule_group_name
from sagemaker_stack.schedules import ScheduleError
from sagemaker_stack.schedules.plan import (
    MANAGED_BY,
    SchedulePlan,
    StackLike,
    parse_owner,
    pipeline_arn,
    translate,
)
from sagemaker_stack.schedules.timing import ScheduleLike, as_utc


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


def scheduler_client(config: StackLike) -> Any:
    """A Scheduler client for the stack: its region, and the emulator's endpoint when set."""
    return aws.client("scheduler", region=config.region, endpoint_url=config.endpoint_url)


def ensure_group(config: StackLike, client: Any | None = None) -> str:
    """Create the stack's schedule group unless it exists; return its name."""
    client = client or scheduler_client(config)
    group = schedule_group_name(config.resource_prefix)
    try:
        state = client.get_schedule_group(Name=group).get("State")
    except aws.ClientError as error:
        if not aws.is_not_found(error):
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
    except aws.ClientError as error:  # made meanwhile by a concurrent submit: fine
        if aws.error_code(error) != "ConflictException":
            raise
    return group


def apply_plan(plan: SchedulePlan, config: StackLike, client: Any | None = None) -> tuple[str, bool]:
    """Create the schedule, or update it in place if it exists; returns (schedule ARN, created)."""
    client = client or scheduler_client(config)
    ensure_group(config, client)
    try:
        client.get_schedule(Name=plan.name, GroupName=plan.group_name)
    except aws.ClientError as error:
        if not aws.is_not_found(error):
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
        client.delete_schedule(Name=name, GroupName=schedule_group_name(config.resource_prefix))
    except aws.ClientError as error:
        if aws.is_not_found(error):
            return False
        raise
    return True


def _schedule_names(config: StackLike, client: Any) -> Iterator[str]:
    try:
        for summary in aws.paginate(
            client, "list_schedules", "Schedules", GroupName=schedule_group_name(config.resource_prefix)
        ):
            yield str(summary["Name"])
    except aws.ClientError as error:
        if not aws.is_not_found(error):
            raise


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
    group = schedule_group_name(config.resource_prefix)
    found: list[ScheduleInfo] = []
    for name in _schedule_names(config, client):
        try:
            detail = client.get_schedule(Name=name, GroupName=group)
        except aws.ClientError as error:
            if aws.is_not_found(error):  # deleted meanwhile (a one-time schedule that ran, say)
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


def delete_all_schedules(config: StackLike, client: Any | None = None) -> list[str]:
    """Delete every schedule of the stack's group, then the group (`sagemaker-stack down`)."""
    client = client or scheduler_client(config)
    deleted = [
        name for name in list(_schedule_names(config, client)) if delete_schedule(config, name, client)
    ]
    group = schedule_group_name(config.resource_prefix)
    try:
        client.get_schedule_group(Name=group)
        client.delete_schedule_group(Name=group)
    except aws.ClientError as error:
        if not aws.is_not_found(error):
            raise
    return sorted(deleted)
