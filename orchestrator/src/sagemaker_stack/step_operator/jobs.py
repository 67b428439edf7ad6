"""One standalone SageMaker job: create, describe, stop, watch, log links. boto3 only, no ZenML.

The step operator's AWS side, apart from ZenML so that a unit test drives it with botocore's
Stubber. Its watch is the orchestrator's (`execution.watch`): a connection refused, reset or
timed out, throttling or a 5xx does not end it; it says once that contact is lost, retries with a
growing pause, says once that contact is back, and gives up with `ContactLost` only after the
outage bound. The job goes on either way: SageMaker runs it, not this process.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sagemaker_stack import aws
from sagemaker_stack.orchestrator import execution

PROCESSING: Final = "Processing"
TRAINING: Final = "Training"
#: What SageMaker's processing and training job statuses mean for the watch.
FINISHED_JOB_STATUSES: Final = frozenset({"Completed", "Failed", "Stopped"})
#: SageMaker job names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` (botocore's ProcessingJobName,
#: TrainingJobName).
MAX_JOB_NAME: Final = 63

_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Job:
    """Which job: its kind (Processing or Training) and name."""

    kind: str
    name: str

    @property
    def log_group(self) -> str:
        return execution.TRAINING_LOG_GROUP if self.kind == TRAINING else execution.PROCESSING_LOG_GROUP


@dataclass(frozen=True)
class JobState:
    """A job's status and, once it failed, SageMaker's FailureReason."""

    status: str
    failure_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES


def job_name(prefix: str, step_name: str, step_run_id: str) -> str:
    """`<prefix>-<step>-<step run id start>-<random>`: unique, readable, within SageMaker's 63.

    The step run's id makes the job findable from ZenML's step; the random part lets ZenML's
    retries of one step run each start a job of their own.
    """
    tail = f"{_NOT_NAME.sub('', step_run_id)[:8]}-{secrets.token_hex(2)}"
    head = _NOT_NAME.sub("-", f"{prefix}-{step_name}").strip("-") or "zenml-step"
    return f"{head[: MAX_JOB_NAME - len(tail) - 1].rstrip('-')}-{tail}"


def create(sagemaker: Any, job: Job, request: Mapping[str, Any]) -> str:
    """CreateProcessingJob / CreateTrainingJob; returns the job's ARN."""
    if job.kind == TRAINING:
        response = sagemaker.create_training_job(TrainingJobName=job.name, **request)
        return str(response["TrainingJobArn"])
    response = sagemaker.create_processing_job(ProcessingJobName=job.name, **request)
    return str(response["ProcessingJobArn"])


def describe(sagemaker: Any, job: Job) -> JobState:
    """The job's status (InProgress, Completed, Failed, Stopping, Stopped) and failure reason."""
    if job.kind == TRAINING:
        response = sagemaker.describe_training_job(TrainingJobName=job.name)
        return JobState(str(response["TrainingJobStatus"]), response.get("FailureReason"))
    response = sagemaker.describe_processing_job(ProcessingJobName=job.name)
    return JobState(str(response["ProcessingJobStatus"]), response.get("FailureReason"))


def stop(sagemaker: Any, job: Job) -> None:
    """Ask SageMaker to stop the job; stopping one that already ended is a no-op."""
    try:
        if job.kind == TRAINING:
            sagemaker.stop_training_job(TrainingJobName=job.name)
        else:
            sagemaker.stop_processing_job(ProcessingJobName=job.name)
    except aws.ClientError as error:
        if aws.error_code(error) == "ValidationException" and "status" in str(error).lower():
            return  # "The request was rejected because the job is in status Completed."
        raise


def watch(
    sagemaker: Any,
    job: Job,
    *,
    report: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    interval: float = 10.0,
    outage_limit: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> JobState:
    """Poll until the job ends, reporting each new status; outages as the orchestrator's watch.

    Raises `execution.ContactLost` when SageMaker cannot be reached for `outage_limit` seconds;
    any other error as it is.
    """
    warn = warn or report
    last: str | None = None
    lost_since: float | None = None
    pause = interval
    while True:
        try:
            state = describe(sagemaker, job)
        except Exception as error:
            reason = execution.transient_reason(error)
            if reason is None:
                if lost_since is not None:
                    warn(f"Contact with SageMaker is back after {clock() - lost_since:.0f} s")
                raise
            now = clock()
            if lost_since is None:
                lost_since = now
                warn(f"Lost contact with SageMaker ({reason}); retrying for up to {outage_limit:.0f} s")
            elif now - lost_since >= outage_limit:
                raise execution.ContactLost(job.name, now - lost_since, reason) from None
            sleep(min(pause, max(outage_limit - (now - lost_since), 0.1)))
            pause = min(pause * 2, execution.MAX_BACKOFF_SECONDS)
            continue
        if lost_since is not None:
            warn(f"Contact with SageMaker is back after {clock() - lost_since:.0f} s")
            lost_since, pause = None, interval
        if state.status != last:
            report(state.status)
            last = state.status
        if state.finished:
            return state
        sleep(interval)


def log_tail(logs: Any, job: Job, lines: int = 20) -> list[str]:
    """The last lines the job wrote to CloudWatch Logs ([] when there are none or logs fail)."""
    step = execution.StepState(name=job.name, status="", job_kind=job.kind, job_name=job.name)
    return execution.log_tail(logs, step, lines)


def console_url(region: str, job: Job) -> str:
    """The job's page in the SageMaker console."""
    page = "jobs" if job.kind == TRAINING else "processing-jobs"
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{page}/{job.name}"


def logs_url(region: str, job: Job) -> str:
    """The CloudWatch Logs console link to the job's log streams (`<job name>/...`)."""
    return execution.logs_url(region, job.log_group, f"{job.name}/")
