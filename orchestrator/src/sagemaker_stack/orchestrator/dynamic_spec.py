"""The standalone job requests of a dynamic pipeline, built and checked like a pipeline step's.

A dynamic pipeline's orchestration job and each of its isolated steps is one CreateProcessingJob
or CreateTrainingJob request, made by the very code that makes a pipeline step's (`job_request`,
with `snapshot_spec`'s choices: the instance type from ResourceSettings, the stack's role,
network, keys and tags, the environment policy) and checked by the very same rules against
botocore's model (`validation.job_problems`), all problems at once and each naming the step. No
secret goes in: the container reads the ZenML credentials from the stack's secret, as a
pipeline step does.

What differs from a pipeline step: there is no execution, so no `ZenMLSnapshotId` parameter and
no execution ARN expression (the snapshot id is a plain argument; an orchestration job's run id
is its own job name, `ENV_ORCHESTRATION_JOB`); SageMaker Pipelines' retry policy (`retries`)
does not exist for standalone jobs (ZenML retries the step itself); a spot training job's default
checkpoints go under the job's own name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sagemaker_stack.orchestrator import job_request
from sagemaker_stack.orchestrator.environment import step_environment
from sagemaker_stack.orchestrator.snapshot_spec import (
    choose_instance_type,
    gpu_on_cpu_image_warning,
    resolve_step_settings,
    stack_volume_key,
)
from sagemaker_stack.orchestrator.spec import InvalidPipelineError, PipelineSpec, StepSpec
from sagemaker_stack.orchestrator.standalone_jobs import PROCESSING, TRAINING, JobRef, name_member
from sagemaker_stack.orchestrator.step_images import image_problems

if TYPE_CHECKING:
    from sagemaker_stack.flavor import (
        SagemakerPipelinesOrchestratorConfig,
        SagemakerPipelinesOrchestratorSettings,
    )

#: Where standalone jobs keep what SageMaker writes for them (training output, spot checkpoints).
JOBS_PREFIX: Final = "sagemaker-jobs"


@dataclass(frozen=True)
class JobTemplate:
    """What one standalone job runs: the ZenML side of it, before the stack's settings apply."""

    #: The ZenML step name (for messages: "step 'train'"), or the orchestration job's label.
    step_name: str
    job_name: str
    image: str
    command: Sequence[str]
    arguments: Sequence[str]
    settings: SagemakerPipelinesOrchestratorSettings
    resource_settings: Any = None
    parent_image: str | None = None
    #: ZenML's environment for the container (the policy drops what must not go in).
    zenml_environment: Mapping[str, str] = field(default_factory=dict)
    #: Ours, added after the policy (e.g. the orchestration job's own name).
    extra_environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltJob:
    """A checked request (without the job's name) and what the user should hear about it."""

    ref: JobRef
    request: dict[str, Any]
    stripped_environment: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _spec_of(
    template: JobTemplate, config: SagemakerPipelinesOrchestratorConfig
) -> tuple[StepSpec, PipelineSpec, list[str], list[str], list[str]]:
    """(step spec, its one-step pipeline spec, problems, warnings, dropped variables)."""
    settings = template.settings
    where = f"step {template.step_name!r}"
    instance_type, problem = choose_instance_type(settings, template.resource_settings, where)
    problems = [problem] if problem else []
    warnings: list[str] = []
    parent = template.parent_image or getattr(config, "base_image", None)
    warning = gpu_on_cpu_image_warning(template.step_name, instance_type, [template.image, parent])
    if warning:
        warnings.append(warning)
    settings, warning = stack_volume_key(settings, config, template.step_name, instance_type)
    if warning:
        warnings.append(warning)
    output = f"s3://{config.bucket}/{JOBS_PREFIX}/{template.job_name}"
    checkpoint = None
    if settings.use_training_step and settings.use_spot_instances:
        checkpoint = f"{output}/checkpoints"
    environment, dropped = step_environment(
        template.zenml_environment, settings.environment, config.secret_arn, run_id=None
    )
    environment.update(template.extra_environment)
    step = StepSpec(
        name=template.step_name,
        upstream=(),
        image=template.image,
        entrypoint=tuple(template.command),
        arguments=tuple(template.arguments),
        environment=environment,
        settings=resolve_step_settings(
            settings, config.execution_role_arn, instance_type=instance_type, checkpoint_s3_uri=checkpoint
        ),
    )
    spec = PipelineSpec(
        pipeline_name=template.job_name, steps=(step,), output_s3_uri=output, region=config.region
    )
    return step, spec, problems, warnings, dropped


def job_problems(template: JobTemplate, config: SagemakerPipelinesOrchestratorConfig) -> list[str]:
    """Every problem of the job `template` would make, each naming its step ([] when none)."""
    from sagemaker_stack.orchestrator import service_model
    from sagemaker_stack.orchestrator.validation import job_problems as request_problems

    step, spec, problems, _, _ = _spec_of(template, config)
    problems.extend(image_problems({template.step_name: template.image}, config.region))
    problems.extend(request_problems(step, spec.region, spec.output_s3_uri))
    kind = TRAINING if step.settings.use_training_step else PROCESSING
    member = name_member(kind)
    shape = service_model.input_shape("CreateTrainingJob" if kind == TRAINING else "CreateProcessingJob")
    for _, problem in service_model.shape_problems(template.job_name, shape.members[member], member):
        problems.append(f"step {template.step_name!r}: job name {template.job_name!r} {problem}")
    return problems


def build_job(
    template: JobTemplate, config: SagemakerPipelinesOrchestratorConfig, pipeline_name: str
) -> BuiltJob:
    """The job's request, checked: InvalidPipelineError (naming the step) lists every problem."""
    problems = job_problems(template, config)
    if problems:
        raise InvalidPipelineError(problems, pipeline_name)
    step, spec, _, warnings, dropped = _spec_of(template, config)
    request = job_request.build(step, spec.output_s3_uri).body
    kind = TRAINING if step.settings.use_training_step else PROCESSING
    return BuiltJob(JobRef(kind, template.job_name), request, sorted(dropped), warnings)


def check_all(
    templates: Sequence[JobTemplate], config: SagemakerPipelinesOrchestratorConfig, pipeline_name: str
) -> None:
    """InvalidPipelineError with the problems of every template at once (nothing is called)."""
    problems = [problem for template in templates for problem in job_problems(template, config)]
    if problems:
        raise InvalidPipelineError(problems, pipeline_name)
