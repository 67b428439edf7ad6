"""Stand-ins shared by the schedule unit tests (no AWS, no ZenML store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/demo-scheduler"
PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/demo-training"
SCHEDULE_ID = UUID("8f0c2a36-4a51-4d8e-9a7e-0c1f3b2d6e11")


@dataclass(frozen=True)
class Stack:
    """The fields a StackConfig and the orchestrator config share."""

    region: str = "us-east-1"
    resource_prefix: str = "demo"
    scheduler_role_arn: str | None = ROLE
    endpoint_url: str | None = None
    account: str = "123456789012"


@dataclass(frozen=True)
class StoredSchedule:
    """What ZenML 0.98 hands an orchestrator (`ScheduleResponse`): naive datetimes are UTC."""

    id: UUID = SCHEDULE_ID
    name: str = "nightly"
    cron_expression: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    interval_second: timedelta | None = None
    catchup: bool = False
    run_once_start_time: datetime | None = None
    active: bool = True
