"""Standalone SageMaker jobs: a dynamic pipeline's orchestration job and its isolated steps.

A dynamic ZenML pipeline decides its steps while it runs, which SageMaker Pipelines (a fixed
DAG) cannot express: the pipeline function runs in one orchestration job, and each isolated step
in a job of its own. This module is their AWS side, boto3 only and no ZenML, so that a unit test
can drive it with botocore's Stubber: Create, Describe and Stop of processing and training jobs,
their names, and their console and log links. The requests themselves come from the same code
as a pipeline step's (`job_request`, via `dynamic_spec`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sagemaker_stack import aws
from sagemaker_stack.orchestrator.execution import (
    PROCESSING_LOG_GROUP,
    TRAINING_LOG_GROUP,
    StepState,
    logs_url,
)
from sagemaker_stack.orchestrator.execution import log_tail as step_log_tail

PROCESSING: Final = "processing"
TRAINING: Final = "training"
#: Statuses after which a job never changes (DescribeProcessingJob and DescribeTrainingJob alike).
FINISHED_JOB_STATUSES: Final = frozenset({"Completed", "Failed", "Stopped"})
#: botocore: ProcessingJobName / TrainingJobName, at most 63 of [a-zA-Z0-9](-*[a-zA-Z0-9])*.
JOB_NAME_MAX: Final = 63
_SUFFIX_CHARS: Final = 8


@dataclass(frozen=True)
class JobRef:
    """One standalone job: its kind (`processing` or `training`) and name."""

    kind: str
    name: str

    @property
    def training(self) -> bool:
        return self.kind == TRAINING

    @property
    def log_group(self) -> str:
        return TRAINING_LOG_GROUP if self.training else PROCESSING_LOG_GROUP


@dataclass(frozen=True)
class JobState:
    """What Describe*Job says of a job."""

    status: str
    failure_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES


def job_name(*parts: str) -> str:
    """A fresh job name from `parts` (e.g. prefix, pipeline, step) plus 8 random hex characters.

    Characters outside `[A-Za-z0-9]` become one '-', and the head is cut so that the random
    suffix always survives the 63-character limit: two jobs of one step (a retry, a resumed run)
    never collide, and the name still says whose job it is in the console.
    """
    head = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")
    head = head[: JOB_NAME_MAX - _SUFFIX_CHARS - 1].rstrip("-")
    suffix = secrets.token_hex(_SUFFIX_CHARS // 2)
    return f"{head}-{suffix}" if head else suffix


def name_member(kind: str) -> str:
    """The request member that names a job of `kind`."""
    return "TrainingJobName" if kind == TRAINING else "ProcessingJobName"


def create(sagemaker: Any, ref: JobRef, request: Mapping[str, Any]) -> str:
    """Create the job (`request` without its name); returns its ARN."""
    body = {name_member(ref.kind): ref.name, **request}
    if ref.training:
        return str(sagemaker.create_training_job(**body)["TrainingJobArn"])
    return str(sagemaker.create_processing_job(**body)["ProcessingJobArn"])


def describe(sagemaker: Any, ref: JobRef) -> JobState:
    """The job's status and failure reason."""
    if ref.training:
        response = sagemaker.describe_training_job(TrainingJobName=ref.name)
        return JobState(str(response["TrainingJobStatus"]), response.get("FailureReason"))
    response = sagemaker.describe_processing_job(ProcessingJobName=ref.name)
    return JobState(str(response["ProcessingJobStatus"]), response.get("FailureReason"))


def stop(sagemaker: Any, ref: JobRef) -> bool:
    """Ask SageMaker to stop the job; False when it had already ended (nothing to stop).

    SageMaker answers StopProcessingJob / StopTrainingJob of a finished job with a
    ValidationException; for the user stopping a run that is not an error.
    """
    from botocore.exceptions import ClientError

    try:
        if ref.training:
            sagemaker.stop_training_job(TrainingJobName=ref.name)
        else:
            sagemaker.stop_processing_job(ProcessingJobName=ref.name)
    except ClientError as error:
        if aws.error_code(error) == "ValidationException" and describe(sagemaker, ref).finished:
            return False
        raise
    return True


def log_tail(logs: Any, ref: JobRef, lines: int = 20) -> list[str]:
    """The last lines the job wrote to CloudWatch Logs ([] when there are none or logs fail)."""
    kind = "Training" if ref.training else "Processing"  # a pipeline step's spelling
    return step_log_tail(logs, StepState(name=ref.name, status="", job_kind=kind, job_name=ref.name), lines)


def console_url(region: str, ref: JobRef) -> str:
    """The job's page in the SageMaker console."""
    page = "jobs" if ref.training else "processing-jobs"  # the console's own paths
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{page}/{ref.name}"


def job_logs_url(region: str, ref: JobRef) -> str:
    """CloudWatch Logs link to the job's streams (`<job name>/...`), known before it starts."""
    return logs_url(region, ref.log_group, f"{ref.name}/")
