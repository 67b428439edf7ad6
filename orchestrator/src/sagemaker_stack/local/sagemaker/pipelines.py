"""SageMaker Pipelines on moto, completed: definitions are checked, executions really run.

moto stores pipelines and marks every execution Succeeded at once; it has no
ListPipelineExecutionSteps or StopPipelineExecution. `Pipelines`, a part of the emulator's
SageMaker backend (models.SageMakerBackend, a subclass of moto's), extends moto's methods so that:
- CreatePipeline / UpdatePipeline / StartPipelineExecution reject a definition that is not JSON
  or names an unknown step with a ValidationException (the server keeps serving);
- a definition given as PipelineDefinitionS3Location is read from the emulated S3 and kept as
  text, so DescribePipeline returns it as SageMaker does;
- StartPipelineExecution hands the definition to the engine, and Describe/ListPipelineExecutions
  report the engine's status and failure reason;
- ListPipelineExecutionSteps and StopPipelineExecution exist;
- pipelines keep their versions, and an execution runs the version it was started with
  (pipeline_versions);
- DeletePipeline deletes the pipeline's executions with it, as SageMaker documents ("When you
  delete a pipeline, all instances of the pipeline are deleted"): running ones are stopped, and
  their records are neither answered nor saved any more;
- a pipeline that does not exist is AWS's ResourceNotFound (moto says ValidationException);
- moto's own reset (`POST /moto-api/reset`) also stops every running execution;
- the emulator's snapshot saves what the engine reports (`saved_executions`), a restart brings
  it back (`restore_executions`), and an execution the emulator's end cut off ends Failed.

The running executions live on the backend (`execution_runs`); they hold threads and step
processes, which cannot be pickled, so the backend's own pickle leaves them out (see
models.SageMakerBackend.__getstate__) and the snapshot saves what they report instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakePipelineExecution, SageMakerModelBackend
from moto.sagemaker.utils import get_pipeline_execution_from_arn, get_pipeline_name_from_execution_arn

from sagemaker_stack.local.sagemaker import pipeline_versions
from sagemaker_stack.local.sagemaker.engine import (
    DEFAULT_MAX_PARALLEL_STEPS,
    JOB_KINDS,
    ExecutionContext,
    ExecutionRecord,
    ExecutionRun,
)
from sagemaker_stack.local.sagemaker.job_recorder import MotoJobRecorder
from sagemaker_stack.local.sagemaker.moto_fixes import pipeline_named
from sagemaker_stack.local.sagemaker.paging import page, present
from sagemaker_stack.local.sagemaker.pipeline_definition import (
    DefinitionError,
    PipelineSpec,
    parameter_values,
    parse_definition,
)
from sagemaker_stack.local.sagemaker.standalone import JobSettings
from sagemaker_stack.local.state.lock import STATE


class Pipelines(SageMakerModelBackend):
    """The pipeline operations of the emulator's SageMaker backend (see the module's docstring)."""

    #: The server's endpoint and folders, the same for every account and region (set at start).
    settings: JobSettings

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        #: Every execution the engine knows: running ones, and the records a restart brought back.
        self.execution_runs: dict[str, ExecutionRun | ExecutionRecord] = {}
        self.execution_runs_lock = threading.Lock()

    # -- moto's operations, completed --------------------------------------------------------------
    def create_pipeline(self, *args: Any, **kwargs: Any) -> Any:
        _definition_from_s3(self, kwargs, "CreatePipeline")
        if kwargs.get("pipeline_definition"):
            _checked(kwargs["pipeline_definition"], "CreatePipeline")
        pipeline = super().create_pipeline(*args, **kwargs)
        try:
            _checked(pipeline.pipeline_definition, "CreatePipeline")
        except ValidationError:
            del self.pipelines[pipeline.pipeline_name]
            raise
        return pipeline

    def update_pipeline(self, pipeline_name: str, **kwargs: Any) -> str:
        pipeline_named(self.pipelines, pipeline_name)
        _definition_from_s3(self, kwargs, "UpdatePipeline")
        if kwargs.get("pipeline_definition"):
            _checked(kwargs["pipeline_definition"], "UpdatePipeline")
        return super().update_pipeline(pipeline_name, **kwargs)

    def describe_pipeline(self, pipeline_name: str) -> dict[str, Any]:
        pipeline_named(self.pipelines, pipeline_name)
        return super().describe_pipeline(pipeline_name)

    def start_pipeline_execution(
        self,
        pipeline_name: str,
        pipeline_execution_display_name: str,
        pipeline_parameters: list[dict[str, Any]],
        pipeline_execution_description: str,
        parallelism_configuration: dict[str, int],
        client_request_token: str,
        pipeline_version_id: int | None = None,
    ) -> dict[str, str]:
        pipeline = pipeline_named(self.pipelines, pipeline_name)
        version = pipeline_versions.version_of(pipeline, pipeline_version_id)
        spec = _checked(version.definition, "StartPipelineExecution")
        try:
            values = parameter_values(spec, pipeline_parameters)
        except DefinitionError as error:
            raise ValidationError(f"StartPipelineExecution: {error}") from None
        response: dict[str, str] = super().start_pipeline_execution(
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
        execution.pipeline_definition_for_execution = version.definition
        execution.pipeline_version_id = version.version_id  # type: ignore[attr-defined]
        version.last_execution_arn = arn
        parallelism = execution.parallelism_configuration or {}
        context = ExecutionContext(
            execution_arn=arn,
            pipeline_name=pipeline.pipeline_name,
            pipeline_arn=pipeline.arn,
            region=self.region_name,
            endpoint_url=self.settings.endpoint_url,
            work_root=self.settings.work_root,
            parameters=values,
            max_parallel_steps=int(
                parallelism.get("MaxParallelExecutionSteps") or DEFAULT_MAX_PARALLEL_STEPS
            ),
            startup=self.settings.startup,
        )

        def on_change(run: ExecutionRun) -> None:
            with STATE.shared():
                execution.pipeline_execution_status = run.status
                execution.pipeline_execution_failure_reason = run.failure_reason  # type: ignore[assignment]
                # An ended run's time is its end time, the one a restored execution gets back.
                execution.last_modified_time = run.end_time or datetime.now(UTC)

        run = ExecutionRun(spec, context, MotoJobRecorder(self, self.settings.image_store), on_change)
        with self.execution_runs_lock:
            self.execution_runs[arn] = run
        run.start()
        return response

    def describe_pipeline_execution(self, pipeline_execution_arn: str) -> dict[str, Any]:
        execution = _execution(self, pipeline_execution_arn)
        result: dict[str, Any] = super().describe_pipeline_execution(pipeline_execution_arn)
        run = self.execution_runs.get(pipeline_execution_arn)
        result.pop("FailureReason", None)
        version_id = getattr(execution, "pipeline_version_id", None)
        if version_id is not None:
            result["PipelineVersionId"] = version_id
        if run is not None:
            result["PipelineExecutionStatus"] = run.status
            if run.failure_reason:
                result["FailureReason"] = run.failure_reason
        return result

    def describe_pipeline_definition_for_execution(self, pipeline_execution_arn: str) -> dict[str, Any]:
        _execution(self, pipeline_execution_arn)
        return super().describe_pipeline_definition_for_execution(pipeline_execution_arn)

    def list_pipeline_parameters_for_execution(self, pipeline_execution_arn: str) -> dict[str, Any]:
        _execution(self, pipeline_execution_arn)
        return super().list_pipeline_parameters_for_execution(pipeline_execution_arn)

    def list_pipeline_executions(self, pipeline_name: str) -> dict[str, Any]:
        pipeline_named(self.pipelines, pipeline_name)
        result: dict[str, Any] = super().list_pipeline_executions(pipeline_name)
        summaries = result["PipelineExecutionSummaries"]
        for summary in summaries:
            run = self.execution_runs.get(summary["PipelineExecutionArn"])
            summary.pop("PipelineExecutionFailureReason", None)
            if run is not None:
                summary["PipelineExecutionStatus"] = run.status
                if run.failure_reason:
                    summary["PipelineExecutionFailureReason"] = run.failure_reason
        summaries.sort(key=lambda summary: summary["StartTime"], reverse=True)
        return result

    def delete_pipeline(self, pipeline_name: str) -> str:
        pipeline = pipeline_named(self.pipelines, pipeline_name)
        arn: str = super().delete_pipeline(pipeline_name)
        with self.execution_runs_lock:
            runs = [self.execution_runs.pop(execution, None) for execution in pipeline.pipeline_executions]
        for run in runs:
            if isinstance(run, ExecutionRun):
                run.stop()
        return arn

    # -- what moto lacks --------------------------------------------------------------------------
    def list_pipeline_execution_steps(
        self,
        pipeline_execution_arn: str,
        next_token: str | None = None,
        max_results: int | None = None,
        sort_order: str | None = None,
    ) -> dict[str, Any]:
        _execution(self, pipeline_execution_arn)
        run = self.execution_runs.get(pipeline_execution_arn)
        steps = list(run.steps.values()) if run is not None else []
        steps.sort(key=lambda step: step.start_time, reverse=(sort_order or "Descending") == "Descending")
        listed, following = page(steps, next_token, max_results, 50)
        entries = []
        for step in listed:
            entry = present(
                {
                    "StepName": step.name,
                    "StartTime": step.start_time,
                    "StepStatus": step.status,
                    "AttemptCount": step.attempt_count,
                },
                {
                    "StepDisplayName": step.display_name,
                    "StepDescription": step.description,
                    "EndTime": step.end_time,
                    "FailureReason": step.failure_reason,
                },
            )
            if step.job_type and step.job_arn:
                entry["Metadata"] = {step.job_type: {"Arn": step.job_arn}}
            entries.append(entry)
        result: dict[str, Any] = {"PipelineExecutionSteps": entries}
        if following:
            result["NextToken"] = following
        return result

    def stop_pipeline_execution(
        self, pipeline_execution_arn: str, client_request_token: str | None = None
    ) -> dict[str, str]:
        execution = _execution(self, pipeline_execution_arn)
        run = self.execution_runs.get(pipeline_execution_arn)
        status = run.status if run is not None else execution.pipeline_execution_status
        if not isinstance(run, ExecutionRun) or status in ("Succeeded", "Failed"):
            raise ValidationError(
                f"Pipeline execution {pipeline_execution_arn} cannot be stopped: its status is {status}"
            )
        run.stop()
        return {"PipelineExecutionArn": pipeline_execution_arn}

    # -- the emulator's life ----------------------------------------------------------------------
    def running_executions(self) -> list[ExecutionRun]:
        with self.execution_runs_lock:
            return [run for run in self.execution_runs.values() if isinstance(run, ExecutionRun)]


def _backends() -> list[Pipelines]:
    from moto.sagemaker.models import sagemaker_backends

    return [backend for _, _, backend in sagemaker_backends.iter_backends() if isinstance(backend, Pipelines)]


def stop_all(timeout: float = 15.0) -> None:
    """Stop every running execution and its step processes, and forget them all (reset)."""
    runs: list[ExecutionRun] = []
    for backend in _backends():
        runs += backend.running_executions()
        with backend.execution_runs_lock:
            backend.execution_runs.clear()
    for run in runs:
        run.stop()
    for run in runs:
        run.kill(timeout)


def interrupt_all(cause: str, timeout: float = 15.0) -> None:
    """The emulator stops: running executions and their steps end Failed by `cause`, and are kept."""
    runs = [run for backend in _backends() for run in backend.running_executions()]
    for run in runs:
        run.interrupt(cause)
    for run in runs:
        run.kill(timeout)


def saved_executions() -> dict[str, dict[str, Any]]:
    """What the engine reports of every execution, for the snapshot (called while nothing changes)."""
    saved: dict[str, dict[str, Any]] = {}
    for backend in _backends():
        with backend.execution_runs_lock:
            runs = dict(backend.execution_runs)
        for arn, run in runs.items():
            saved[arn] = (run.record() if isinstance(run, ExecutionRun) else run).saved()
    return saved


@dataclass(frozen=True)
class Restored:
    """What `restore_executions` found."""

    #: Still running when the emulator ended: now Failed.
    interrupted: int = 0
    #: Records of executions SageMaker no longer has (their pipeline was deleted): dropped.
    dropped: int = 0


def restore_executions(saved: dict[str, dict[str, Any]], cause: str) -> Restored:
    """Bring the saved executions back; those still going end Failed by `cause`.

    A record whose execution the restored SageMaker state does not hold (its pipeline was
    deleted; a snapshot written before DeletePipeline forgot them holds such records) is dropped,
    as DeletePipeline deletes a pipeline's executions: keeping it would answer for an execution
    that DescribePipelineExecution says does not exist.
    """
    from moto.sagemaker.models import sagemaker_backends

    interrupted = dropped = 0
    for arn, data in saved.items():
        _, _, _, region, account, _ = arn.split(":", 5)
        backend: Any = sagemaker_backends[account][region]
        pipeline = backend.pipelines.get(arn.split("/")[1])
        execution: Any = None if pipeline is None else pipeline.pipeline_executions.get(arn)
        if execution is None:
            dropped += 1
            continue
        record = ExecutionRecord.from_saved(data)
        if record.status not in ("Succeeded", "Failed", "Stopped"):
            record = record.interrupted(cause)
            interrupted += 1
        with backend.execution_runs_lock:
            backend.execution_runs[arn] = record
        execution.pipeline_execution_status = record.status
        execution.pipeline_execution_failure_reason = record.failure_reason
        execution.last_modified_time = record.end_time or execution.last_modified_time
        recorder = MotoJobRecorder(backend, backend.settings.image_store)
        for step in record.steps.values():
            kind = next((kind for kind in JOB_KINDS.values() if kind.job_type == step.job_type), None)
            if (
                kind is not None
                and step.job_name
                and recorder.job_status(kind, step.job_name) == "InProgress"
            ):
                status = {"Succeeded": "Completed"}.get(step.status, step.status)
                recorder.job_ended(kind, step.job_name, status, step.failure_reason)
    return Restored(interrupted, dropped)


def _execution(backend: Any, pipeline_execution_arn: str) -> Any:
    """The execution, AWS's ResourceNotFound if its pipeline does not exist (moto: Validation)."""
    pipeline_named(backend.pipelines, get_pipeline_name_from_execution_arn(pipeline_execution_arn))
    return get_pipeline_execution_from_arn(backend.pipelines, pipeline_execution_arn)


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
