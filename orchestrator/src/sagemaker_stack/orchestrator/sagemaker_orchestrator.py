"""The `sagemaker_pipelines` orchestrator: one SageMaker pipeline per ZenML pipeline.

Submitting a run builds a PipelineSpec from ZenML's snapshot (`snapshot_spec`), checks it against
SageMaker's limits before any AWS call (`validation`), renders the definition (`definition`),
upserts the SageMaker pipeline named after the ZenML pipeline and starts one execution
(`execution`), recording links in the run's metadata (`run_metadata`): DescribePipeline,
CreatePipeline or UpdatePipeline, StartPipelineExecution — the same three calls for one step or
five hundred.

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

import os
from typing import TYPE_CHECKING, cast

from zenml.constants import METADATA_ORCHESTRATOR_URL
from zenml.enums import ExecutionStatus
from zenml.logger import get_logger
from zenml.metadata.metadata_types import MetadataType
from zenml.orchestrators import SubmissionResult
from zenml.stack import StackValidator

from sagemaker_stack.flavor import (
    SagemakerPipelinesOrchestratorSettings,
)
from sagemaker_stack.orchestrator import execution, run_cost_record, run_metadata
from sagemaker_stack.orchestrator.dynamic_run import (
    DynamicRunOrchestrator,
    RunStopped,
    refresh_zenml_run,
)
from sagemaker_stack.orchestrator.environment import credential_problems, is_connection_variable
from sagemaker_stack.orchestrator.outage_log_filter import OutageFilter
from sagemaker_stack.orchestrator.spec import InvalidPipelineError
from sagemaker_stack.orchestrator.watch import poll_interval
from sagemaker_stack.service_connector import connector_session
from sagemaker_stack.step.entrypoint import ENV_EXECUTION_ARN, ENV_ORCHESTRATION_JOB
from sagemaker_stack.user_errors import WatchInterrupted

if TYPE_CHECKING:
    from uuid import UUID

    from zenml.config.build_configuration import BuildConfiguration
    from zenml.models import (
        PipelineRunResponse,
        PipelineSnapshotBase,
        PipelineSnapshotResponse,
        ScheduleResponse,
        ScheduleUpdate,
    )
    from zenml.stack import Stack

    from sagemaker_stack.orchestrator.snapshot_spec import BuiltPipeline

logger = get_logger(__name__)


class SagemakerPipelinesOrchestrator(DynamicRunOrchestrator):
    """Runs each ZenML pipeline as one SageMaker pipeline, updated in place, one execution per run;
    a dynamic pipeline as an orchestration job and standalone jobs (`dynamic_run`)."""

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

    def get_docker_builds(self, snapshot: PipelineSnapshotBase) -> list[BuildConfiguration]:
        """ZenML's builds, each on the stack's base image unless its DockerSettings name a parent.

        The base image holds Python, ZenML and this package (`sagemaker-stack image build`), so a
        pipeline with no Docker settings at all builds on the stack's CodeBuild project and runs.
        A build with no parent and no base image would make an image without this package, whose
        steps could never start: refused here, before anything is built or called. Each build
        reads its ECR parent's digest from ECR (`image_builder.parent_digest`), not from a Docker.

        This is also the earliest call ZenML 0.98 makes to the orchestrator with the compiled run
        (`Pipeline._create_snapshot`: compile, then this, via `reuse_or_create_pipeline_build` or
        `verify_custom_build`, and only then `create_snapshot`), so credentials in the run's
        environment are refused here, before ZenML stores the configuration that holds them,
        and ZenML's code upload is made safe for runs started at once (`content_uploads`).
        """
        from sagemaker_stack.content_uploads import tolerate_concurrent_uploads
        from sagemaker_stack.image_builder.parent_digest import EcrParentBuild

        self._refuse_credentials(snapshot)
        tolerate_concurrent_uploads()
        builds = super().get_docker_builds(snapshot)
        session = connector_session(self)
        return [
            EcrParentBuild.of(
                _on_base_image(build, self.config.base_image), self.config.endpoint_url, session
            )
            for build in builds
        ]

    def _refuse_credentials(self, snapshot: PipelineSnapshotBase) -> None:
        """InvalidPipelineError naming each step and variable of the run's environment that looks secret."""
        pipeline_environment = getattr(snapshot.pipeline_configuration, "environment", None) or {}
        environments = {
            name: {
                **pipeline_environment,
                **(getattr(step.config, "environment", None) or {}),
                **cast(SagemakerPipelinesOrchestratorSettings, self.get_settings(step)).environment,
            }
            for name, step in snapshot.step_configurations.items()
        }
        problems = credential_problems(environments)
        if problems:
            raise InvalidPipelineError(problems, str(snapshot.pipeline_configuration.name))

    # -- inside a step ---------------------------------------------------------------------------

    def get_orchestrator_run_id(self) -> str:
        """The SageMaker execution ARN, the same for every step of a run; in a dynamic pipeline's
        orchestration job, that job's name."""
        run_id = os.environ.get(ENV_EXECUTION_ARN) or os.environ.get(ENV_ORCHESTRATION_JOB)
        if not run_id:
            raise RuntimeError(
                f"neither {ENV_EXECUTION_ARN} nor {ENV_ORCHESTRATION_JOB} is set: this code is not running "
                "in a step or orchestration job submitted by the sagemaker_pipelines orchestrator"
            )
        return run_id

    def get_pipeline_run_metadata(self, run_id: UUID) -> dict[str, MetadataType]:
        """Links for runs created from a step (scheduled runs have no placeholder run)."""
        arn = os.environ.get(ENV_EXECUTION_ARN)
        return run_metadata.execution_links(self._region, arn) if arn else {}

    # -- submission ----------------------------------------------------------------------------

    def run(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        placeholder_run: PipelineRunResponse | None = None,
    ) -> None:
        """ZenML's run, minus the API token ZenML would mint for it that no step uses (`run_tokens`)."""
        from sagemaker_stack.orchestrator.run_tokens import without_run_tokens

        with without_run_tokens():
            super().run(snapshot, stack, placeholder_run)

    def submit_pipeline(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        base_environment: dict[str, str],
        step_environments: dict[str, dict[str, str]],
        placeholder_run: PipelineRunResponse | None = None,
    ) -> SubmissionResult | None:
        """Upsert the SageMaker pipeline and start one execution; never more than three API calls."""
        from sagemaker_stack.orchestrator import snapshot_spec

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
            if is_connection_variable(key):
                logger.debug("Not passing %s to SageMaker: steps read it from the stack's secret.", key)
            else:
                # Only the stack's or a component's `environment` gets here: the run's own
                # credentials were refused before ZenML stored the run (`get_docker_builds`).
                logger.warning(
                    "Not passing environment variable %s to SageMaker: it looks like a secret, and anyone "
                    "allowed to describe the pipeline could read it. Use a ZenML secret instead.",
                    key,
                )

        for warning in built.warnings:
            logger.warning(warning)

        if snapshot.schedule:
            return self._submit_schedule(snapshot, built)

        sagemaker = self._client("sagemaker")
        run_name = placeholder_run.name if placeholder_run else snapshot.pipeline_configuration.name
        submission = execution.submit(
            sagemaker,
            self._pipeline_request(built),
            display_name=execution.display_name(run_name),
            max_parallel_steps=built.max_parallel_steps,
            client_token=str(placeholder_run.id) if placeholder_run else None,
            parameters=built.pipeline_parameters,
        )
        verb = "Created" if submission.created else "Updated"
        logger.info("%s SageMaker pipeline %s.", verb, built.sagemaker_pipeline_name)
        metadata = run_metadata.submitted_run(self._region, submission.execution_arn, built)
        logger.info(
            "Started SageMaker execution %s: %s",
            submission.execution_arn,
            metadata[METADATA_ORCHESTRATOR_URL],
        )

        wait = None
        if pipeline_settings.synchronous:
            run_id = placeholder_run.id if placeholder_run else None

            def wait() -> None:
                self._wait(
                    submission.execution_arn, built, run_id, pipeline_settings.max_watch_outage_in_seconds
                )

        return SubmissionResult(wait_for_completion=wait, metadata=metadata)

    def _submit_schedule(
        self, snapshot: PipelineSnapshotResponse, built: BuiltPipeline
    ) -> SubmissionResult | None:
        """Check the schedule, upsert the pipeline, then create or update its EventBridge schedule.

        A bad schedule (cron AWS cannot express, an interval under a minute, a stack without a
        scheduler role, ...) is refused before any AWS call.
        """
        from sagemaker_stack.schedules import hooks

        hooks.check_snapshot(self.config, snapshot)
        pipeline_arn = execution.upsert_pipeline(self._client("sagemaker"), self._pipeline_request(built)).arn
        # The schedule carries its own snapshot id: a later run that updates the pipeline in place
        # changes the definition's default, never what this schedule starts.
        return hooks.submit_schedule(
            self.config, snapshot, pipeline_arn=pipeline_arn, pipeline_parameters=built.pipeline_parameters
        )

    def _pipeline_request(self, built: BuiltPipeline) -> execution.PipelineRequest:
        """The SageMaker pipeline of `built`, as every run and every schedule upserts it."""
        return execution.PipelineRequest(
            name=built.sagemaker_pipeline_name,
            definition=built.definition_json,
            role_arn=self.config.execution_role_arn,
            description=built.description,
            tags=built.tags,
            retag=built.pipeline_tags,
            store=self._definition_store,
        )

    def update_schedule(self, schedule: ScheduleResponse, update: ScheduleUpdate) -> None:
        """`zenml pipeline schedule update`: change the EventBridge schedule in place."""
        from sagemaker_stack.schedules import hooks

        hooks.update_from_zenml(self.config, schedule, update)

    def delete_schedule(self, schedule: ScheduleResponse) -> None:
        """`zenml pipeline schedule delete`: delete its EventBridge schedule (no-op if already gone)."""
        from sagemaker_stack.schedules import hooks

        hooks.delete_for_zenml(self.config, schedule)

    def _wait(
        self, execution_arn: str, built: BuiltPipeline, run_id: UUID | None, outage_limit: float
    ) -> None:
        """Show progress until the execution ends; a failure names the step and its log tail.

        An outage of SageMaker (or of the emulator) longer than `outage_limit` ends the watch
        with one message and no traceback (SystemExit): the run may still be going, and the
        message says where to look at it.
        """
        logger.info("Waiting for SageMaker execution %s (Ctrl+C stops watching, not the run).", execution_arn)
        interval = poll_interval()
        sagemaker = self._client("sagemaker", config=execution.WATCH_CLIENT_CONFIG)
        outage = OutageFilter()

        def warn(line: str) -> None:
            outage.lost = line.startswith("Lost contact")
            logger.warning("%s.", line)

        try:
            with outage.installed():
                state = execution.watch(
                    sagemaker,
                    execution_arn,
                    total_steps=len(set(built.step_names.values())),
                    report=lambda line: logger.info("SageMaker execution %s", line),
                    warn=warn,
                    interval=interval,
                    outage_limit=outage_limit,
                )
        except execution.ContactLost as lost:
            raise SystemExit(self._contact_lost_message(lost, built, run_id)) from None
        except KeyboardInterrupt:
            stop = f"`zenml pipeline runs stop {run_id}`" if run_id else "`zenml pipeline runs stop <run>`"
            raise WatchInterrupted(
                f"stopped watching SageMaker execution {execution_arn}: the run goes on ({stop} stops it)"
            ) from None
        cost = run_cost_record.record(  # before the refresh, which then finds it recorded
            lambda: self._client("sagemaker"),
            run_id,
            self.id,
            lambda run: run_cost_record.static_run_jobs(run, state.steps),
        )
        if run_id is not None:
            refresh_zenml_run(run_id)
        ended = f"SageMaker execution {state.status.lower()}"
        if state.status == "Succeeded":
            logger.info("%s%s", ended, f": {cost.summary()}" if cost else ".")
            return
        if cost is not None:
            logger.info("%s: %s", ended, cost.summary())
        members = run_metadata.members_of(built.step_names)
        failed = [step for step in state.steps if step.status == "Failed"]
        if state.status == "Stopped" and not failed:
            raise RunStopped(f"the run was stopped: SageMaker execution {execution_arn} ended Stopped")
        logs = self._client("logs")
        lines = [f"SageMaker execution {execution_arn} ended {state.status}."]
        for step in failed:
            zenml = members.get(step.name, [step.name])
            what = (
                f"Step {zenml[0]!r}"
                if len(zenml) == 1
                else f"Step group {step.name!r} (ZenML steps {', '.join(zenml)})"
            )
            lines.append(f"{what} failed: {step.failure_reason or 'no reason given'}")
            tail = execution.log_tail(logs, step)
            if tail:
                lines.append(f"Last lines of its log ({step.job_name}):")
                lines.extend(f"  {line}" for line in tail)
        if not failed and state.failure_reason:
            lines.append(state.failure_reason)
        message = "\n".join(lines)
        logger.error(message)
        raise RuntimeError(message)

    def _contact_lost_message(
        self, lost: execution.ContactLost, built: BuiltPipeline, run_id: UUID | None
    ) -> str:
        refresh = f"`zenml pipeline runs refresh {run_id}`" if run_id else "`zenml pipeline runs refresh`"
        url = execution.console_url(self._region, built.sagemaker_pipeline_name, lost.execution_arn)
        return (
            f"Stopped watching: {lost}. The run may still be going: see its status with {refresh} "
            f"(once SageMaker answers again) or in the console: {url}"
        )

    # -- status and stop -----------------------------------------------------------------------

    def fetch_status(
        self, run: PipelineRunResponse, include_steps: bool = False
    ) -> tuple[ExecutionStatus | None, dict[str, ExecutionStatus] | None]:
        """The run's status from SageMaker, and with `include_steps` each ZenML step's status."""
        job = run_metadata.orchestration_job_of(run)
        if job is not None:
            return self._dynamic_status(run, job, include_steps)
        arn = run_metadata.execution_arn_of(run)
        if arn is None:
            raise ValueError(
                f"run {run.name!r} has no SageMaker execution ARN in its metadata: it was not started by "
                "the sagemaker_pipelines orchestrator, or its submission failed"
            )
        sagemaker = self._client("sagemaker")
        state = execution.describe(sagemaker, arn, include_steps=include_steps)
        status: ExecutionStatus | None = run_metadata.execution_status(state.status)
        if state.finished:  # what it cost, once: also for runs nobody watched
            run_cost_record.record_once(
                lambda: sagemaker,
                run,
                self.id,
                lambda run: run_cost_record.static_run_jobs(
                    run, state.steps if include_steps else execution.list_steps(sagemaker, arn)
                ),
            )
        if (
            status is ExecutionStatus.RUNNING
            and getattr(run, "status", None) in run_metadata.UNCLAIMED_RUN_STATUSES
        ):
            # The first step claims ZenML's placeholder run only while it is initializing or
            # provisioning; marking it running before that (a refresh right after an async
            # submit) would make the steps start a second run. Only an end is worth reporting.
            status = None
        if not include_steps:
            return status, None
        # Each ZenML step of a group gets the group's status; ZenML's refresh leaves step runs that
        # already finished alone, so a completed step of a failed group stays completed.
        names = run_metadata.step_names_of(run)
        steps = {
            zenml: run_metadata.step_status(step.status)
            for step in state.steps
            for zenml in names.get(step.name, [step.name])
        }
        return status, steps

    def _stop_run(self, run: PipelineRunResponse, graceful: bool = False) -> None:
        """StopPipelineExecution; SageMaker stops running jobs and starts no more (graceful or not).
        A dynamic run: its orchestration job and every isolated job still going."""
        job = run_metadata.orchestration_job_of(run)
        if job is not None:
            self._stop_dynamic_run(run, job)
            return
        arn = run_metadata.execution_arn_of(run)
        if arn is None:
            raise ValueError(f"run {run.name!r} has no SageMaker execution ARN: nothing to stop")
        execution.stop_execution(self._client("sagemaker"), arn)
        logger.info("Asked SageMaker to stop execution %s.", arn)

    # -- helpers -------------------------------------------------------------------------------

    @property
    def _definition_store(self) -> execution.DefinitionStore:
        """The stack's bucket, for definitions too long to send inline."""
        return execution.DefinitionStore(bucket=self.config.bucket, s3=lambda: self._client("s3"))


def _on_base_image(build: BuildConfiguration, base_image: str | None) -> BuildConfiguration:
    settings = build.settings
    if settings.parent_image or settings.dockerfile:
        return build
    if base_image is None:
        raise InvalidPipelineError(
            [
                "the stack has no base image for ZenML to build on, so the image would lack the "
                "sagemaker-stack package every step starts with: run `sagemaker-stack image build` and "
                "`sagemaker-stack register`, or name an image with it in "
                "DockerSettings(parent_image=...)"
            ]
        )
    return build.model_copy(update={"settings": settings.model_copy(update={"parent_image": base_image})})
