"""Each step attempt of an execution as SageMaker records it: a processing or training job.

The engine (engine.ExecutionRun) asks a recorder to record a job when a step starts and ends,
for the log sink a step writes to, for the step's image and for the object store its channels
use; this one keeps them in moto's SageMaker backend, CloudWatch Logs, ECR and S3, so that
DescribeProcessingJob, DescribeTrainingJob, the logs and the images read as on AWS.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.ecr.models import ecr_backends
from moto.sagemaker.models import FakeProcessingJob, FakeTrainingJob

from sagemaker_stack.local.images.container import LogSink
from sagemaker_stack.local.images.store import Image, ImageStore
from sagemaker_stack.local.sagemaker.jobs.runner import JobKind
from sagemaker_stack.local.sagemaker.step_image import RepositoryMissing, pull
from sagemaker_stack.local.services.logs import CloudWatchLogSink
from sagemaker_stack.local.services.s3_objects import MotoObjectStore, ObjectStore
from sagemaker_stack.local.state.lock import STATE

#: SageMaker's StatusMessage of a training job's last secondary status, by its end status.
_TRAINING_ENDS = {
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopped": "Training job stopped",
}


def transition(job: Any, status: str, message: str) -> None:
    """A training job's SecondaryStatus moves on: the last transition ends, a new one starts."""
    now = datetime.now(UTC)
    transitions = job.secondary_status_transitions
    if transitions and transitions[-1].get("Status") == status:
        return
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    terminal = status in _TRAINING_ENDS
    transitions.append(
        {
            "Status": status,
            "StartTime": now,
            "StatusMessage": message,
            **({"EndTime": now} if terminal else {}),
        }
    )
    job.secondary_status = status
    job.last_modified_time = now


def billed_seconds(start: datetime | None, end: datetime) -> int:
    """A training job's TrainingTimeInSeconds and BillableTimeInSeconds: from its TrainingStartTime
    (its instances up, the start-up not counted) to its end, in whole seconds begun; 0 for a job
    that ended before its instances were up. AWS reports a managed spot job's billable time lower
    than its training time (the spot saving); the emulator has no spot prices: both are equal."""
    if start is None:
        return 0
    return max(0, math.ceil((end - start).total_seconds()))


class MotoJobRecorder:
    """Records each step attempt as a moto processing/training job and opens its log stream."""

    def __init__(self, backend: Any, image_store: Path) -> None:
        self._backend = backend
        self._image_store = image_store

    def job_started(self, kind: JobKind, job_name: str, arguments: dict[str, Any]) -> str:
        """Record the job InProgress, its instances starting (a training job's SecondaryStatus
        `Starting`); its start time comes when they are up (`job_launched`)."""
        with STATE.shared():
            return self._job_started(kind, job_name, arguments)

    def job_launched(self, kind: JobKind, job_name: str) -> None:
        """The job's instances are up: its ProcessingStartTime / TrainingStartTime is now (what
        AWS bills from), and a training job goes on to `Downloading` its input data."""
        now = datetime.now(UTC)
        with STATE.shared():
            if kind.step_type == "Processing":
                job = self._backend.processing_jobs.get(job_name)
                if job is not None:
                    job.processing_start_time = now
                    job.last_modified_time = now
                return
            job = self._backend.training_jobs.get(job_name)
            if job is not None:
                job.training_start_time = now
                transition(job, "Downloading", "Downloading input data")

    def job_phase(self, kind: JobKind, job_name: str, status: str, message: str) -> None:
        """A training job's SecondaryStatus moves on (a processing job has none)."""
        if kind.step_type != "Training":
            return
        with STATE.shared():
            job = self._backend.training_jobs.get(job_name)
            if job is not None:
                transition(job, status, message)

    def _job_started(self, kind: JobKind, job_name: str, arguments: dict[str, Any]) -> str:
        backend = self._backend
        try:
            if kind.step_type == "Processing":
                job: Any = backend.create_processing_job(
                    app_specification=arguments.get("AppSpecification"),
                    experiment_config=arguments.get("ExperimentConfig"),
                    network_config=arguments.get("NetworkConfig"),
                    processing_inputs=arguments.get("ProcessingInputs") or [],
                    processing_job_name=job_name,
                    processing_output_config=arguments.get("ProcessingOutputConfig") or {},
                    role_arn=arguments.get("RoleArn"),
                    tags=arguments.get("Tags") or [],
                    stopping_condition=arguments.get("StoppingCondition"),
                )
                # moto's job has no ProcessingResources (instance, volume, volume key) and no
                # Environment: keep them, DescribeProcessingJob reports them.
                job.processing_resources = arguments.get("ProcessingResources")
                job.environment = arguments.get("Environment")
                job.processing_job_status = "InProgress"
                job.processing_end_time = None
                job.processing_start_time = None  # when its instances are up: job_launched
            else:
                job = backend.create_training_job(
                    training_job_name=job_name,
                    hyper_parameters=arguments.get("HyperParameters") or {},
                    # moto adds made-up MetricDefinitions to the specification it is given.
                    algorithm_specification=copy.deepcopy(arguments.get("AlgorithmSpecification")),
                    role_arn=arguments.get("RoleArn"),
                    input_data_config=arguments.get("InputDataConfig") or [],
                    output_data_config=arguments.get("OutputDataConfig") or {},
                    resource_config=arguments.get("ResourceConfig") or {},
                    vpc_config=arguments.get("VpcConfig"),
                    stopping_condition=arguments.get("StoppingCondition"),
                    tags=arguments.get("Tags") or [],
                    enable_network_isolation=bool(arguments.get("EnableNetworkIsolation")),
                    enable_inter_container_traffic_encryption=bool(
                        arguments.get("EnableInterContainerTrafficEncryption")
                    ),
                    enable_managed_spot_training=bool(arguments.get("EnableManagedSpotTraining")),
                    checkpoint_config=arguments.get("CheckpointConfig"),
                    debug_hook_config=arguments.get("DebugHookConfig"),
                    debug_rule_configurations=arguments.get("DebugRuleConfigurations"),
                    tensor_board_output_config=arguments.get("TensorBoardOutputConfig"),
                    experiment_config=arguments.get("ExperimentConfig"),
                )
                job.algorithm_specification = arguments.get("AlgorithmSpecification")
                job.environment = arguments.get("Environment")
                job.training_job_status = "InProgress"
                # moto's job says it ended, with a made-up metric: it has only started.
                job.training_start_time = job.training_end_time = None
                job.final_metric_data_list = []
                job.secondary_status_transitions = []
                transition(job, "Starting", "Launching requested ML instances")
            return str(job.arn)
        except Exception:
            # The job record is a convenience; a step must run even if moto rejects its shape.
            formatter = FakeProcessingJob if kind.step_type == "Processing" else FakeTrainingJob
            return formatter.arn_formatter(job_name, backend.account_id, backend.region_name)

    def job_ended(self, kind: JobKind, job_name: str, status: str, failure_reason: str | None) -> None:
        with STATE.shared():
            self._job_ended(kind, job_name, status, failure_reason)

    def _job_ended(self, kind: JobKind, job_name: str, status: str, failure_reason: str | None) -> None:
        now = datetime.now(UTC)
        if kind.step_type == "Processing":
            job = self._backend.processing_jobs.get(job_name)
            if job is not None:
                job.processing_job_status = status
                job.processing_end_time = now
                job.last_modified_time = now
                job.failure_reason = failure_reason
        else:
            job = self._backend.training_jobs.get(job_name)
            if job is not None:
                job.training_job_status = status
                transition(job, status, _TRAINING_ENDS.get(status, status))
                job.training_end_time = now
                job.last_modified_time = now
                job.failure_reason = failure_reason
                job.training_time_in_seconds = job.billable_time_in_seconds = billed_seconds(
                    job.training_start_time, now
                )

    def job_status(self, kind: JobKind, job_name: str) -> str | None:
        if kind.step_type == "Processing":
            job = self._backend.processing_jobs.get(job_name)
            return None if job is None else str(job.processing_job_status)
        job = self._backend.training_jobs.get(job_name)
        return None if job is None else str(job.training_job_status)

    def log_sink(self, kind: JobKind, job_name: str) -> LogSink:
        return CloudWatchLogSink(
            self._backend.account_id, self._backend.region_name, kind.log_group, job_name
        )

    def pull_image(self, kind: JobKind, arguments: dict[str, Any]) -> Image:
        specification = arguments.get(kind.specification_key) or {}
        return pull(
            kind.step_type,
            str(specification.get(kind.image_key) or ""),
            role=str(arguments.get("RoleArn") or ""),
            region=self._backend.region_name,
            lookup=_ecr_manifest,
            store=ImageStore(self._image_store),
        )

    def object_store(self) -> ObjectStore:
        return MotoObjectStore(self._backend.account_id, self._backend.region_name)


def _ecr_manifest(account: str, region: str, repository: str, tag_or_digest: str) -> str | None:
    """The manifest the emulated ECR holds under a tag or digest (None), RepositoryMissing if none."""
    with STATE.shared(changes=False):
        backend: Any = ecr_backends[account][region]
        found = backend.repositories.get(repository)
        if found is None:
            raise RepositoryMissing(repository)
        for image in found.images:
            if tag_or_digest in image.image_tags or image.get_image_digest() == tag_or_digest:
                return str(image.image_manifest)
    return None
