"""The `sagemaker_pipelines` orchestrator: one SageMaker pipeline per ZenML pipeline.

Submitting a run builds a PipelineSpec from ZenML's snapshot (`snapshot_spec`), checks it against
SageMaker's limits before any AWS call (`validation`), renders the definition (`definition`),
upserts the SageMaker pipeline named after the ZenML pipeline and starts one execution
(`execution`): DescribePipeline, CreatePipeline or UpdatePipeline, StartPipelineExecution — the
same three calls for one step or five hundred.

Each step's `--snapshot_id` reads the definition's `ZenMLSnapshotId` parameter, which the
execution (or the EventBridge schedule that starts it) sets: a run never repoints another
schedule of the same pipeline at its snapshot.

ZenML identifies a run inside each step by `get_orchestrator_run_id()`: the SageMaker execution
ARN, which exists only once the execution starts, so the definition sets it per step as
`{"Get": "Execution.PipelineExecutionArn"}` and SageMaker fills it in. The submission metadata
carries the same ARN, which is how `fetch_status` still finds the execution when no step ever
reached ZenML (a step whose process died on import leaves the ZenML run in `provisioning`; the
execution status reports it failed).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, cast

from zenml.constants import (
    METADATA_ORCHESTRATOR_LOGS_URL,
    METADATA_ORCHESTRATOR_RUN_ID,
    METADATA_ORCHESTRATOR_URL,
)
from zenml.enums import ExecutionStatus, StackComponentType
from zenml.logger import get_logger
from zenml.metadata.metadata_types import MetadataType, Uri
from zenml.orchestrators import ContainerizedOrchestrator, SubmissionResult
from zenml.stack import StackValidator

from sagemaker_stack import aws, execution
from sagemaker_stack.entrypoint import ENV_EXECUTION_ARN
from sagemaker_stack.flavor import (
    SagemakerPipelinesOrchestratorConfig,
    SagemakerPipelinesOrchestratorSettings,
)

if TYPE_CHECKING:
    from uuid import UUID

    from zenml.models import PipelineRunResponse, PipelineSnapshotResponse, ScheduleResponse, ScheduleUpdate
    from zenml.stack import Stack

logger = get_logger(__name__)

#: Run metadata keys (besides ZenML's orchestrator_run_id / _url / _logs_url).
METADATA_EXECUTION_ARN = "pipeline_execution_arn"
METADATA_PIPELINE_NAME = "sagemaker_pipeline_name"
METADATA_STEP_NAMES = "sagemaker_step_names"  # SageMaker step name -> ZenML step name
METADATA_STEP_LOG_URLS = "step_log_urls"  # ZenML step name -> CloudWatch link

#: ZenML's connection variables: replaced in the step by what the stack's secret holds.
_ZENML_CONNECTION_VARIABLES = frozenset({"ZENML_STORE_URL", "ZENML_STORE_API_TOKEN", "ZENML_STORE_API_KEY"})

#: Seconds between polls while a synchronous run is watched (SAGEMAKER_STACK_POLL_SECONDS overrides).
DEFAULT_POLL_SECONDS = 10.0

_EXECUTION_STATUS = {
    "Executing": ExecutionStatus.RUNNING,
    "Stopping": ExecutionStatus.STOPPING,
    "Stopped": ExecutionStatus.STOPPED,
    "Failed": ExecutionStatus.FAILED,
    "Succeeded": ExecutionStatus.COMPLETED,
}
#: ZenML run statuses in which no step has claimed the (placeholder) run yet.
_UNCLAIMED_RUN_STATUSES = frozenset({ExecutionStatus.INITIALIZING, ExecutionStatus.PROVISIONING})
_STEP_STATUS = {
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


class SagemakerPipelinesOrchestrator(ContainerizedOrchestrator):
    """Runs each ZenML pipeline as one SageMaker pipeline, updated in place, one execution per run."""

    @property
    def config(self) -> SagemakerPipelinesOrchestratorConfig:
        return cast(SagemakerPipelinesOrchestratorConfig, self._config)

    @property
    def settings_class(self) -> type[SagemakerPipelinesOrchestratorSettings]:
        return SagemakerPipelinesOrchestratorSettings

    @property
    def validator(self) -> StackValidator | None:
        def remote_artifact_store(stack: Stack) -> tuple[bool, str]:
            if stack.artifact_store.config.is_local:
                return False, (
                    f"the sagemaker_pipelines orchestrator runs steps on SageMaker, which cannot reach the "
                    f"local artifact store {stack.artifact_store.name!r}: use the stack's S3 artifact store"
                )
            return True, ""

        return StackValidator(custom_validation_function=remote_artifact_store)

    # -- inside a step ---------------------------------------------------------------------------

    def get_orchestrator_run_id(self) -> str:
        """The SageMaker execution ARN, the same for every step of a run."""
        arn = os.environ.get(ENV_EXECUTION_ARN)
        if not arn:
            raise RuntimeError(
                f"{ENV_EXECUTION_ARN} is not set: this code is not running in a step submitted by the "
                "sagemaker_pipelines orchestrator"
            )
        return arn

    def get_pipeline_run_metadata(self, run_id: UUID) -> dict[str, MetadataType]:
        """Links for runs created from a step (scheduled runs have no placeholder run)."""
        arn = os.environ.get(ENV_EXECUTION_ARN)
        if not arn:
            return {}
        pipeline_name = _pipeline_name_of(arn)
        return {
            METADATA_EXECUTION_ARN: arn,
            METADATA_ORCHESTRATOR_RUN_ID: arn,
            METADATA_ORCHESTRATOR_URL: Uri(execution.console_url(self._region, pipeline_name, arn)),
        }

    # -- submission ----------------------------------------------------------------------------

    def submit_pipeline(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        base_environment: dict[str, str],
        step_environments: dict[str, dict[str, str]],
        placeholder_run: PipelineRunResponse | None = None,
    ) -> SubmissionResult | None:
        """Upsert the SageMaker pipeline and start one execution; never more than three API calls."""
        from sagemaker_stack import snapshot_spec

        pipeline_settings = cast(SagemakerPipelinesOrchestratorSettings, self.get_settings(snapshot))
        built = snapshot_spec.build(
            snapshot=snapshot,
            config=self.config,
            pipeline_settings=pipeline_settings,
            step_settings={
                name: cast(SagemakerPipelinesOrchestratorSettings, self.get_settings(step))
                for name, step in snapshot.step_configurations.items()
            },
            images={
                name: self.get_image(snapshot=snapshot, step_name=name)
                for name in snapshot.step_configurations
            },
            step_environments=step_environments,
        )
        for key in built.stripped_environment:
            if key in _ZENML_CONNECTION_VARIABLES:
                logger.debug("Not passing %s to SageMaker: steps read it from the stack's secret.", key)
            else:
                logger.warning(
                    "Not passing environment variable %s to SageMaker: it looks like a secret, and anyone "
                    "allowed to describe the pipeline could read it. Use a ZenML secret instead.",
                    key,
                )

        if snapshot.schedule:
            return self._submit_schedule(snapshot, built)

        sagemaker = self._client("sagemaker")
        run_name = placeholder_run.name if placeholder_run else snapshot.pipeline_configuration.name
        submission = execution.submit(
            sagemaker,
            name=built.sagemaker_pipeline_name,
            definition=built.definition_json,
            role_arn=self.config.execution_role_arn,
            description=built.description,
            tags=built.tags,
            display_name=execution.display_name(run_name),
            max_parallel_steps=built.max_parallel_steps,
            client_token=str(placeholder_run.id) if placeholder_run else None,
            parameters=built.pipeline_parameters,
        )
        verb = "Created" if submission.created else "Updated"
        logger.info("%s SageMaker pipeline %s.", verb, built.sagemaker_pipeline_name)
        metadata = self._run_metadata(built, submission.execution_arn)
        logger.info(
            "Started SageMaker execution %s: %s",
            submission.execution_arn,
            metadata[METADATA_ORCHESTRATOR_URL],
        )

        wait = None
        if pipeline_settings.synchronous:
            run_id = placeholder_run.id if placeholder_run else None

            def wait() -> None:
                self._wait(submission.execution_arn, built, run_id)

        return SubmissionResult(wait_for_completion=wait, metadata=metadata)

    def _submit_schedule(self, snapshot: PipelineSnapshotResponse, built: Any) -> SubmissionResult | None:
        """Check the schedule, upsert the pipeline, then create or update its EventBridge schedule.

        A bad schedule (cron AWS cannot express, an interval under a minute, a stack without a
        scheduler role, ...) is refused before any AWS call.
        """
        from sagemaker_stack import schedules

        schedules.check_snapshot(orchestrator=self, snapshot=snapshot)
        pipeline_arn, _ = execution.upsert_pipeline(
            self._client("sagemaker"),
            name=built.sagemaker_pipeline_name,
            definition=built.definition_json,
            role_arn=self.config.execution_role_arn,
            description=built.description,
            tags=built.tags,
        )
        # The schedule carries its own snapshot id: a later run that updates the pipeline in place
        # changes the definition's default, never what this schedule starts.
        result = schedules.submit_schedule(
            orchestrator=self,
            snapshot=snapshot,
            pipeline_arn=pipeline_arn,
            spec=built,
            pipeline_parameters=built.pipeline_parameters,
        )
        return cast(SubmissionResult | None, result)

    def update_schedule(self, schedule: ScheduleResponse, update: ScheduleUpdate) -> None:
        """`zenml pipeline schedule update`: change the EventBridge schedule in place."""
        from sagemaker_stack import schedules

        schedules.update_from_zenml(self.config, schedule, update)

    def delete_schedule(self, schedule: ScheduleResponse) -> None:
        """`zenml pipeline schedule delete`: delete its EventBridge schedule (no-op if already gone)."""
        from sagemaker_stack import schedules

        schedules.delete_for_zenml(self.config, schedule)

    def _run_metadata(self, built: Any, execution_arn: str) -> dict[str, MetadataType]:
        region = self._region
        step_urls = execution.step_log_urls(
            region, execution_arn, built.step_names.values(), built.use_training
        )
        return {
            METADATA_ORCHESTRATOR_RUN_ID: execution_arn,
            METADATA_EXECUTION_ARN: execution_arn,
            METADATA_PIPELINE_NAME: built.sagemaker_pipeline_name,
            METADATA_ORCHESTRATOR_URL: Uri(
                execution.console_url(region, built.sagemaker_pipeline_name, execution_arn)
            ),
            METADATA_ORCHESTRATOR_LOGS_URL: Uri(
                execution.logs_url(
                    region,
                    execution.TRAINING_LOG_GROUP
                    if all(built.use_training.values())
                    else execution.PROCESSING_LOG_GROUP,
                    f"pipelines-{execution.execution_id(execution_arn)}",
                )
            ),
            METADATA_STEP_NAMES: {sm: zenml for zenml, sm in built.step_names.items()},
            METADATA_STEP_LOG_URLS: {zenml: step_urls[sm] for zenml, sm in built.step_names.items()},
        }

    def _wait(self, execution_arn: str, built: Any, run_id: UUID | None) -> None:
        """Show progress until the execution ends; a failure names the step and its log tail."""
        logger.info("Waiting for SageMaker execution %s (Ctrl+C stops watching, not the run).", execution_arn)
        interval = float(os.environ.get("SAGEMAKER_STACK_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        sagemaker = self._client("sagemaker")
        state = execution.watch(
            sagemaker,
            execution_arn,
            total_steps=len(built.step_names),
            report=lambda line: logger.info("SageMaker execution %s", line),
            interval=interval,
        )
        if run_id is not None:
            _refresh_zenml_run(run_id)
        if state.status == "Succeeded":
            logger.info("SageMaker execution succeeded.")
            return
        zenml_names = {sm: zenml for zenml, sm in built.step_names.items()}
        failed = [step for step in state.steps if step.status == "Failed"]
        if state.status == "Stopped" and not failed:
            raise RuntimeError(f"SageMaker execution {execution_arn} was stopped.")
        logs = self._client("logs")
        lines = [f"SageMaker execution {execution_arn} ended {state.status}."]
        for step in failed:
            name = zenml_names.get(step.name, step.name)
            lines.append(f"Step {name!r} failed: {step.failure_reason or 'no reason given'}")
            tail = execution.log_tail(logs, step)
            if tail:
                lines.append(f"Last lines of its log ({step.job_name}):")
                lines.extend(f"  {line}" for line in tail)
        if not failed and state.failure_reason:
            lines.append(state.failure_reason)
        message = "\n".join(lines)
        logger.error(message)
        raise RuntimeError(message)

    # -- status and stop -----------------------------------------------------------------------

    def fetch_status(
        self, run: PipelineRunResponse, include_steps: bool = False
    ) -> tuple[ExecutionStatus | None, dict[str, ExecutionStatus] | None]:
        """The run's status from SageMaker, and with `include_steps` each ZenML step's status."""
        arn = _execution_arn_of(run)
        if arn is None:
            raise ValueError(
                f"run {run.name!r} has no SageMaker execution ARN in its metadata: it was not started by "
                "the sagemaker_pipelines orchestrator, or its submission failed"
            )
        state = execution.describe(self._client("sagemaker"), arn, include_steps=include_steps)
        status: ExecutionStatus | None = execution_status(state.status)
        if status is ExecutionStatus.RUNNING and getattr(run, "status", None) in _UNCLAIMED_RUN_STATUSES:
            # The first step claims ZenML's placeholder run only while it is initializing or
            # provisioning; marking it running before that (a refresh right after an async
            # submit) would make the steps start a second run. Only an end is worth reporting.
            status = None
        if not include_steps:
            return status, None
        names = _step_names_of(run)
        steps = {names.get(step.name, step.name): step_status(step.status) for step in state.steps}
        return status, steps

    def _stop_run(self, run: PipelineRunResponse, graceful: bool = False) -> None:
        """StopPipelineExecution; SageMaker stops running jobs and starts no more (graceful or not)."""
        arn = _execution_arn_of(run)
        if arn is None:
            raise ValueError(f"run {run.name!r} has no SageMaker execution ARN: nothing to stop")
        execution.stop_execution(self._client("sagemaker"), arn)
        logger.info("Asked SageMaker to stop execution %s.", arn)

    # -- helpers -------------------------------------------------------------------------------

    @property
    def _region(self) -> str:
        return str(self.config.region)

    def _client(self, service: str) -> Any:
        return aws.client(service, region=self.config.region, endpoint_url=self.config.endpoint_url)


def _execution_arn_of(run: PipelineRunResponse) -> str | None:
    metadata = run.run_metadata or {}
    for key in (METADATA_EXECUTION_ARN, METADATA_ORCHESTRATOR_RUN_ID):
        value = metadata.get(key)
        if isinstance(value, str) and ":pipeline/" in value:
            return value
    if run.orchestrator_run_id and ":pipeline/" in run.orchestrator_run_id:
        return str(run.orchestrator_run_id)
    return None


def _step_names_of(run: PipelineRunResponse) -> dict[str, str]:
    value = (run.run_metadata or {}).get(METADATA_STEP_NAMES)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _pipeline_name_of(execution_arn: str) -> str:
    # arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>
    resource = execution_arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) > 1 else resource


def _refresh_zenml_run(run_id: UUID) -> None:
    """Bring the ZenML run's status in line with SageMaker's once the execution ended.

    Needed when a step died before ZenML's code ran: nothing else would move the run out of
    `provisioning`. Best effort: the watch result is reported either way.
    """
    try:
        from zenml.client import Client
        from zenml.utils.run_utils import refresh_run_status

        run = Client().get_pipeline_run(run_id)
        if run.stack is not None and run.stack.components.get(StackComponentType.ORCHESTRATOR):
            refresh_run_status(run, include_step_updates=True)
    except Exception as error:
        logger.debug("Could not refresh the ZenML run's status: %s", error)
