"""One CodeBuild build's record, the dict moto's backend keeps and BatchGetBuilds returns.

The runner moves the record through CodeBuild's phases from its own thread while server threads
read it, so every change and every read goes through one lock; a change also holds the state
against a snapshot (see state.lock). The shapes are botocore's `Build`
and `BuildPhase`: a phase in progress has only its type and start time; a finished one has its
status, end time, whole seconds and contexts (`statusCode` and `message`, both empty on success,
as CodeBuild reports them); the final COMPLETED phase only ever has a start time.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagemaker_stack.local.state.lock import STATE

PHASE_ORDER = (
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
    "COMPLETED",
)
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED")


@dataclass(frozen=True)
class PhaseContext:
    status_code: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"statusCode": self.status_code, "message": self.message}

    def log_line(self) -> str:
        """The agent's line after each phase, e.g. `Phase context status code:  Message: `."""
        return f"Phase context status code: {self.status_code} Message: {self.message}"


class PhaseFailure(Exception):
    """The phase in progress fails with this context (a CodeBuild status code and message)."""

    def __init__(self, status_code: str, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.context = PhaseContext(status_code, message)


def now() -> datetime:
    return datetime.now(UTC)


class BuildRecord:
    """Moves `data` (moto's build dict, shared with its backend) through the phases."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._lock = threading.Lock()

    @property
    def build_id(self) -> str:
        return str(self.data["id"])

    @property
    def status(self) -> str:
        with self._lock:
            return str(self.data["buildStatus"])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.data)

    def update(self, **fields: Any) -> None:
        with STATE.shared(), self._lock:
            self.data.update(fields)

    def begin(self, phase_type: str) -> None:
        with STATE.shared(), self._lock:
            self.data["phases"].append({"phaseType": phase_type, "startTime": now()})
            self.data["currentPhase"] = phase_type

    def end(self, status: str, context: PhaseContext | None = None) -> None:
        """Finish the phase in progress with `status` and, but for SUBMITTED/QUEUED, a context."""
        with STATE.shared(), self._lock:
            phase = self.data["phases"][-1]
            if "phaseStatus" in phase:
                return  # already ended (a fault while finishing it)
            end = now()
            phase.update(
                phaseStatus=status,
                endTime=end,
                durationInSeconds=int((end - phase["startTime"]).total_seconds()),
            )
            if phase["phaseType"] not in ("SUBMITTED", "QUEUED"):
                phase["contexts"] = [(context or PhaseContext()).as_dict()]

    def complete(self, build_status: str) -> None:
        """Enter COMPLETED and give the build its final status (what pollers wait for)."""
        with STATE.shared(), self._lock:
            end = now()
            self.data["phases"].append({"phaseType": "COMPLETED", "startTime": end})
            self.data.update(
                currentPhase="COMPLETED", buildStatus=build_status, endTime=end, buildComplete=True
            )
