"""One step run -> a checked CreateProcessingJob / CreateTrainingJob request, before any AWS call.

The request is the one our orchestrator's steps get (`job_request.build`, checked by
`validation.job_problems` against botocore's service model, every problem at once): the same
settings and the same choices (instance type from ResourceSettings, the stack's role, network,
keys and the volume-key rule for local-storage types). What differs for a standalone job:
- the environment carries the stack's secret's ARN and no execution ARN (there is no pipeline
  execution); ZenML's connection variables and anything secret-looking stay out of it by the
  orchestrator's one policy (`environment`): the job's `Describe*` shows its environment to anyone
  allowed to describe it, and the step reads the ZenML URL and API key from the secret;
- a training job's output path and a spot job's default checkpoints are under the stack's bucket,
  per job (`sagemaker-jobs/<job name>/`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from sagemaker_stack.orchestrator import job_request
from sagemaker_stack.orchestrator.environment import public_environment
from sagemaker_stack.orchestrator.snapshot_spec import (
    choose_instance_type,
    gpu_on_cpu_image_warning,
    resolve_step_settings,
    stack_volume_key,
)
from sagemaker_stack.orchestrator.spec import StepSpec
from sagemaker_stack.orchestrator.validation import job_problems
from sagemaker_stack.step.entrypoint import ENTRYPOINT_COMMAND, ENV_SECRET_ARN
from sagemaker_stack.step.environment_parts import joined
from sagemaker_stack.step_operator.jobs import PROCESSING, TRAINING, Job
from sagemaker_stack.user_errors import UserError

if TYPE_CHECKING:
    from sagemaker_stack.flavor import SagemakerJobsStepOperatorConfig, SagemakerJobsStepOperatorSettings

#: Where a standalone job's training output and default checkpoints go, under the stack's bucket.
JOBS_PREFIX: Final = "sagemaker-jobs"


class InvalidStepError(UserError, ValueError):
    """A step cannot run as a SageMaker job as configured; the message lists every problem."""

    def __init__(self, subject: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"{subject} cannot run as a SageMaker job ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([header, *(f"  - {problem}" for problem in self.problems)]))


@dataclass(frozen=True)
class JobPlan:
    """The job to create and what the user should hear about it."""

    job: Job
    request: dict[str, Any]
    #: Environment variables kept out of the job (secret-looking, or ZenML's connection settings).
    stripped_environment: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def split_command(command: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(ContainerEntrypoint, ContainerArguments): our wrapper's command and ZenML's arguments."""
    wrapper = len(ENTRYPOINT_COMMAND)
    if tuple(command[:wrapper]) == ENTRYPOINT_COMMAND:
        return tuple(command[:wrapper]), tuple(command[wrapper:])
    return tuple(command), ()  # a ZenML command step runs its own command, as it is


def plan_job(
    *,
    config: SagemakerJobsStepOperatorConfig,
    settings: SagemakerJobsStepOperatorSettings,
    step_name: str,
    job_name: str,
    image: str,
    command: Sequence[str],
    environment: Mapping[str, str],
    resource_settings: Any,
    parent_image: str | None = None,
) -> JobPlan:
    """The checked request of the job that runs `step_name`; InvalidStepError lists every problem."""
    problems: list[str] = []
    instance_type, problem = choose_instance_type(settings, resource_settings, f"step {step_name!r}")
    if problem:
        problems.append(problem)
    warnings = []
    warning = gpu_on_cpu_image_warning(step_name, instance_type, [image, parent_image or config.base_image])
    if warning:
        warnings.append(warning)
    # The helper reads the stack's key from the component's configuration, ours or the orchestrator's.
    checked, warning = stack_volume_key(settings, cast(Any, config), step_name, instance_type)
    if warning:
        warnings.append(warning)
    settings = cast("SagemakerJobsStepOperatorSettings", checked)
    training = bool(settings.use_training_step)
    output = f"s3://{config.bucket}/{JOBS_PREFIX}/{job_name}"
    checkpoint = f"{output}/checkpoints" if training and settings.use_spot_instances else None
    kept, stripped = public_environment(joined({**environment, **settings.environment}))
    kept[ENV_SECRET_ARN] = config.secret_arn
    entrypoint, arguments = split_command(command)
    step = StepSpec(
        name=step_name,
        upstream=(),
        image=image,
        entrypoint=entrypoint,
        arguments=arguments,
        environment=kept,
        settings=resolve_step_settings(
            settings, config.execution_role_arn, instance_type=instance_type, checkpoint_s3_uri=checkpoint
        ),
    )
    problems.extend(job_problems(step, config.region, output))
    if problems:
        raise InvalidStepError(f"step {step_name!r}", problems)
    request = job_request.build(step, output)
    return JobPlan(
        job=Job(TRAINING if training else PROCESSING, job_name),
        request=request.body,
        stripped_environment=stripped,
        warnings=warnings,
    )
