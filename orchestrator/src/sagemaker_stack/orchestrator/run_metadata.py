"""What a run records in ZenML (links, the execution ARN or a dynamic run's jobs, step names) and
how it is read back.

ZenML stores run metadata as JSON, so a dict written at submission may come back as a string;
the readers here accept both. Statuses map SageMaker's execution and step statuses to ZenML's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from zenml.constants import (
    METADATA_ORCHESTRATOR_LOGS_URL,
    METADATA_ORCHESTRATOR_RUN_ID,
    METADATA_ORCHESTRATOR_URL,
)
from zenml.enums import ExecutionStatus
from zenml.metadata.metadata_types import MetadataType, Uri

from sagemaker_stack.orchestrator import execution, standalone_jobs
from sagemaker_stack.orchestrator.standalone_jobs import JobRef
from sagemaker_stack.orchestrator.step_groups import members_of

if TYPE_CHECKING:
    from zenml.models import PipelineRunResponse

    from sagemaker_stack.orchestrator.snapshot_spec import BuiltPipeline

#: Run metadata keys (besides ZenML's orchestrator_run_id / _url / _logs_url).
METADATA_EXECUTION_ARN: Final = "pipeline_execution_arn"
METADATA_PIPELINE_NAME: Final = "sagemaker_pipeline_name"
#: SageMaker step name -> its ZenML step names (a list: a step group runs several). Runs recorded
#: before step groups hold one ZenML name per SageMaker step; `step_names_of` reads both.
METADATA_STEP_NAMES: Final = "sagemaker_step_names"
METADATA_STEP_LOG_URLS: Final = "step_log_urls"  # ZenML step name -> CloudWatch link

_EXECUTION_STATUS: Final = {
    "Executing": ExecutionStatus.RUNNING,
    "Stopping": ExecutionStatus.STOPPING,
    "Stopped": ExecutionStatus.STOPPED,
    "Failed": ExecutionStatus.FAILED,
    "Succeeded": ExecutionStatus.COMPLETED,
}
#: ZenML run statuses in which no step has claimed the (placeholder) run yet.
UNCLAIMED_RUN_STATUSES: Final = frozenset({ExecutionStatus.INITIALIZING, ExecutionStatus.PROVISIONING})
_STEP_STATUS: Final = {
    "Starting": ExecutionStatus.RUNNING,
    "Executing": ExecutionStatus.RUNNING,
    "Stopping": ExecutionStatus.STOPPING,
    "Stopped": ExecutionStatus.STOPPED,
    "Failed": ExecutionStatus.FAILED,
    "Succeeded": ExecutionStatus.COMPLETED,
}


def execution_status(sagemaker_status: str) -> ExecutionStatus:
    """ZenML's status for a SageMaker PipelineExecutionStatus."""
    try:
        return _EXECUTION_STATUS[sagemaker_status]
    except KeyError:
        raise ValueError(f"unknown SageMaker pipeline execution status {sagemaker_status!r}") from None


def step_status(sagemaker_status: str) -> ExecutionStatus:
    """ZenML's status for a SageMaker StepStatus."""
    try:
        return _STEP_STATUS[sagemaker_status]
    except KeyError:
        raise ValueError(f"unknown SageMaker pipeline step status {sagemaker_status!r}") from None


def execution_links(region: str, execution_arn: str) -> dict[str, MetadataType]:
    """The execution ARN and its console link: what every run records, also one a schedule started."""
    return {
        METADATA_EXECUTION_ARN: execution_arn,
        METADATA_ORCHESTRATOR_RUN_ID: execution_arn,
        METADATA_ORCHESTRATOR_URL: Uri(
            execution.console_url(region, execution.pipeline_name_of(execution_arn), execution_arn)
        ),
    }


def submitted_run(region: str, execution_arn: str, built: BuiltPipeline) -> dict[str, MetadataType]:
    """The metadata of a run the orchestrator started: links to the execution, its logs and steps."""
    groups = members_of(built.step_names)
    step_urls = execution.step_log_urls(region, execution_arn, groups, built.use_training)
    log_group = (
        execution.TRAINING_LOG_GROUP if all(built.use_training.values()) else execution.PROCESSING_LOG_GROUP
    )
    return {
        **execution_links(region, execution_arn),
        METADATA_PIPELINE_NAME: built.sagemaker_pipeline_name,
        METADATA_ORCHESTRATOR_LOGS_URL: Uri(
            execution.logs_url(region, log_group, f"pipelines-{execution.execution_id(execution_arn)}")
        ),
        METADATA_STEP_NAMES: {sm: list(zenml) for sm, zenml in groups.items()},
        # A grouped step's log link is its group's job: one log holds all the group's steps.
        METADATA_STEP_LOG_URLS: {zenml: step_urls[sm] for zenml, sm in built.step_names.items()},
    }


def execution_arn_of(run: PipelineRunResponse) -> str | None:
    """The SageMaker execution ARN a run recorded, or None (not ours, or its submission failed)."""
    metadata = run.run_metadata or {}
    candidates: Iterable[object] = (
        *(metadata.get(key) for key in (METADATA_EXECUTION_ARN, METADATA_ORCHESTRATOR_RUN_ID)),
        run.orchestrator_run_id,
    )
    for value in candidates:
        if isinstance(value, str) and ":pipeline/" in value:
            return value
    return None


def step_names_of(run: PipelineRunResponse) -> dict[str, list[str]]:
    """SageMaker step name -> its ZenML step names, as the run recorded them ({} when it did not).

    Reads both forms: a list per SageMaker step (step groups), and the one name per SageMaker
    step that runs recorded before groups existed.
    """
    value = (run.run_metadata or {}).get(METADATA_STEP_NAMES)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        return {}
    return {
        str(k): [str(name) for name in v] if isinstance(v, list | tuple) else [str(v)]
        for k, v in value.items()
    }


# -- dynamic pipelines: an orchestration job and standalone jobs for isolated steps -----------

#: Run metadata of a dynamic run: its orchestration job (the newest, when the run was resumed).
METADATA_ORCHESTRATION_JOB_NAME: Final = "orchestration_job_name"
METADATA_ORCHESTRATION_JOB_KIND: Final = "orchestration_job_kind"
METADATA_ORCHESTRATION_JOB_ARN: Final = "orchestration_job_arn"
#: Step run metadata of an isolated step: its standalone job and the job's links.
METADATA_JOB_NAME: Final = "sagemaker_job_name"
METADATA_JOB_KIND: Final = "sagemaker_job_kind"
METADATA_JOB_ARN: Final = "sagemaker_job_arn"
METADATA_JOB_URL: Final = "sagemaker_job_url"
METADATA_JOB_LOGS_URL: Final = "sagemaker_job_logs_url"

_JOB_STATUS: Final = {
    "InProgress": ExecutionStatus.RUNNING,
    "Stopping": ExecutionStatus.STOPPING,
    "Stopped": ExecutionStatus.STOPPED,
    "Failed": ExecutionStatus.FAILED,
    "Completed": ExecutionStatus.COMPLETED,
}


def job_status(sagemaker_status: str) -> ExecutionStatus:
    """ZenML's status for a processing or training job's status."""
    try:
        return _JOB_STATUS[sagemaker_status]
    except KeyError:
        raise ValueError(f"unknown SageMaker job status {sagemaker_status!r}") from None


def orchestration_job(region: str, ref: JobRef, arn: str) -> dict[str, MetadataType]:
    """A dynamic run's metadata: its orchestration job, the job's console page and logs."""
    return {
        METADATA_ORCHESTRATION_JOB_NAME: ref.name,
        METADATA_ORCHESTRATION_JOB_KIND: ref.kind,
        METADATA_ORCHESTRATION_JOB_ARN: arn,
        METADATA_ORCHESTRATOR_URL: Uri(standalone_jobs.console_url(region, ref)),
        METADATA_ORCHESTRATOR_LOGS_URL: Uri(standalone_jobs.job_logs_url(region, ref)),
    }


def step_job(region: str, ref: JobRef, arn: str) -> dict[str, MetadataType]:
    """An isolated step's metadata: its standalone job, the job's console page and logs."""
    return {
        METADATA_JOB_NAME: ref.name,
        METADATA_JOB_KIND: ref.kind,
        METADATA_JOB_ARN: arn,
        METADATA_JOB_URL: Uri(standalone_jobs.console_url(region, ref)),
        METADATA_JOB_LOGS_URL: Uri(standalone_jobs.job_logs_url(region, ref)),
    }


def _job_ref(metadata: Mapping[str, Any] | None, name_key: str, kind_key: str) -> JobRef | None:
    metadata = metadata or {}
    name, kind = metadata.get(name_key), metadata.get(kind_key)
    if isinstance(name, str) and name and kind in (standalone_jobs.PROCESSING, standalone_jobs.TRAINING):
        return JobRef(str(kind), name)
    return None


def orchestration_job_of(run: PipelineRunResponse) -> JobRef | None:
    """The orchestration job a dynamic run recorded, or None (a static run, or not submitted)."""
    return _job_ref(run.run_metadata, METADATA_ORCHESTRATION_JOB_NAME, METADATA_ORCHESTRATION_JOB_KIND)


def step_job_of(step_run: Any) -> JobRef | None:
    """The standalone job an isolated step recorded, or None (an inline step, or not submitted)."""
    return _job_ref(step_run.run_metadata, METADATA_JOB_NAME, METADATA_JOB_KIND)
