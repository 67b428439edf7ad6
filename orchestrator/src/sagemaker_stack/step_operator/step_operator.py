"""The `sagemaker_stack_jobs` step operator: one ZenML step as one standalone SageMaker job.

A step of any orchestrator (ZenML's local one, ours, a dynamic pipeline's) with
`step_operator=<name>` runs as a SageMaker processing job (a training job with
`use_training_step=True`), in the stack's region, as the stack's execution role, on the image
ZenML built on the stack's base image, with the settings and checks of our orchestrator's steps
(`request`). Why a processing job by default: it is what our orchestrator's steps run as, so a
step moves between the two with its settings unchanged; it needs no output path or model
artifact, which a ZenML step never produces (its outputs go to the artifact store); training
jobs stay one setting away for warm pools and spot capacity.

What ZenML 0.98 asks of a step operator, and what this one does:
- `get_docker_builds`: one image per step that uses it, on the stack's base image unless its
  DockerSettings name a parent; every such step's settings are checked here, on the client,
  before ZenML stores the run or calls AWS, and credentials in its environment are refused.
- `submit`: CreateProcessingJob / CreateTrainingJob, and the job's name, kind and console and log
  links in the step run's metadata. The environment ZenML hands a step operator holds the ZenML
  server's URL and an API token: neither reaches the job (nor its `Describe*`); the job's
  entrypoint reads the URL and the stack's service account key from the stack's secret with the
  execution role, as our orchestrator's steps do.
- `wait`: the orchestrator's outage-tolerant watch; a failed job's FailureReason and log tail are
  logged, and raised when the step's own code never reported to ZenML (a job that could not start).
- `get_status` (dynamic pipelines poll it) and `cancel` (StopProcessingJob / StopTrainingJob).

AWS calls use the linked AWS service connector's session when one is linked, else boto3's
default chain (`service_connector`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, cast

from zenml.config.build_configuration import BuildConfiguration
from zenml.enums import ExecutionStatus
from zenml.logger import get_logger
from zenml.stack import StackValidator
from zenml.step_operators import BaseStepOperator

from sagemaker_stack import aws
from sagemaker_stack.flavor import SagemakerJobsStepOperatorConfig, SagemakerJobsStepOperatorSettings
from sagemaker_stack.orchestrator import execution
from sagemaker_stack.orchestrator.environment import credential_problems, is_connection_variable
from sagemaker_stack.orchestrator.watch import poll_interval
from sagemaker_stack.service_connector import connector_session
from sagemaker_stack.step.configuration import SagemakerStackIsolatedStepConfiguration
from sagemaker_stack.step_operator import jobs
from sagemaker_stack.step_operator.request import InvalidStepError, plan_job
from sagemaker_stack.user_errors import UserError

if TYPE_CHECKING:
    from zenml.config.step_run_info import StepRunInfo
    from zenml.models import PipelineSnapshotBase, StepRunResponse
    from zenml.stack import Stack
    from zenml.step_operators.step_operator_entrypoint_configuration import (
        StepOperatorEntrypointConfiguration,
    )

logger = get_logger(__name__)

#: The key of the step operator's builds (ZenML's `BuildConfiguration.key`).
DOCKER_IMAGE_KEY: Final = "sagemaker_stack_step_operator"
#: Step run metadata: which job runs the step (read back by `get_status`, `wait`, `cancel`).
METADATA_JOB_NAME: Final = "sagemaker_job_name"
METADATA_JOB_KIND: Final = "sagemaker_job_kind"
METADATA_JOB_URL: Final = "sagemaker_job_url"
METADATA_JOB_LOGS_URL: Final = "sagemaker_job_logs_url"
#: A stand-in image for checking settings before ZenML built the real one.
_PLACEHOLDER_IMAGE: Final = "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml:placeholder"

_JOB_STATUS: Final = {
    "InProgress": ExecutionStatus.RUNNING,
    "Stopping": ExecutionStatus.STOPPING,
    "Stopped": ExecutionStatus.STOPPED,
    "Failed": ExecutionStatus.FAILED,
    "Completed": ExecutionStatus.COMPLETED,
}


class JobFailed(UserError, RuntimeError):
    """The step's job failed before the step's code could report to ZenML: SageMaker's reason."""


class SagemakerJobsStepOperator(BaseStepOperator):
    """Runs a step as one standalone SageMaker job with the stack's role, image flow and secret."""

    @property
    def config(self) -> SagemakerJobsStepOperatorConfig:
        return cast(SagemakerJobsStepOperatorConfig, self._config)

    @property
    def settings_class(self) -> type[SagemakerJobsStepOperatorSettings]:
        return SagemakerJobsStepOperatorSettings

    @property
    def entrypoint_config_class(self) -> type[StepOperatorEntrypointConfiguration]:
        """ZenML's step operator entrypoint behind our credential-reading wrapper."""
        return SagemakerStackIsolatedStepConfiguration

    @property
    def validator(self) -> StackValidator | None:
        def remote_artifact_store(stack: Stack) -> tuple[bool, str]:
            if stack.artifact_store.config.is_local:
                return False, (
                    f"the {self.name!r} step operator runs steps on SageMaker, which cannot reach the "
                    f"local artifact store {stack.artifact_store.name!r}: use the stack's S3 artifact store"
                )
            return True, ""

        return StackValidator(custom_validation_function=remote_artifact_store)

    # -- on the client, before the run exists --------------------------------------------------

    def get_docker_builds(self, snapshot: PipelineSnapshotBase) -> list[BuildConfiguration]:
        """One build per step that uses this step operator, after checking each step's settings.

        The first call ZenML makes with the compiled run: a setting SageMaker would refuse, or a
        credential in a step's environment, is reported here, every problem at once, before
        ZenML stores the run's configuration or anything is built or called.
        """
        from sagemaker_stack.image_builder.parent_digest import EcrParentBuild
        from sagemaker_stack.orchestrator.sagemaker_orchestrator import _on_base_image

        ours = {
            name: step
            for name, step in snapshot.step_configurations.items()
            if step.config.uses_step_operator(self.name)
        }
        self._check_steps(snapshot, ours)
        session = connector_session(self)
        return [
            EcrParentBuild.of(
                _on_base_image(
                    BuildConfiguration(
                        key=DOCKER_IMAGE_KEY, settings=step.config.docker_settings, step_name=name
                    ),
                    self.config.base_image,
                ),
                self.config.endpoint_url,
                session,
            )
            for name, step in ours.items()
        ]

    def _check_steps(self, snapshot: PipelineSnapshotBase, steps: Mapping[str, Any]) -> None:
        pipeline_environment = getattr(snapshot.pipeline_configuration, "environment", None) or {}
        environments = {}
        problems: list[str] = []
        for name, step in steps.items():
            settings = self._settings(step)
            environments[name] = {
                **pipeline_environment,
                **(getattr(step.config, "environment", None) or {}),
                **settings.environment,
            }
            try:
                plan_job(
                    config=self.config,
                    settings=settings,
                    step_name=name,
                    job_name=jobs.job_name(self.config.resource_prefix, name, "0" * 8),
                    image=_PLACEHOLDER_IMAGE,
                    command=(),
                    environment={},
                    resource_settings=step.config.resource_settings,
                )
            except InvalidStepError as error:
                problems.extend(error.problems)
        problems = [*credential_problems(environments), *problems]
        if problems:
            names = sorted(steps)
            subject = f"step {names[0]!r}" if len(names) == 1 else f"steps {', '.join(map(repr, names))}"
            raise InvalidStepError(subject, problems)

    # -- launching the step --------------------------------------------------------------------

    def submit(self, info: StepRunInfo, entrypoint_command: list[str], environment: dict[str, str]) -> None:
        """Create the step's job (no waiting: ZenML calls `wait`, or polls `get_status`)."""
        settings = self._settings(info)
        name = jobs.job_name(self.config.resource_prefix, info.pipeline_step_name, str(info.step_run_id))
        plan = plan_job(
            config=self.config,
            settings=settings,
            step_name=info.pipeline_step_name,
            job_name=name,
            image=info.get_image(key=DOCKER_IMAGE_KEY),
            command=entrypoint_command,
            environment=environment,
            resource_settings=info.config.resource_settings,
            parent_image=info.config.docker_settings.parent_image,
        )
        for key in plan.stripped_environment:
            if is_connection_variable(key):
                logger.debug("Not passing %s to SageMaker: the step reads it from the stack's secret.", key)
            else:
                logger.warning(
                    "Not passing environment variable %s to SageMaker: it looks like a secret, and anyone "
                    "allowed to describe the job could read it. Use a ZenML secret instead.",
                    key,
                )
        for warning in plan.warnings:
            logger.warning(warning)
        info.force_write_logs()
        jobs.create(self._client("sagemaker"), plan.job, plan.request)
        metadata: dict[str, Any] = {
            METADATA_JOB_NAME: plan.job.name,
            METADATA_JOB_KIND: plan.job.kind,
            METADATA_JOB_URL: jobs.console_url(self.config.region, plan.job),
            METADATA_JOB_LOGS_URL: jobs.logs_url(self.config.region, plan.job),
        }
        logger.info(
            "Started SageMaker %s job %s: %s", plan.job.kind.lower(), name, metadata[METADATA_JOB_URL]
        )
        from zenml.orchestrators.publish_utils import publish_step_run_metadata

        publish_step_run_metadata(info.step_run_id, {self.id: metadata})
        info.step_run.run_metadata.update(metadata)

    def get_status(self, step_run: StepRunResponse) -> ExecutionStatus:
        """The step's job's status as ZenML's."""
        state = jobs.describe(self._client("sagemaker"), _job_of(step_run))
        return _JOB_STATUS.get(state.status, ExecutionStatus.RUNNING)

    def wait(self, step_run: StepRunResponse) -> ExecutionStatus:
        """Watch the job until it ends; a failure says SageMaker's reason and the log's last lines."""
        job = _job_of(step_run)
        settings = self._settings(step_run)
        interval = poll_interval()
        sagemaker = self._client("sagemaker", config=execution.WATCH_CLIENT_CONFIG)
        try:
            state = jobs.watch(
                sagemaker,
                job,
                report=lambda status: logger.info(
                    "SageMaker %s job %s: %s", job.kind.lower(), job.name, status
                ),
                warn=lambda line: logger.warning("%s.", line),
                interval=interval,
                outage_limit=settings.max_watch_outage_in_seconds,
            )
        except execution.ContactLost as lost:
            raise JobFailed(
                f"stopped watching SageMaker job {job.name}: {lost}. The job may still be going: see "
                f"{jobs.console_url(self.config.region, job)}"
            ) from None
        status = _JOB_STATUS.get(state.status, ExecutionStatus.FAILED)
        if status is ExecutionStatus.FAILED:
            self._report_failure(step_run, job, state)
        return status

    def _report_failure(self, step_run: StepRunResponse, job: jobs.Job, state: jobs.JobState) -> None:
        lines = [
            f"SageMaker {job.kind.lower()} job {job.name} failed: {state.failure_reason or 'no reason given'}"
        ]
        tail = jobs.log_tail(self._client("logs"), job)
        if tail:
            lines.append("Last lines of its log:")
            lines.extend(f"  {line}" for line in tail)
        message = "\n".join(lines)
        logger.error(message)
        from zenml.client import Client

        if Client().get_run_step(step_run.id, hydrate=True).exception_info is None:
            # The step's code never reported (the job could not start, or died before ZenML ran):
            # ZenML would only say "failed with status failed". SageMaker's reason is the news.
            raise JobFailed(message)

    def cancel(self, step_run: StepRunResponse) -> None:
        """Stop the step's job."""
        jobs.stop(self._client("sagemaker"), _job_of(step_run))

    # -- helpers -------------------------------------------------------------------------------

    def _settings(self, container: Any) -> SagemakerJobsStepOperatorSettings:
        return cast(SagemakerJobsStepOperatorSettings, self.get_settings(container))

    def _client(self, service: str, config: Mapping[str, Any] | None = None) -> Any:
        return aws.client(
            service,
            region=self.config.region,
            endpoint_url=self.config.endpoint_url,
            config=config,
            session=connector_session(self),
        )


def _job_of(step_run: StepRunResponse) -> jobs.Job:
    metadata = step_run.run_metadata
    name = metadata.get(METADATA_JOB_NAME)
    if not name:
        raise RuntimeError(
            f"step run {step_run.id} has no SageMaker job in its metadata: it was never submitted"
        )
    return jobs.Job(kind=str(metadata.get(METADATA_JOB_KIND) or jobs.PROCESSING), name=str(name))
