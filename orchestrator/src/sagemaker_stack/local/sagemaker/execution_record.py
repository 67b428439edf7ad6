"""What SageMaker reports about an execution and its steps, apart from the threads that run it.

A running execution (engine.ExecutionRun) keeps these while it runs; the emulator's snapshot
saves them as plain dicts (so that a field added later with a default still reads an older
snapshot), and after a restart they answer DescribePipelineExecution and
ListPipelineExecutionSteps as before. An execution the emulator's end cut off is not left
Executing for ever: `interrupted` ends it, and its unfinished steps, Failed with the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Statuses after which nothing changes any more (an execution's and a step's).
TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")


@dataclass
class StepState:
    """What ListPipelineExecutionSteps reports about one started step."""

    name: str
    display_name: str | None
    description: str | None
    status: str = "Starting"
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    end_time: datetime | None = None
    failure_reason: str | None = None
    attempt_count: int = 0
    job_type: str | None = None
    job_arn: str | None = None
    job_name: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecutionRecord:
    """An execution's status, failure reason, end and steps, as the API reports them."""

    status: str
    failure_reason: str | None = None
    end_time: datetime | None = None
    steps: dict[str, StepState] = field(default_factory=dict)

    def saved(self) -> dict[str, Any]:
        """Plain data for the snapshot."""
        return dataclasses.asdict(self)

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> ExecutionRecord:
        known = {item.name for item in dataclasses.fields(StepState)}
        steps = {
            name: StepState(**{key: value for key, value in step.items() if key in known})
            for name, step in (data.get("steps") or {}).items()
        }
        return cls(data["status"], data.get("failure_reason"), data.get("end_time"), steps)

    def interrupted(self, cause: str) -> ExecutionRecord:
        """This execution ended Failed because of `cause` if it was still going, and so its steps."""
        if self.status in TERMINAL_STATUSES:
            return self
        now = datetime.now(UTC)
        steps = {
            name: step
            if step.status in TERMINAL_STATUSES
            else dataclasses.replace(
                step, status="Failed", end_time=now, failure_reason=interruption_reason(cause, "step")
            )
            for name, step in self.steps.items()
        }
        return ExecutionRecord("Failed", interruption_reason(cause, "execution"), now, steps)


def interruption_reason(cause: str, what: str) -> str:
    """The FailureReason of an execution or step the emulator's end cut off."""
    return f"InternalServerError: {cause} while this {what} was running"
