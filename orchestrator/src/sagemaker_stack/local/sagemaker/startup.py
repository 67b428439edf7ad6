"""The emulator's model of a SageMaker job's start-up: how long a job waits before its container runs.

On AWS a processing or training job spends minutes provisioning its instances (a training job's
SecondaryStatus is `Starting`, "Launching requested ML instances") before its container's first
line runs; the emulator starts a job's process in about a second, so a pipeline's shape (one job
per step) costs nothing here that it costs there. With a model set, every job the emulator runs
(a pipeline step's or a standalone one, see job_execution.start_up) waits its instance type's
start-up first, InProgress, and a Stop during the wait ends it at once. The default is no wait.

A model is a default number of seconds and an optional table by instance type
(`{"ml.m5.large": 60, "ml.g5.xlarge": 240}`); a type the table does not list waits the default.
A job of several instances waits its type's start-up once: the instances start in parallel.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: What an instance type of a SageMaker job looks like (`ml.m5.large`, `ml.g5.12xlarge`, ...).
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")


class StartupModelError(ValueError):
    """A start-up setting is not usable; the message says which and how to fix it."""


@dataclass(frozen=True)
class StartupModel:
    """Seconds a job waits before its container runs: `default_seconds`, or its type's in `table`."""

    default_seconds: float = 0.0
    table: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_seconds", check_seconds(self.default_seconds, "the job start-up"))
        object.__setattr__(self, "table", check_table(self.table))

    def seconds(self, instance_types: list[str]) -> float:
        """The start-up of a job on `instance_types`: they start in parallel, the slowest counts
        (a job that names none waits the default)."""
        if not instance_types:
            return self.default_seconds
        return max(self.table.get(name, self.default_seconds) for name in instance_types)

    @property
    def enabled(self) -> bool:
        return self.default_seconds > 0 or any(seconds > 0 for seconds in self.table.values())

    def describe(self) -> str:
        """One line for a status report: `60 s per job; ml.g5.xlarge: 240 s`."""
        text = f"{self.default_seconds:g} s per job"
        if self.table:
            text += "; " + ", ".join(f"{name}: {seconds:g} s" for name, seconds in sorted(self.table.items()))
        return text

    def to_json(self) -> dict[str, Any]:
        return {"default_seconds": self.default_seconds, "table": dict(self.table)}


def check_seconds(value: object, what: str) -> float:
    """`value` as a number of seconds (finite, >= 0), or StartupModelError naming `what`."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise StartupModelError(f"{what} must be a number of seconds, not {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise StartupModelError(f"{what} must be a number of seconds >= 0, not {value!r}")
    return seconds


def check_table(table: object) -> dict[str, float]:
    """A table of start-ups by instance type, checked: ml.* keys, seconds >= 0 as values."""
    if not isinstance(table, Mapping):
        raise StartupModelError(
            "the job start-up table must be a JSON object of instance types and seconds, "
            'e.g. {"ml.m5.large": 60}'
        )
    checked: dict[str, float] = {}
    for name, seconds in table.items():
        if not isinstance(name, str) or not _INSTANCE_TYPE.match(name):
            raise StartupModelError(
                f"the job start-up table names {name!r}, which is not a SageMaker instance type "
                "(ml.<family>.<size>, e.g. ml.m5.large)"
            )
        checked[name] = check_seconds(seconds, f"the job start-up of {name}")
    return checked


def read_table(path: str | Path) -> dict[str, float]:
    """The table in the JSON file at `path`, or StartupModelError saying what is wrong with it."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise StartupModelError(
            f"cannot read the job start-up table {path}: {error.strerror or error}"
        ) from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StartupModelError(f"the job start-up table {path} is not valid JSON: {error}") from None
    try:
        return check_table(document)
    except StartupModelError as error:
        raise StartupModelError(f"{path}: {error}") from None


def instance_types(step_type: str, arguments: Mapping[str, Any]) -> list[str]:
    """The instance types a CreateProcessingJob / CreateTrainingJob request names (several: a
    training job's heterogeneous cluster, whose instance groups start in parallel)."""
    if step_type == "Processing":
        config = (arguments.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        groups = [config]
    else:
        config = arguments.get("ResourceConfig") or {}
        groups = [config, *(config.get("InstanceGroups") or [])]
    return [
        str(group["InstanceType"])
        for group in groups
        if isinstance(group, Mapping) and group.get("InstanceType")
    ]
