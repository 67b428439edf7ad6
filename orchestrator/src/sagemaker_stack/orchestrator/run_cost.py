"""What a run cost: each SageMaker job's billed time, and an estimate of its price. boto3 only.

Billed time, as AWS defines it (botocore's SageMaker service model, whose documentation is the
API reference's, and aws.amazon.com/sagemaker/pricing):
- **Training jobs** report `BillableTimeInSeconds` (DescribeTrainingJob: "Multiply
  BillableTimeInSeconds by the number of instances (InstanceCount) ... to get the total compute
  time SageMaker bills you"). With managed spot training it is lower than
  `TrainingTimeInSeconds`; the difference is the spot saving ("savings ... (1 -
  BillableTimeInSeconds / TrainingTimeInSeconds) * 100"), reported apart. A job without it (not
  reported yet) is billed from `TrainingStartTime` to `TrainingEndTime` ("You are billed for the
  time interval between this time and the value of TrainingEndTime").
- **Processing jobs** report no billable time, and the API reference says only that
  `ProcessingStartTime` / `ProcessingEndTime` are "the time at which the processing job started /
  completed". SageMaker's pricing (aws.amazon.com/sagemaker/pricing) bills processing per second
  of instance use, so, by analogy with TrainingStartTime/TrainingEndTime, a processing job is
  billed from ProcessingStartTime to ProcessingEndTime (LastModifiedTime if no end is given), per
  instance. This is our reading, not a formula AWS states (checked 2026-12-07 with the docs
  search: the API reference, mirrored by the SDK docs, and pages summarising the pricing).
Both are multiplied by the instance count (`ProcessingResources.ClusterConfig.InstanceCount`,
`ResourceConfig.InstanceCount`, or each of a heterogeneous cluster's `InstanceGroups`). A job that
ended before it started on instances (no start time) billed nothing. A job still running (or
stopping) is not counted: its billed time is not known yet, and the summary says so.
Not counted either: a training warm pool's retained time (`WarmPoolStatus.
ResourceRetainedBillableTimeInSeconds`, known only once the pool ends), storage and data transfer.

The price is the instance table's on-demand list price (`instance_types`, us-east-1, compiled on
`PRICES_COMPILED`): an **estimate**, not the bill (other regions, savings plans and discounts
differ). A type missing from the table keeps its billed seconds, and its cost is unknown (None),
never 0; so is the run's total then.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sagemaker_stack.orchestrator.execution import StepState
from sagemaker_stack.orchestrator.instance_types import PRICE_REGION, PRICES_COMPILED, price_per_hour
from sagemaker_stack.orchestrator.standalone_jobs import (
    FINISHED_JOB_STATUSES,
    PROCESSING,
    TRAINING,
    JobRef,
)

#: What every cost figure is: said in the watch's line and the run's metadata.
ESTIMATE_NOTE: Final = f"estimate: on-demand {PRICE_REGION} list prices of {PRICES_COMPILED}"

#: Run metadata keys of the cost (besides these, nothing: totals, breakdown, what it is).
METADATA_BILLED_SECONDS: Final = "billed_seconds"
METADATA_COST_USD: Final = "estimated_cost_usd"
METADATA_COST_BY_STEP: Final = "cost_by_step"
METADATA_COST_NOTE: Final = "cost_estimate"
METADATA_SPOT_SAVED_SECONDS: Final = "spot_saved_seconds"
#: Jobs not counted because they had not ended: a later refresh counts them (see `complete`).
METADATA_JOBS_RUNNING: Final = "cost_jobs_still_running"
#: ZenML skips a metadata value longer than this (its TEXT_FIELD_MAX_LENGTH).
_METADATA_VALUE_MAX: Final = 65535

#: A pipeline step's job kind ("Processing"/"Training", ListPipelineExecutionSteps) -> JobRef's.
_KINDS: Final = {"Processing": PROCESSING, "Training": TRAINING}


@dataclass(frozen=True)
class BilledJob:
    """One job's billed time: `seconds` per instance, on `instances` (type -> count)."""

    label: str  # the SageMaker step (or ZenML step, or "orchestration job") it ran for
    ref: JobRef
    status: str
    instances: Mapping[str, int]
    seconds: float = 0.0
    spot_saved: float = 0.0  # per instance

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES

    @property
    def billed_seconds(self) -> float:
        """Instance-seconds billed: per-instance billed time times the instance count."""
        return self.seconds * sum(self.instances.values())

    @property
    def spot_saved_seconds(self) -> float:
        return self.spot_saved * sum(self.instances.values())

    @property
    def unpriced(self) -> list[str]:
        """Instance types the price table does not have."""
        return sorted(name for name in self.instances if price_per_hour(name) is None)

    @property
    def cost_usd(self) -> float | None:
        """The estimate in USD; None when a type has no list price (never 0 for "unknown")."""
        if self.unpriced:
            return None
        return sum(
            self.seconds * count * (price_per_hour(name) or 0.0) / 3600
            for name, count in self.instances.items()
        )


@dataclass(frozen=True)
class RunCost:
    """The billed time and estimated cost of a run's jobs."""

    jobs: tuple[BilledJob, ...]

    @property
    def counted(self) -> list[BilledJob]:
        return [job for job in self.jobs if job.finished]

    @property
    def running(self) -> list[BilledJob]:
        return [job for job in self.jobs if not job.finished]

    @property
    def complete(self) -> bool:
        """Whether every job ended, so that the figures will not change any more."""
        return not self.running

    @property
    def billed_seconds(self) -> float:
        return sum(job.billed_seconds for job in self.counted)

    @property
    def spot_saved_seconds(self) -> float:
        return sum(job.spot_saved_seconds for job in self.counted)

    @property
    def unpriced(self) -> list[str]:
        return sorted({name for job in self.counted for name in job.unpriced})

    @property
    def cost_usd(self) -> float | None:
        costs = [job.cost_usd for job in self.counted]
        return None if any(cost is None for cost in costs) else sum(cost or 0.0 for cost in costs)

    def summary(self) -> str:
        """One line: `5 jobs, 312 billed seconds, about $0.011 (estimate: ...)`."""
        counted = len(self.counted)
        parts = [f"{counted} job{'' if counted == 1 else 's'}", f"{self.billed_seconds:.0f} billed seconds"]
        if self.spot_saved_seconds:
            parts.append(f"{self.spot_saved_seconds:.0f} seconds saved by managed spot training")
        cost = self.cost_usd
        if cost is None:
            parts.append(f"cost unknown (no list price for {', '.join(self.unpriced)})")
        else:
            parts.append(f"about {usd(cost)} ({ESTIMATE_NOTE})")
        if self.running:
            running = len(self.running)
            parts.append(f"{running} job{'' if running == 1 else 's'} still running, not counted")
        return ", ".join(parts)

    def by_step(self, detail: bool = True) -> dict[str, dict[str, Any]]:
        """Per step (label): billed seconds and cost (None when unknown), with each job's figures."""
        steps: dict[str, dict[str, Any]] = {}
        for job in self.counted:
            entry = steps.setdefault(job.label, {"billed_seconds": 0.0, "estimated_cost_usd": 0.0})
            entry["billed_seconds"] = round(entry["billed_seconds"] + job.billed_seconds, 3)
            cost, total = job.cost_usd, entry["estimated_cost_usd"]
            entry["estimated_cost_usd"] = None if cost is None or total is None else round(total + cost, 8)
            if detail:
                entry.setdefault("jobs", {})[job.ref.name] = {
                    "kind": job.ref.kind,
                    "instances": dict(job.instances),
                    "billed_seconds": round(job.billed_seconds, 3),
                    "estimated_cost_usd": None if cost is None else round(cost, 8),
                    **({"spot_saved_seconds": round(job.spot_saved_seconds, 3)} if job.spot_saved else {}),
                }
        return steps

    def metadata(self) -> dict[str, Any]:
        """The run's metadata: totals, the per-step breakdown, and that the cost is an estimate.

        ZenML stores no null value, so an unknown total cost is left out (the note says why); in
        the breakdown, an unknown cost is null. A breakdown too long for ZenML keeps each step's
        totals and drops the per-job figures.
        """
        breakdown = self.by_step()
        if len(json.dumps(breakdown)) > _METADATA_VALUE_MAX:
            breakdown = self.by_step(detail=False)
        cost = self.cost_usd
        note = ESTIMATE_NOTE.capitalize() + ", times each job's billed instance-seconds; not the bill"
        if cost is None:
            note += f"; the total is unknown: no list price for {', '.join(self.unpriced)}"
        values: dict[str, Any] = {
            METADATA_BILLED_SECONDS: round(self.billed_seconds, 3),
            METADATA_COST_BY_STEP: breakdown,
            METADATA_COST_NOTE: note,
            METADATA_JOBS_RUNNING: [job.ref.name for job in self.running],
        }
        if cost is not None:
            values[METADATA_COST_USD] = round(cost, 8)
        if self.spot_saved_seconds:
            values[METADATA_SPOT_SAVED_SECONDS] = round(self.spot_saved_seconds, 3)
        return values


def usd(amount: float) -> str:
    """Dollars with two significant digits under $1 (`$0.011`, `$0.00016`), cents above."""
    if amount <= 0:
        return "$0"
    if amount >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.{max(2, 1 - math.floor(math.log10(amount)))}f}"


def step_jobs(steps: Iterable[StepState]) -> list[tuple[str, JobRef]]:
    """(SageMaker step name, job) of each job a pipeline execution's steps ran, retries included."""
    return [
        (step.name, JobRef(_KINDS[kind], name))
        for step in steps
        for kind, name in step.jobs
        if kind in _KINDS
    ]


def of_jobs(sagemaker: Any, jobs: Iterable[tuple[str, JobRef]]) -> RunCost:
    """Describe each job (once, whoever lists it twice) and work out what it billed."""
    seen: set[str] = set()
    billed = []
    for label, ref in jobs:
        if ref.name not in seen:
            seen.add(ref.name)
            billed.append(describe(sagemaker, label, ref))
    return RunCost(tuple(billed))


def describe(sagemaker: Any, label: str, ref: JobRef) -> BilledJob:
    """One DescribeProcessingJob / DescribeTrainingJob call, as a BilledJob."""
    if ref.training:
        return training_job(label, ref, sagemaker.describe_training_job(TrainingJobName=ref.name))
    return processing_job(label, ref, sagemaker.describe_processing_job(ProcessingJobName=ref.name))


def processing_job(label: str, ref: JobRef, response: Mapping[str, Any]) -> BilledJob:
    """A DescribeProcessingJob response: billed from ProcessingStartTime to ProcessingEndTime."""
    cluster = (response.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    status = str(response.get("ProcessingJobStatus", ""))
    instances = _instances(cluster.get("InstanceType"), cluster.get("InstanceCount"))
    if status not in FINISHED_JOB_STATUSES:
        return BilledJob(label, ref, status, instances)
    end = response.get("ProcessingEndTime") or response.get("LastModifiedTime")
    return BilledJob(label, ref, status, instances, _between(response.get("ProcessingStartTime"), end))


def training_job(label: str, ref: JobRef, response: Mapping[str, Any]) -> BilledJob:
    """A DescribeTrainingJob response: BillableTimeInSeconds, and the spot saving."""
    config = response.get("ResourceConfig") or {}
    status = str(response.get("TrainingJobStatus", ""))
    groups = config.get("InstanceGroups") or []
    if groups:
        instances: dict[str, int] = {}
        for group in groups:
            name = str(group.get("InstanceType", "unknown"))
            instances[name] = instances.get(name, 0) + int(group.get("InstanceCount") or 1)
    else:
        instances = _instances(
            config.get("SelectedInstanceType") or config.get("InstanceType"),
            config.get("SelectedInstanceCount") or config.get("InstanceCount"),
        )
    if status not in FINISHED_JOB_STATUSES:
        return BilledJob(label, ref, status, instances)
    billable = response.get("BillableTimeInSeconds")
    if billable is None:
        seconds = _between(response.get("TrainingStartTime"), response.get("TrainingEndTime"))
    else:
        seconds = float(billable)
    trained = response.get("TrainingTimeInSeconds")
    spot = bool(response.get("EnableManagedSpotTraining"))
    saved = max(float(trained) - seconds, 0.0) if spot and trained is not None else 0.0
    return BilledJob(label, ref, status, instances, seconds, saved)


def _instances(instance_type: object, count: object) -> dict[str, int]:
    return {str(instance_type or "unknown"): int(count or 1)}  # type: ignore[call-overload]


def _between(start: object, end: object) -> float:
    """Seconds from `start` to `end`; 0 for a job that never started on instances."""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return 0.0
    return max((end - start).total_seconds(), 0.0)
