"""Dynamic pipelines (`@pipeline(dynamic=True)`): an orchestration job and standalone jobs.

SageMaker Pipelines runs a fixed DAG; a dynamic pipeline decides its steps while it runs. So, as
ZenML 0.98 defines it (`submit_dynamic_pipeline`, `submit_isolated_step`,
`get_isolated_step_status`, `stop_isolated_step` of its base orchestrator), a dynamic run is:
- one **orchestration job**, a standalone SageMaker processing job that runs ZenML's dynamic
  runner (the pipeline function) behind our step entrypoint, so it reads the ZenML credentials
  from the stack's secret like any step; **inline** steps run inside it;
- one standalone job per **isolated** step (`runtime="isolated"`, its own ResourceSettings or
  Docker settings), submitted by the runner from inside the orchestration job.

Why a processing job for the orchestration job, whatever `use_training_step` says: it mostly
waits on the ZenML server and on other jobs, and a processing job takes the smallest, cheapest
types (`ml.t3.medium`, which training jobs do not offer) and needs no model output; a step that
wants a training job runs isolated with `use_training_step=True`. Its instance type is the
pipeline's `instance_type` setting (inline steps run on it), else `ml.t3.medium`.

Every request comes from the code a pipeline step's does (`dynamic_spec`), and is checked before
any AWS call: at submission the orchestration job and every step the snapshot knows as an
isolated job would be (all problems at once, each naming the step), then each isolated job again
when the runner submits it. Stopping a dynamic run stops its orchestration job, then every
isolated job of the run still going.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from zenml.enums import ExecutionStatus, StackComponentType
from zenml.logger import get_logger
from zenml.orchestrators import ContainerizedOrchestrator, SubmissionResult

from sagemaker_stack import aws
from sagemaker_stack.flavor import (
    SagemakerPipelinesOrchestratorConfig,
    SagemakerPipelinesOrchestratorSettings,
)
from sagemaker_stack.orchestrator import (
    dynamic_spec,
    execution,
    run_cost_record,
    run_metadata,
    standalone_jobs,
)
from sagemaker_stack.orchestrator.dynamic_spec import JobTemplate
from sagemaker_stack.orchestrator.spec import InvalidPipelineError
from sagemaker_stack.orchestrator.standalone_jobs import JobRef
from sagemaker_stack.service_connector import connector_session
from sagemaker_stack.step.entrypoint import ENV_ORCHESTRATION_JOB
from sagemaker_stack.user_errors import UserError, WatchInterrupted

if TYPE_CHECKING:
    from uuid import UUID

    from zenml.config.step_run_info import StepRunInfo
    from zenml.models import PipelineRunResponse, PipelineSnapshotResponse, StepRunResponse
    from zenml.stack import Stack

logger = get_logger(__name__)

#: What messages call the orchestration job where they would name a step.
ORCHESTRATION_JOB_LABEL = "orchestration job"


class RunStopped(UserError):
    """The watched run was stopped (`zenml pipeline runs stop`, the console): said in one line."""


class DynamicRunOrchestrator(ContainerizedOrchestrator):
    """The dynamic-pipeline half of the sagemaker_pipelines orchestrator (the class is glue)."""

    @property
    def config(self) -> SagemakerPipelinesOrchestratorConfig:
        return cast(SagemakerPipelinesOrchestratorConfig, self._config)

    # -- submission ----------------------------------------------------------------------------

    def submit_dynamic_pipeline(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        environment: dict[str, str],
        placeholder_run: PipelineRunResponse | None = None,
    ) -> SubmissionResult | None:
        """Check every job the run may start, then create its orchestration job: one AWS call."""
        pipeline_name = str(snapshot.pipeline_configuration.name)
        if snapshot.schedule:
            raise InvalidPipelineError(
                ["dynamic pipelines cannot be scheduled (ZenML 0.98 runs them only on demand)"], pipeline_name
            )
        settings = cast(SagemakerPipelinesOrchestratorSettings, self.get_settings(snapshot))
        orchestration = self._orchestration_template(snapshot, settings, environment, placeholder_run)
        dynamic_spec.check_all([orchestration, *self._step_templates(snapshot)], self.config, pipeline_name)
        built = dynamic_spec.build_job(orchestration, self.config, pipeline_name)
        self._tell(built)
        arn = standalone_jobs.create(self._client("sagemaker"), built.ref, built.request)
        metadata = run_metadata.orchestration_job(self._region, built.ref, arn)
        logger.info(
            "Started the orchestration job %s of dynamic pipeline %s: %s",
            built.ref.name,
            pipeline_name,
            metadata[run_metadata.METADATA_ORCHESTRATOR_URL],
        )
        if placeholder_run is not None and placeholder_run.orchestrator_run_id:
            # A resumed run: ZenML publishes no metadata for it, and stop/status need the new job.
            _publish_run_metadata(placeholder_run.id, self.id, metadata)
        wait = None
        if settings.synchronous:
            run_id = placeholder_run.id if placeholder_run else None

            def wait() -> None:
                self._wait_for_job(built.ref, run_id, settings.max_watch_outage_in_seconds)

        return SubmissionResult(wait_for_completion=wait, metadata=metadata)

    def _orchestration_template(
        self,
        snapshot: PipelineSnapshotResponse,
        settings: SagemakerPipelinesOrchestratorSettings,
        environment: Mapping[str, str],
        placeholder_run: PipelineRunResponse | None,
    ) -> JobTemplate:
        from sagemaker_stack.step.configuration import SagemakerStackDynamicPipelineConfiguration as Entry

        try:
            image = self.get_image(snapshot=snapshot)
        except KeyError:  # every step has its own build: any of them holds ZenML and this package
            image = self.get_image(snapshot=snapshot, step_name=next(iter(snapshot.step_configurations)))
        name = standalone_jobs.job_name(
            self.config.resource_prefix, str(snapshot.pipeline_configuration.name)
        )
        return JobTemplate(
            step_name=ORCHESTRATION_JOB_LABEL,
            job_name=name,
            image=image,
            command=Entry.get_entrypoint_command(),
            arguments=Entry.get_entrypoint_arguments(
                snapshot_id=snapshot.id, run_id=placeholder_run.id if placeholder_run else None
            ),
            settings=settings.model_copy(update={"use_training_step": False}),
            parent_image=snapshot.pipeline_configuration.docker_settings.parent_image,
            zenml_environment=environment,
            extra_environment={ENV_ORCHESTRATION_JOB: name},
        )

    def _step_templates(self, snapshot: PipelineSnapshotResponse) -> list[JobTemplate]:
        """Each step the snapshot knows, as its isolated job would be (checked before any call)."""
        placeholder = str(uuid.UUID(int=0))
        return [
            self._step_template(
                step_name=name,
                pipeline_name=str(snapshot.pipeline_configuration.name),
                snapshot_id=snapshot.id,
                config=step.config,
                settings=cast(SagemakerPipelinesOrchestratorSettings, self.get_settings(step)),
                image=self._step_image(snapshot, name),
                step_run_id=placeholder,
                environment={},
            )
            for name, step in snapshot.step_configurations.items()
        ]

    def _step_image(self, snapshot: PipelineSnapshotResponse, step_name: str) -> str:
        """The step's own image, else the pipeline's (what the runner hands an isolated step)."""
        try:
            return self.get_image(snapshot=snapshot, step_name=step_name)
        except KeyError:
            return self.get_image(snapshot=snapshot)

    def _step_template(
        self,
        *,
        step_name: str,
        pipeline_name: str,
        snapshot_id: UUID,
        config: Any,
        settings: SagemakerPipelinesOrchestratorSettings,
        image: str,
        step_run_id: str,
        environment: Mapping[str, str],
    ) -> JobTemplate:
        from zenml.orchestrators.utils import get_step_entrypoint_command

        from sagemaker_stack.step.configuration import SagemakerStackIsolatedStepConfiguration

        command, arguments = get_step_entrypoint_command(
            invocation_id=step_name,
            config=config,
            entrypoint_config_class=SagemakerStackIsolatedStepConfiguration,
            snapshot_id=snapshot_id,
            step_run_id=step_run_id,
        )
        return JobTemplate(
            step_name=step_name,
            job_name=standalone_jobs.job_name(self.config.resource_prefix, pipeline_name, step_name),
            image=image,
            command=command,
            arguments=arguments,
            settings=settings,
            resource_settings=config.resource_settings,
            parent_image=config.docker_settings.parent_image,
            zenml_environment=environment,
        )

    def submit_isolated_step(self, step_run_info: StepRunInfo, environment: dict[str, str]) -> None:
        """Create the step's standalone job (checked first) and record it on the step run."""
        from zenml.constants import ORCHESTRATOR_DOCKER_IMAGE_KEY

        template = self._step_template(
            step_name=step_run_info.pipeline_step_name,
            pipeline_name=str(step_run_info.pipeline.name),
            snapshot_id=step_run_info.snapshot.id,
            config=step_run_info.config,
            settings=cast(SagemakerPipelinesOrchestratorSettings, self.get_settings(step_run_info)),
            image=step_run_info.get_image(key=ORCHESTRATOR_DOCKER_IMAGE_KEY),
            step_run_id=str(step_run_info.step_run_id),
            environment=environment,
        )
        built = dynamic_spec.build_job(template, self.config, str(step_run_info.pipeline.name))
        self._tell(built)
        arn = standalone_jobs.create(self._client("sagemaker"), built.ref, built.request)
        metadata = run_metadata.step_job(self._region, built.ref, arn)
        logger.info(
            "Step `%s` runs as SageMaker %s job %s.", template.step_name, built.ref.kind, built.ref.name
        )
        from zenml.orchestrators.publish_utils import publish_step_run_metadata

        publish_step_run_metadata(step_run_info.step_run_id, {self.id: metadata})
        # The runner monitors this very response: no server round trip to find the job again.
        step_run_info.step_run.run_metadata.update(metadata)

    def get_isolated_step_status(self, step_run: StepRunResponse) -> ExecutionStatus:
        """The step's job status; a job still stopping is still running (ZenML waits for its end)."""
        state = standalone_jobs.describe(self._client("sagemaker"), _step_job(step_run))
        if state.status == "Stopping":
            return ExecutionStatus.RUNNING
        return run_metadata.job_status(state.status)

    def stop_isolated_step(self, step_run: StepRunResponse) -> None:
        """Stop the step's job (a no-op when it already ended)."""
        standalone_jobs.stop(self._client("sagemaker"), _step_job(step_run))

    # -- status, stop, watch -------------------------------------------------------------------

    def _dynamic_status(
        self, run: PipelineRunResponse, job: JobRef, include_steps: bool
    ) -> tuple[ExecutionStatus | None, dict[str, ExecutionStatus] | None]:
        """The orchestration job's status; with steps, each isolated step's job status, and the
        orchestration job's end for inline steps it cut off."""
        sagemaker = self._client("sagemaker")
        state = standalone_jobs.describe(sagemaker, job)
        status: ExecutionStatus | None = run_metadata.job_status(state.status)
        if (
            status is ExecutionStatus.RUNNING
            and getattr(run, "status", None) in run_metadata.UNCLAIMED_RUN_STATUSES
        ):
            status = None  # the runner claims the run itself: only an end is worth reporting
        steps: dict[str, ExecutionStatus] = {}
        for name, step_run in run.steps.items() if include_steps else ():
            if step_run.status.is_finished:
                continue
            ref = run_metadata.step_job_of(step_run)
            if ref is not None:
                steps[name] = run_metadata.job_status(standalone_jobs.describe(sagemaker, ref).status)
            elif state.finished and state.status != "Completed":
                steps[name] = run_metadata.job_status(state.status)
        if state.finished:  # what it cost, once: also for runs nobody watched
            run_cost_record.record_once(
                lambda: sagemaker, run, self.id, lambda run: run_cost_record.dynamic_run_jobs(run, job)
            )
        return status, steps if include_steps else None

    def _stop_dynamic_run(self, run: PipelineRunResponse, job: JobRef) -> None:
        """Stop the orchestration job first (it submits no more), then every isolated job still going."""
        from zenml.client import Client
        from zenml.utils.pagination_utils import depaginate

        sagemaker = self._client("sagemaker")
        standalone_jobs.stop(sagemaker, job)
        logger.info("Asked SageMaker to stop orchestration job %s.", job.name)
        steps = depaginate(Client().list_run_steps, pipeline_run_id=run.id, hydrate=True)
        for step_run in steps:
            ref = run_metadata.step_job_of(step_run)
            if ref is not None and not step_run.status.is_finished and standalone_jobs.stop(sagemaker, ref):
                logger.info("Asked SageMaker to stop job %s of step `%s`.", ref.name, step_run.name)

    def _wait_for_job(self, job: JobRef, run_id: UUID | None, outage_limit: float) -> None:
        """Follow the orchestration job to its end, riding out outages; a failure shows its log tail."""
        from sagemaker_stack.orchestrator.watch import ContactLost, poll_interval, poll_until

        interval = poll_interval()
        sagemaker = self._client("sagemaker", config=execution.WATCH_CLIENT_CONFIG)
        logger.info("Waiting for orchestration job %s (Ctrl+C stops watching, not the run).", job.name)
        try:
            state = poll_until(
                lambda: standalone_jobs.describe(sagemaker, job),
                target=job.name,
                finished=lambda state: state.finished,
                line=lambda state: f"Orchestration job {job.name}: {state.status}",
                report=logger.info,
                warn=lambda line: logger.warning("%s.", line),
                interval=interval,
                outage_limit=outage_limit,
            )
        except ContactLost as lost:
            refresh = f"`zenml pipeline runs refresh {run_id}`" if run_id else "`zenml pipeline runs refresh`"
            raise SystemExit(
                f"Stopped watching: {lost}. The run may still be going: see its status with {refresh} "
                f"(once SageMaker answers again) or in the console: "
                f"{standalone_jobs.console_url(self._region, job)}"
            ) from None
        except KeyboardInterrupt:
            stop = f"`zenml pipeline runs stop {run_id}`" if run_id else "`zenml pipeline runs stop <run>`"
            raise WatchInterrupted(
                f"stopped watching orchestration job {job.name}: the run goes on ({stop} stops it)"
            ) from None
        cost = run_cost_record.record(
            lambda: self._client("sagemaker"),
            run_id,
            self.id,
            lambda run: run_cost_record.dynamic_run_jobs(run, job),
        )
        if run_id is not None:
            refresh_zenml_run(run_id)
        if state.status == "Completed":
            logger.info("Dynamic pipeline run completed%s", f": {cost.summary()}" if cost else ".")
            return
        if cost is not None:
            logger.info("Orchestration job %s: %s", state.status.lower(), cost.summary())
        if state.status == "Stopped":
            raise RunStopped(f"the run was stopped: orchestration job {job.name} ended Stopped")
        lines = [
            f"Orchestration job {job.name} ended {state.status}: {state.failure_reason or 'no reason given'}"
        ]
        tail = standalone_jobs.log_tail(self._client("logs"), job)
        if tail:
            lines.append(f"Last lines of its log ({job.name}):")
            lines.extend(f"  {line}" for line in tail)
        message = "\n".join(lines)
        logger.error(message)
        raise RuntimeError(message)

    def _tell(self, built: dynamic_spec.BuiltJob) -> None:
        for key in built.stripped_environment:
            logger.debug("Not passing %s to SageMaker: the job reads it from the stack's secret.", key)
        for warning in built.warnings:
            logger.warning(warning)

    # -- helpers -------------------------------------------------------------------------------

    @property
    def _region(self) -> str:
        return str(self.config.region)

    def _client(self, service: str, config: Mapping[str, Any] | None = None) -> Any:
        """A client with the linked AWS service connector's credentials, else boto3's default chain."""
        return aws.client(
            service,
            region=self.config.region,
            endpoint_url=self.config.endpoint_url,
            config=config,
            session=connector_session(self),
        )


def _step_job(step_run: StepRunResponse) -> JobRef:
    """The isolated step's job, from the response or else from the server (a fresher response)."""
    ref = run_metadata.step_job_of(step_run)
    if ref is None:
        from zenml.client import Client

        ref = run_metadata.step_job_of(Client().get_run_step(step_run.id))
    if ref is None:
        raise ValueError(f"step run {step_run.name!r} recorded no SageMaker job: it was not submitted as one")
    return ref


def _publish_run_metadata(run_id: UUID, component_id: UUID, metadata: dict[str, Any]) -> None:
    from zenml.orchestrators.publish_utils import publish_pipeline_run_metadata

    try:
        publish_pipeline_run_metadata(pipeline_run_id=run_id, pipeline_run_metadata={component_id: metadata})
    except Exception as error:  # links are a convenience: never fail the submission for them
        logger.debug("Could not record the orchestration job on the run: %s", error)


def refresh_zenml_run(run_id: UUID) -> None:
    """Bring the ZenML run's status in line with SageMaker's once the execution or job ended.

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
