"""ZenML schedules as EventBridge Scheduler schedules that start this stack's SageMaker pipelines.

The pieces, from pure to I/O:
- `cron`: a Unix cron expression as AWS's `cron(...)`, refusing what AWS cannot express.
- `timing`: a ZenML schedule's expression, time zone and window (no clock: `now` is passed in).
- `plan`: names, the owner record and the full CreateSchedule arguments (`translate`), pure.
- `scheduler`: EventBridge Scheduler calls: create or update, delete, list, orphans.
- `hooks`: what the orchestrator calls (`check_snapshot`, `submit_schedule`, `update_from_zenml`,
  `delete_for_zenml`) and what the CLI asks ZenML (`ZenMLScheduleIds`).

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

from sagemaker_stack.user_errors import UserError


class ScheduleError(UserError, ValueError):
    """A schedule cannot be made as asked; the message says what is wrong and how to fix it."""
