"""A CodeBuild build read back: where it stands, and why it failed, from its phases and its log.

CodeBuild marks each command in the log with `[Container] <time> Running command <command>` and a
failed one with `Command did not exit successfully <command> exit status N`; the failed phase's
`contexts` carry the status code and message. What a user needs from a failed build is the failing
command and its last output lines (pip's or uv's resolution error, the Dockerfile line that failed),
not a link to a console.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from sagemaker_stack import aws

#: Statuses of a build that is over (botocore's codebuild StatusType, minus IN_PROGRESS).
FINISHED_STATUSES: Final = frozenset({"SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED"})
#: Output lines of the failing command that an error message repeats.
TAIL_LINES: Final = 8

_CONTAINER = re.compile(r"^\[Container\] \S+ \S+ (?P<text>.*)$")
_RUNNING = re.compile(r"^Running command (?P<command>.*)$")


def log_events(logs: Any, build: Mapping[str, Any]) -> Iterator[str]:
    """Every line the build wrote to CloudWatch Logs so far ([] before its log stream exists)."""
    where = build.get("logs") or {}
    group, stream = where.get("groupName"), where.get("streamName")
    if not group or not stream:
        return
    token: str | None = None
    while True:
        request: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            request["nextToken"] = token
        try:
            page = logs.get_log_events(**request)
        except aws.ClientError as error:
            if aws.is_not_found(error):
                return
            raise
        for event in page.get("events", []):
            yield str(event.get("message", "")).rstrip("\n")
        if not page.get("events") or page.get("nextForwardToken") in (None, token):
            return
        token = page["nextForwardToken"]


def failing_command(lines: Sequence[str]) -> tuple[str | None, list[str]]:
    """(the last command CodeBuild ran before the build failed, its last output lines)."""
    command: str | None = None
    output: list[str] = []
    for line in lines:
        marker = _CONTAINER.match(line)
        if marker is None:
            output.append(line)
            continue
        running = _RUNNING.match(marker.group("text"))
        text = marker.group("text")
        if running:
            command, output = running.group("command"), []
        elif "did not exit successfully" in text or "State: FAILED" in text:
            break
    return command, [line for line in output if line.strip()][-TAIL_LINES:]


def failure_summary(build: Mapping[str, Any], lines: Sequence[str]) -> str:
    """Why a finished build did not succeed: status, failed phase and its context, failing command."""
    status = str(build.get("buildStatus", "UNKNOWN"))
    parts = [f"CodeBuild build {build.get('id', '?')} ended {status}"]
    failed = [
        phase for phase in build.get("phases") or [] if phase.get("phaseStatus") not in (None, "SUCCEEDED")
    ]
    if failed:
        phase = failed[0]
        parts[0] += f" in phase {phase.get('phaseType')}"
        for context in phase.get("contexts") or []:
            if context.get("message"):
                parts.append(f"{context.get('statusCode', '')}: {context['message']}".strip(": "))
    command, output = failing_command(lines)
    if command:
        parts.append(f"failing command: {command}")
    if output:
        parts.append("its last lines:")
        parts.extend(f"  {line}" for line in output)
    where = (build.get("logs") or {}).get("groupName")
    if where:
        parts.append(
            f"whole log: CloudWatch Logs group {where}, stream {(build.get('logs') or {}).get('streamName')}"
        )
    return "\n".join(parts)


def wait(
    codebuild: Any,
    build_id: str,
    *,
    interval: float,
    on_phase: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the build is over; `on_phase` hears each phase as it starts. Returns the build."""
    seen: str | None = None
    while True:
        build: dict[str, Any] = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        phase = build.get("currentPhase")
        if on_phase is not None and phase and phase != seen:
            on_phase(str(phase))
            seen = str(phase)
        if build.get("buildStatus") in FINISHED_STATUSES:
            return build
        sleep(interval)
