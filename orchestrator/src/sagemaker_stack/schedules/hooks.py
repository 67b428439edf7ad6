"""What the orchestrator calls for schedules, and what the CLI asks ZenML about them.

ZenML deletes a schedule it stored only when the orchestrator raises a PipelineSubmissionError,
so every refusal here is raised as one.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from zenml.orchestrators.exceptions import PipelineSubmissionError

from sagemaker_stack import aws
from sagemaker_stack.config import schedule_group_name
from sagemaker_stack.schedules import ScheduleError, scheduler
from sagemaker_stack.schedules.plan import SchedulePlan, StackLike, parse_owner, schedule_name, translate
from sagemaker_stack.schedules.timing import ScheduleLike, as_utc, schedule_timing
from sagemaker_stack.user_errors import UserError

if TYPE_CHECKING:
    from zenml.orchestrators import SubmissionResult


class ScheduleRefused(UserError, PipelineSubmissionError):
    """A schedule refused before any AWS call: one message, and ZenML deletes the schedule it stored.

    ZenML deletes its stored schedule only for a PipelineSubmissionError; as a UserError it ends
    the user's script with its message alone (`sagemaker_stack.user_errors`).
    """


def _submission_error(error: Exception) -> Exception:
    """The refusal ZenML cleans up after, with the message of `error` (raise it `from None`)."""
    return ScheduleRefused(str(error))


def check_submission(config: StackLike, schedule: ScheduleLike) -> None:
    """Everything `submit_schedule` would refuse, checked before the orchestrator's first AWS call."""
    try:
        translate(
            config,
            schedule,
            pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/check",
            now=datetime.now(UTC),
        )
    except ScheduleError as error:
        raise _submission_error(error) from None


def check_snapshot(config: StackLike, snapshot: Any) -> None:
    """`check_submission` for a snapshot with a schedule, as the orchestrator holds it."""
    check_submission(config, snapshot.schedule)


def submit_schedule(
    config: StackLike,
    snapshot: Any,
    *,
    pipeline_arn: str,
    pipeline_parameters: Mapping[str, str] | None = None,
) -> SubmissionResult:
    """Create or update the EventBridge schedule of `snapshot.schedule`; a ZenML SubmissionResult.

    Called from `SagemakerPipelinesOrchestrator.submit_pipeline` after the pipeline was upserted
    (and after `check_snapshot`, before it). `pipeline_parameters` go to the templated target's
    SageMakerPipelineParameters: only names the pipeline definition declares.
    What changed to fit AWS (rounded interval, ignored catchup) is logged as a warning.
    """
    from zenml.logger import get_logger
    from zenml.orchestrators import SubmissionResult

    logger = get_logger(__name__)
    try:
        plan, schedule_arn, created = scheduler.create_or_update_schedule(
            config,
            snapshot.schedule,
            pipeline_arn,
            zenml_pipeline=snapshot.pipeline_configuration.name,
            pipeline_parameters=pipeline_parameters,
        )
    except ScheduleError as error:
        raise _submission_error(error) from None
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
    client = client or scheduler.scheduler_client(config)
    name = schedule_name(view)
    group = schedule_group_name(config.resource_prefix)
    try:
        current = client.get_schedule(Name=name, GroupName=group)
    except aws.ClientError as error:
        if not aws.is_not_found(error):
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
        _WithRole(config.region, config.resource_prefix, str(target["RoleArn"]), config.endpoint_url),
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


@dataclass
class _WithRole:
    """A config view whose scheduler role is the one already on the schedule (for updates)."""

    region: str
    resource_prefix: str
    scheduler_role_arn: str | None
    endpoint_url: str | None


def delete_for_zenml(config: StackLike, schedule: Any, client: Any | None = None) -> bool:
    """Delete the EventBridge schedule of a ZenML schedule (`BaseOrchestrator.delete_schedule`)."""
    return scheduler.delete_schedule(config, schedule_name(schedule), client)


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
