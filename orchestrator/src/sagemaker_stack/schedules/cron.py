"""A 5-field Unix cron expression (or a macro such as @daily) as AWS's `cron(m h dom mon dow year)`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from sagemaker_stack.schedules import ScheduleError

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
