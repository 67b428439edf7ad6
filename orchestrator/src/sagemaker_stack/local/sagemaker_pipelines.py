"""SageMaker Pipelines on moto, completed: definitions are checked, executions really run.

moto stores pipelines and marks every execution Succeeded at once; it has no
ListPipelineExecutionSteps or StopPipelineExecution. `install()` (called once by the server
process) wraps moto's backend methods so that:
- CreatePipeline / UpdatePipeline / StartPipelineExecution reject a definition that is not JSON
  or names an unknown step with a ValidationException (the server keeps serving);
- a definition given as PipelineDefinitionS3Location is read from the emulated S3 and kept as
  text, so DescribePipeline returns it as SageMaker does;
- StartPipelineExecution hands the definition to the engine, and Describe/ListPipelineExecutions
  report the engine's status and failure reason;
- ListPipelineExecutionSteps and StopPipelineExecution exist;
- moto's own reset (`POST /moto-api/reset`) also stops every running execution;
- the emulator's snapshot saves what the engine reports (`saved_executions`), a restart brings
  it back (`restore_executions`), and an execution the emulator's end cut off ends Failed.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.models import ecr_backends
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import (
    FakePipelineExecution,
    FakeProcessingJob,
    FakeTrainingJob,
    SageMakerModelBackend,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import get_pipeline_execution_from_arn

from sagemaker_stack.local.container import LogSink
from sagemaker_stack.local.engine import (
    DEFAULT_MAX_PARALLEL_STEPS,
    JOB_KINDS,
    ExecutionContext,
    ExecutionRecord,
    ExecutionRun,
    JobKind,
)
from sagemaker_stack.local.image_store import Image, ImageStore
from sagemaker_stack.local.logs import CloudWatchLogSink
from sagemaker_stack.local.moto_fixes import before_reset, pipeline_named
from sagemaker_stack.local.pipeline_definition import (
    DefinitionError,
    PipelineSpec,
    parameter_values,
    parse_definition,
)
from sagemaker_stack.local.s3_objects import MotoObjectStore, ObjectStore
from sagemaker_stack.local.state_lock import STATE
from sagemaker_stack.local.step_image import RepositoryMissing, pull

#: Every execution the engine knows: running ones, and the records of those a restart brought back.
_runs: dict[str, ExecutionRun | ExecutionRecord] = {}
_runs_lock = threading.Lock()
_settings: dict[str, Any] = {}


def install(endpoint_url: str, work_root: Path, image_store: Path) -> None:
    """Patch moto in this process; `endpoint_url` is what step processes use to reach us."""
    _settings.update(endpoint_url=endpoint_url, work_root=work_root, image_store=image_store)
    if getattr(SageMakerModelBackend, "_sagemaker_stack_installed", False):
        return
    backend: Any = SageMakerModelBackend
    backend._sagemaker_stack_installed = True
    backend.create_pipeline = _wrap_create(backend.create_pipeline)
    backend.update_pipeline = _wrap_update(backend.update_pipeline)
    backend.start_pipeline_execution = _wrap_start(backend.start_pipeline_execution)
    backend.describe_pipeline_execution = _wrap_describe(backend.describe_pipeline_execution)
    backend.list_pipeline_executions = _wrap_list(backend.list_pipeline_executions)
    backend.list_pipeline_execution_steps = _list_steps
    backend.stop_pipeline_execution = _stop
    response: Any = SageMakerResponse
    response.list_pipeline_execution_steps = _list_steps_response
    response.stop_pipeline_execution = _stop_response
    before_reset(stop_all)


def stop_all(timeout: float = 15.0) -> None:
    """Stop every running execution and its step processes, and forget them all (reset)."""
    with _runs_lock:
        runs = [run for run in _runs.values() if isinstance(run, ExecutionRun)]
        _runs.clear()
    for run in runs:
        run.stop()
    for run in runs:
        run.kill(timeout)


def interrupt_all(cause: str, timeout: float = 15.0) -> None:
    """The emulator stops: running executions and their steps end Failed by `cause`, and are kept."""
    with _runs_lock:
        runs = [run for run in _runs.values() if isinstance(run, ExecutionRun)]
    for run in runs:
        run.interrupt(cause)
    for run in runs:
        run.kill(timeout)


def saved_executions() -> dict[str, dict[str, Any]]:
    """What the engine reports of every execution, for the snapshot (called while nothing changes)."""
    with _runs_lock:
        runs = dict(_runs)
    return {
        arn: (run.record() if isinstance(run, ExecutionRun) else run).saved() for arn, run in runs.items()
    }


def restore_executions(saved: dict[str, dict[str, Any]], cause: str) -> int:
    """Bring the saved executions back; those still going end Failed by `cause`. Returns how many did."""
    from moto.sagemaker.models import sagemaker_backends

    interrupted = 0
    for arn, data in saved.items():
        record = ExecutionRecord.from_saved(data)
        if record.status not in ("Succeeded", "Failed", "Stopped"):
            record = record.interrupted(cause)
            interrupted += 1
        with _runs_lock:
            _runs[arn] = record
        _, _, _, region, account, _ = arn.split(":", 5)
        backend: Any = sagemaker_backends[account][region]
        with contextlib.suppress(ValidationError):
            execution: Any = get_pipeline_execution_from_arn(backend.pipelines, arn)
            execution.pipeline_execution_status = record.status
            execution.pipeline_execution_failure_reason = record.failure_reason
            execution.last_modified_time = record.end_time or execution.last_modified_time
        recorder = MotoJobRecorder(backend)
        for step in record.steps.values():
            kind = next((kind for kind in JOB_KINDS.values() if kind.job_type == step.job_type), None)
            if (
                kind is not None
                and step.job_name
                and recorder.job_status(kind, step.job_name) == "InProgress"
            ):
                status = {"Succeeded": "Completed"}.get(step.status, step.status)
                recorder.job_ended(kind, step.job_name, status, step.failure_reason)
    return interrupted


def _checked(definition: Any, operation: str) -> PipelineSpec:
    try:
        return parse_definition(definition)
    except DefinitionError as error:
        raise ValidationError(f"PipelineDefinition is invalid ({operation}): {error}") from None


def _definition_from_s3(backend: Any, kwargs: dict[str, Any], operation: str) -> None:
    """Read `PipelineDefinitionS3Location` into `pipeline_definition`, as SageMaker does.

    moto reads the object too, but keeps the parsed JSON, which DescribePipeline would then return
    as an object; SageMaker stores (and describes) the definition's text. A missing object is a
    ValidationException naming the location.
    """
    location = kwargs.get("pipeline_definition_s3_location")
    if not location:
        return
    if kwargs.get("pipeline_definition"):
        raise ValidationError(
            f"{operation}: give PipelineDefinition or PipelineDefinitionS3Location, not both"
        )
    from moto.s3.models import s3_backends

    bucket, key = location.get("Bucket"), location.get("ObjectKey")
    try:
        stored: Any = s3_backends[backend.account_id][backend.partition].get_object(bucket, key)
        text = stored.value.decode("utf-8")
    except Exception:
        raise ValidationError(
            f"{operation}: cannot read the pipeline definition at s3://{bucket}/{key}"
        ) from None
    kwargs["pipeline_definition"] = text
    kwargs["pipeline_definition_s3_location"] = None


def _wrap_create(original: Any) -> Any:
    def create_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        _definition_from_s3(self, kwargs, "CreatePipeline")
        if kwargs.get("pipeline_definition"):
            _checked(kwargs["pipeline_definition"], "CreatePipeline")
        pipeline = original(self, *args, **kwargs)
        try:
            _checked(pipeline.pipeline_definition, "CreatePipeline")
        except ValidationError:
            del self.pipelines[pipeline.pipeline_name]
            raise
        return pipeline

    return create_pipeline


def _wrap_update(original: Any) -> Any:
    def update_pipeline(self: Any, pipeline_name: str, **kwargs: Any) -> Any:
        _definition_from_s3(self, kwargs, "UpdatePipeline")
        if kwargs.get("pipeline_definition"):
            _checked(kwargs["pipeline_definition"], "UpdatePipeline")
        return original(self, pipeline_name, **kwargs)

    return update_pipeline


def _wrap_start(original: Any) -> Any:
    def start_pipeline_execution(
        self: Any,
        pipeline_name: str,
        pipeline_execution_display_name: str,
        pipeline_parameters: list[dict[str, Any]],
        pipeline_execution_description: str,
        parallelism_configuration: dict[str, int],
        client_request_token: str,
    ) -> dict[str, str]:
        pipeline = pipeline_named(self.pipelines, pipeline_name)
        spec = _checked(pipeline.pipeline_definition, "StartPipelineExecution")
        try:
            values = parameter_values(spec, pipeline_parameters)
        except DefinitionError as error:
            raise ValidationError(f"StartPipelineExecution: {error}") from None
        response: dict[str, str] = original(
            self,
            pipeline_name,
            pipeline_execution_display_name,
            pipeline_parameters,
            pipeline_execution_description,
            parallelism_configuration,
            client_request_token,
        )
        arn = response["PipelineExecutionArn"]
        execution: FakePipelineExecution = pipeline.pipeline_executions[arn]
        execution.pipeline_execution_status = "Executing"
        parallelism = execution.parallelism_configuration or {}
        context = ExecutionContext(
            execution_arn=arn,
            pipeline_name=pipeline.pipeline_name,
            pipeline_arn=pipeline.arn,
            region=self.region_name,
            endpoint_url=_settings["endpoint_url"],
            work_root=_settings["work_root"],
            parameters=values,
            max_parallel_steps=int(
                parallelism.get("MaxParallelExecutionSteps") or DEFAULT_MAX_PARALLEL_STEPS
            ),
        )

        def on_change(run: ExecutionRun) -> None:
            with STATE.shared():
                execution.pipeline_execution_status = run.status
                execution.pipeline_execution_failure_reason = run.failure_reason  # type: ignore[assignment]
                execution.last_modified_time = datetime.now(UTC)

        run = ExecutionRun(spec, context, MotoJobRecorder(self), on_change)
        with _runs_lock:
            _runs[arn] = run
        run.start()
        return response

    return start_pipeline_execution


def _wrap_describe(original: Any) -> Any:
    def describe_pipeline_execution(self: Any, pipeline_execution_arn: str) -> dict[str, Any]:
        result: dict[str, Any] = original(self, pipeline_execution_arn)
        run = _runs.get(pipeline_execution_arn)
        result.pop("FailureReason", None)
        if run is not None:
            result["PipelineExecutionStatus"] = run.status
            if run.failure_reason:
                result["FailureReason"] = run.failure_reason
        return result

    return describe_pipeline_execution


def _wrap_list(original: Any) -> Any:
    def list_pipeline_executions(self: Any, pipeline_name: str) -> dict[str, Any]:
        result: dict[str, Any] = original(self, pipeline_name)
        summaries = result["PipelineExecutionSummaries"]
        for summary in summaries:
            run = _runs.get(summary["PipelineExecutionArn"])
            summary.pop("PipelineExecutionFailureReason", None)
            if run is not None:
                summary["PipelineExecutionStatus"] = run.status
                if run.failure_reason:
                    summary["PipelineExecutionFailureReason"] = run.failure_reason
        summaries.sort(key=lambda summary: summary["StartTime"], reverse=True)
        return result

    return list_pipeline_executions


def _list_steps(
    self: Any,
    pipeline_execution_arn: str,
    next_token: str | None = None,
    max_results: int | None = None,
    sort_order: str | None = None,
) -> dict[str, Any]:
    get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
    run = _runs.get(pipeline_execution_arn)
    steps = list(run.steps.values()) if run is not None else []
    steps.sort(key=lambda step: step.start_time, reverse=(sort_order or "Descending") == "Descending")
    try:
        start = int(next_token or 0)
    except ValueError:
        raise ValidationError(f"NextToken {next_token!r} is not one this API returned") from None
    size = int(max_results or 50)
    page = steps[start : start + size]
    entries = []
    for step in page:
        entry: dict[str, Any] = {
            "StepName": step.name,
            "StartTime": step.start_time,
            "StepStatus": step.status,
            "AttemptCount": step.attempt_count,
        }
        optional = {
            "StepDisplayName": step.display_name,
            "StepDescription": step.description,
            "EndTime": step.end_time,
            "FailureReason": step.failure_reason,
        }
        entry.update({key: value for key, value in optional.items() if value is not None})
        if step.job_type and step.job_arn:
            entry["Metadata"] = {step.job_type: {"Arn": step.job_arn}}
        entries.append(entry)
    result: dict[str, Any] = {"PipelineExecutionSteps": entries}
    if start + size < len(steps):
        result["NextToken"] = str(start + size)
    return result


def _stop(self: Any, pipeline_execution_arn: str, client_request_token: str | None = None) -> dict[str, str]:
    execution = get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
    run = _runs.get(pipeline_execution_arn)
    status = run.status if run is not None else execution.pipeline_execution_status
    if not isinstance(run, ExecutionRun) or status in ("Succeeded", "Failed"):
        raise ValidationError(
            f"Pipeline execution {pipeline_execution_arn} cannot be stopped: its status is {status}"
        )
    run.stop()
    return {"PipelineExecutionArn": pipeline_execution_arn}


def _list_steps_response(self: Any) -> ActionResult:
    return ActionResult(
        self.sagemaker_backend.list_pipeline_execution_steps(
            self._get_param("PipelineExecutionArn"),
            self._get_param("NextToken"),
            self._get_param("MaxResults"),
            self._get_param("SortOrder"),
        )
    )


def _stop_response(self: Any) -> ActionResult:
    return ActionResult(
        self.sagemaker_backend.stop_pipeline_execution(
            self._get_param("PipelineExecutionArn"), self._get_param("ClientRequestToken")
        )
    )


class MotoJobRecorder:
    """Records each step attempt as a moto processing/training job and opens its log stream."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def job_started(self, kind: JobKind, job_name: str, arguments: dict[str, Any]) -> str:
        with STATE.shared():
            return self._job_started(kind, job_name, arguments)

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
                # moto's job has no ProcessingResources (instance, volume, volume key): keep them.
                job.processing_resources = arguments.get("ProcessingResources")
                job.processing_job_status = "InProgress"
                job.processing_end_time = None
                job.processing_start_time = datetime.now(UTC)
            else:
                job = backend.create_training_job(
                    training_job_name=job_name,
                    hyper_parameters=arguments.get("HyperParameters") or {},
                    algorithm_specification=arguments.get("AlgorithmSpecification"),
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
                job.training_job_status = "InProgress"
                job.secondary_status = "Training"
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
                job.secondary_status = status
                job.training_end_time = now
                job.last_modified_time = now
                job.failure_reason = failure_reason

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
            store=ImageStore(_settings["image_store"]),
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
