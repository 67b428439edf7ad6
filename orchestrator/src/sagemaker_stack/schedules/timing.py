"""A ZenML schedule's timing in EventBridge terms: expression, time zone, start and end.

Pure: the caller passes `now`, so every refusal (an interval under a minute, an end before the
start, a run-once time in the past) is raised before any AWS call and is testable without a clock.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final, Protocol

from sagemaker_stack.schedules import ScheduleError
from sagemaker_stack.schedules.cron import cron_to_aws

#: EventBridge Scheduler never fires more often than this (rate(1 minute)).
MIN_INTERVAL: Final = timedelta(minutes=1)
DEFAULT_TIMEZONE: Final = "UTC"


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


@dataclass(frozen=True)
class ScheduleTimes:
    """A schedule's timing in EventBridge terms (see `schedule_timing`)."""

    expression: str
    timezone: str
    start: datetime | None = None  # aware UTC; None: from creation on
    end: datetime | None = None  # aware UTC; None: for ever
    one_time: bool = False
    notes: tuple[str, ...] = ()


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
