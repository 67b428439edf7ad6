"""The CreateSchedule arguments of one ZenML schedule: names, the owner record, `translate`. Pure.

- Target: the *templated* SageMaker target (`Target.Arn` = the pipeline's ARN, optional
  `SageMakerPipelineParameters`). EventBridge Scheduler then calls StartPipelineExecution on
  exactly that ARN, which is what the stack's scheduler role allows.
- EventBridge schedules cannot be tagged, so each schedule's Description carries a small JSON
  record of the ZenML schedule it belongs to (`describe_owner` / `parse_owner`).
- Names are `zenml-<ZenML schedule UUID>`: stable when the ZenML schedule is renamed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

from sagemaker_stack.config import schedule_group_name
from sagemaker_stack.schedules import ScheduleError
from sagemaker_stack.schedules.timing import ScheduleLike, schedule_timing

NAME_MAX: Final = 64
DESCRIPTION_MAX: Final = 512
NAME_PREFIX: Final = "zenml-"
MANAGED_BY: Final = "sagemaker-stack"
#: A run that starts hours late is worse than a skipped one: give up after an hour.
RETRY_POLICY: Final = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 5}

_NAME_CHARS = re.compile(r"[^0-9A-Za-z_.-]+")


class StackLike(Protocol):
    """The part of a StackConfig or of the orchestrator's config that schedules need."""

    region: str
    resource_prefix: str
    scheduler_role_arn: str | None
    endpoint_url: str | None


@dataclass(frozen=True)
class SchedulePlan:
    """The CreateSchedule/UpdateSchedule arguments for one ZenML schedule, plus what changed."""

    name: str
    group_name: str
    arguments: dict[str, Any]
    notes: tuple[str, ...] = ()


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
        "GroupName": schedule_group_name(config.resource_prefix),
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
