"""ZenML snapshot -> PipelineSpec -> checked definition: the one place that reads ZenML's models.

Everything a step needs travels in its definition, and the definition is readable by anyone who
may DescribePipeline. So the environment ZenML hands the orchestrator is filtered here by the one
policy of `environment`: the server URL and any token, key, password or credential-looking value
are dropped (the step's entrypoint reads URL and API key from the stack's secret instead), and two
variables are added: the secret's ARN and the execution ARN expression that becomes ZenML's
orchestrator run id.

The snapshot id is not baked into the steps: the definition declares a String parameter
`ZenMLSnapshotId` (default: this snapshot) and each step's `--snapshot_id` argument reads it.
The one SageMaker pipeline of a ZenML pipeline is updated in place on every run, so a baked-in id
would make every EventBridge schedule of that pipeline start the newest snapshot; instead each
manual run and each schedule passes its own snapshot id as a pipeline parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sagemaker_stack.config import ZENML_PIPELINE_TAG
from sagemaker_stack.defaults import DEFAULT_INSTANCE_TYPE
from sagemaker_stack.orchestrator import definition as definitions
from sagemaker_stack.orchestrator import instance_types, names
from sagemaker_stack.orchestrator.environment import step_environment
from sagemaker_stack.orchestrator.spec import (
    ArgumentValue,
    PipelineSpec,
    ResolvedStepSettings,
    StepSpec,
    execution_variable,
    pipeline_parameter,
)
from sagemaker_stack.orchestrator.step_groups import members_of
from sagemaker_stack.orchestrator.step_images import image_problems
from sagemaker_stack.orchestrator.warm_pools import warm_pool_warnings

if TYPE_CHECKING:
    from sagemaker_stack.flavor import (
        SagemakerPipelinesOrchestratorConfig,
        SagemakerPipelinesOrchestratorSettings,
    )

#: The definition's parameter that carries the ZenML snapshot a run executes.
SNAPSHOT_ID_PARAMETER: Final = "ZenMLSnapshotId"


@dataclass(frozen=True)
class BuiltPipeline:
    """A validated definition and what the orchestrator needs to submit and follow it."""

    spec: PipelineSpec
    definition: dict[str, Any]
    definition_json: str
    sagemaker_pipeline_name: str
    step_names: dict[str, str]  # ZenML step name -> SageMaker step name (many to one: groups)
    use_training: dict[str, bool]  # SageMaker step name -> training job?
    max_parallel_steps: int | None
    tags: dict[str, str]
    description: str
    stripped_environment: list[str] = field(default_factory=list)
    #: The user's `pipeline_tags` (re-applied to an existing pipeline, which UpdatePipeline cannot).
    pipeline_tags: dict[str, str] = field(default_factory=dict)
    #: Sentences for the user: the submission goes on (a GPU type on the CPU base image, say).
    warnings: list[str] = field(default_factory=list)
    #: What a run of this snapshot passes: StartPipelineExecution's PipelineParameters, or the
    #: SageMakerPipelineParameters of an EventBridge schedule's target.
    pipeline_parameters: dict[str, str] = field(default_factory=dict)


def snapshot_arguments(arguments: Sequence[str], snapshot_id: str) -> tuple[ArgumentValue, ...]:
    """Entrypoint arguments with the snapshot id read from the `ZenMLSnapshotId` parameter."""
    expression = pipeline_parameter(SNAPSHOT_ID_PARAMETER)
    return tuple(expression if argument == snapshot_id else argument for argument in arguments)


def choose_instance_type(
    settings: SagemakerPipelinesOrchestratorSettings, resource_settings: Any, where: str
) -> tuple[str, str | None]:
    """(the step's instance type, a problem or None): explicit, else from ResourceSettings, else the default.

    An `instance_type` in the step's SDK arguments counts as explicit: it wins anyway. A request
    no type in the table satisfies is a problem; the default type stands in so that the rest of
    the step is still checked.
    """
    training = bool(settings.use_training_step)
    sdk = settings.estimator_args if training else settings.processor_args
    explicit = sdk.get("instance_type") or settings.instance_type
    if explicit:
        return str(explicit), None
    request = instance_types.resource_request(resource_settings)
    if request.empty:
        return DEFAULT_INSTANCE_TYPE, None
    from sagemaker_stack.orchestrator import service_model

    kind = "TrainingInstanceType" if training else "ProcessingInstanceType"
    allowed = service_model.enum(kind)
    chosen = instance_types.cheapest(request, allowed)
    if chosen is not None:
        return chosen.name, None
    job = "training" if training else "processing"
    return DEFAULT_INSTANCE_TYPE, (
        f"{where}: no SageMaker {job} instance type satisfies {request} (the largest offer "
        f"{instance_types.largest_offer(allowed)}): ask for less, or set instance_type"
    )


def gpu_on_cpu_image_warning(step_name: str, instance_type: str, images: Sequence[str | None]) -> str | None:
    """A sentence when a GPU type would run the stack's CPU base image (no CUDA: the GPU sits idle)."""
    if instance_types.has_gpu(instance_type) and any(instance_types.is_cpu_base_image(i) for i in images):
        return (
            f"step {step_name!r} runs on the GPU instance type {instance_type} with the stack's CPU base "
            f"image, which has no CUDA: build the CUDA variant (`{instance_types.CUDA_IMAGE_COMMAND}`) "
            "and use it as the step's parent image"
        )
    return None


def stack_volume_key(
    settings: SagemakerPipelinesOrchestratorSettings,
    config: SagemakerPipelinesOrchestratorConfig,
    step_name: str,
    instance_type: str,
) -> tuple[SagemakerPipelinesOrchestratorSettings, str | None]:
    """The settings without the stack's volume key on a type with local storage, and why.

    SageMaker refuses a VolumeKmsKeyId for those types (their hardware encrypts the storage), so
    the stack's default, which every step inherits, is not sent there; a key the step's own
    settings name instead is refused by validation (`network_rules`).
    """
    key = settings.volume_kms_key_id
    if (
        not key
        or key != getattr(config, "volume_kms_key_id", None)
        or not instance_types.has_local_storage(instance_type)
    ):
        return settings, None
    return settings.model_copy(update={"volume_kms_key_id": None}), (
        f"step {step_name!r} runs on {instance_type}, whose local storage its hardware encrypts: "
        "SageMaker takes no volume key there, so the stack's key is not set as its VolumeKmsKeyId"
    )


def default_checkpoint_uri(bucket: str, pipeline_name: str, step_name: str) -> dict[str, Any]:
    """`s3://<bucket>/sagemaker-pipelines/<pipeline>/checkpoints/<execution id>/<step>`, per run.

    Per execution, because SageMaker copies the prefix into /opt/ml/checkpoints when a job
    starts: a shared prefix would hand one run's checkpoints to the next.
    """
    prefix = f"s3://{bucket}/sagemaker-pipelines/{pipeline_name}/checkpoints"
    values = [prefix, execution_variable("PipelineExecutionId"), names.sagemaker_step_name(step_name)]
    return {"Std:Join": {"On": "/", "Values": values}}


def build(
    *,
    snapshot: Any,
    config: SagemakerPipelinesOrchestratorConfig,
    pipeline_settings: SagemakerPipelinesOrchestratorSettings,
    step_settings: Mapping[str, SagemakerPipelinesOrchestratorSettings],
    images: Mapping[str, str],
    step_environments: Mapping[str, Mapping[str, str]],
) -> BuiltPipeline:
    """Turn ZenML's snapshot into a definition checked against SageMaker's limits (no AWS call).

    `step_settings` are `orchestrator.get_settings(step)`, already merged by ZenML (component,
    pipeline, step). Raises `InvalidPipelineError` listing every problem.
    """
    from zenml.orchestrators.utils import get_step_entrypoint_command

    from sagemaker_stack.orchestrator.validation import validate_spec
    from sagemaker_stack.step.configuration import (
        SagemakerStackStepEntrypointConfiguration,
        SagemakerStackStepGroupConfiguration,
    )

    zenml_name = str(snapshot.pipeline_configuration.name)
    snapshot_id = str(snapshot.id)
    pipeline_name = names.sagemaker_pipeline_name(config.resource_prefix, zenml_name)
    steps: list[StepSpec] = []
    stripped: set[str] = set()
    problems: list[str] = []
    warnings: list[str] = []
    for invocation_id, step in snapshot.step_configurations.items():
        settings = step_settings[invocation_id]
        instance_type, problem = choose_instance_type(
            settings, step.config.resource_settings, f"step {invocation_id!r}"
        )
        if problem:
            problems.append(problem)
        parent = step.config.docker_settings.parent_image or getattr(config, "base_image", None)
        warning = gpu_on_cpu_image_warning(invocation_id, instance_type, [images[invocation_id], parent])
        if warning:
            warnings.append(warning)
        settings, warning = stack_volume_key(settings, config, invocation_id, instance_type)
        if warning:
            warnings.append(warning)
        checkpoint = None
        if settings.use_training_step and settings.use_spot_instances:
            checkpoint = default_checkpoint_uri(config.bucket, pipeline_name, invocation_id)
        command, arguments = get_step_entrypoint_command(
            invocation_id=invocation_id,
            config=step.config,
            entrypoint_config_class=SagemakerStackStepEntrypointConfiguration,
            snapshot_id=snapshot.id,
        )
        environment, dropped = step_environment(
            step_environments.get(invocation_id, {}), settings.environment, config.secret_arn
        )
        stripped.update(dropped)
        steps.append(
            StepSpec(
                name=invocation_id,
                upstream=tuple(step.spec.upstream_steps),
                image=images[invocation_id],
                entrypoint=tuple(command),
                arguments=snapshot_arguments(arguments, snapshot_id),
                environment=environment,
                settings=resolve_step_settings(
                    settings,
                    config.execution_role_arn,
                    instance_type=instance_type,
                    checkpoint_s3_uri=checkpoint,
                    # A step that runs a command of its own has no ZenML step to run in a group.
                    group_steps=settings.group_steps and step.config.command is None,
                ),
            )
        )
    tags = {ZENML_PIPELINE_TAG: zenml_name[:256], **pipeline_settings.pipeline_tags}
    description = f"ZenML pipeline {zenml_name!r}, run by the sagemaker_pipelines orchestrator"
    spec = PipelineSpec(
        pipeline_name=pipeline_name,
        steps=tuple(steps),
        max_parallel_steps=pipeline_settings.max_parallel_steps,
        tags=tags,
        description=description,
        output_s3_uri=f"s3://{config.bucket}/sagemaker-pipelines/{pipeline_name}",
        parameters={SNAPSHOT_ID_PARAMETER: snapshot_id},
        region=config.region,
        group_arguments=snapshot_arguments(
            SagemakerStackStepGroupConfiguration.get_entrypoint_arguments(snapshot_id=snapshot.id),
            snapshot_id,
        ),
    )
    validate_spec(spec, [*image_problems(images, config.region), *problems])
    document = definitions.build_definition(spec)
    step_names = definitions.step_names(spec)
    # A training step is named as the user knows it; a group by its SageMaker step name.
    labels = {sm: zenml[0] if len(zenml) == 1 else sm for sm, zenml in members_of(step_names).items()}
    warnings.extend(warm_pool_warnings(document["Steps"], labels))
    return BuiltPipeline(
        spec=spec,
        definition=document,
        definition_json=definitions.to_json(document),
        sagemaker_pipeline_name=pipeline_name,
        step_names=step_names,
        use_training={step_names[step.name]: step.settings.use_training_step for step in steps},
        max_parallel_steps=spec.max_parallel_steps,
        tags=tags,
        description=description,
        stripped_environment=sorted(stripped),
        warnings=warnings,
        pipeline_tags=dict(pipeline_settings.pipeline_tags),
        pipeline_parameters={SNAPSHOT_ID_PARAMETER: snapshot_id},
    )


def resolve_step_settings(
    settings: SagemakerPipelinesOrchestratorSettings,
    execution_role_arn: str,
    instance_type: str | None = None,
    checkpoint_s3_uri: str | Mapping[str, Any] | None = None,
    group_steps: bool = False,
) -> ResolvedStepSettings:
    """One step's settings as the definition needs them, with the role and instance type picked.

    `settings` are `orchestrator.get_settings(step)`: ZenML has already merged the component's,
    the pipeline's and the step's settings (step fields winning, dicts merged key by key).
    `instance_type` is the one chosen for the step (`choose_instance_type`: the
    setting, or what its ResourceSettings ask for; by default the setting or
    `DEFAULT_INSTANCE_TYPE`); `checkpoint_s3_uri` the default checkpoint location of a spot
    training step when the settings name none; `group_steps` whether the step may share a job.
    """
    training = bool(settings.use_training_step)
    return ResolvedStepSettings(
        instance_type=instance_type or settings.instance_type or DEFAULT_INSTANCE_TYPE,
        role_arn=settings.execution_role or execution_role_arn,
        volume_size_in_gb=settings.volume_size_in_gb,
        max_runtime_in_seconds=settings.max_runtime_in_seconds,
        tags=dict(settings.tags),
        use_training_step=training,
        keep_alive_period_in_seconds=settings.keep_alive_period_in_seconds,
        retries=settings.retries,
        input_data_s3_uri=settings.input_data_s3_uri,
        input_data_s3_mode=settings.input_data_s3_mode,
        output_data_s3_uri=settings.output_data_s3_uri,
        output_data_s3_mode=settings.output_data_s3_mode,
        sdk_arguments=dict(settings.estimator_args if training else settings.processor_args),
        job_arguments=dict(settings.job_arguments),
        use_spot_instances=settings.use_spot_instances,
        max_wait_time_in_seconds=settings.max_wait_time_in_seconds,
        checkpoint_s3_uri=settings.checkpoint_s3_uri or checkpoint_s3_uri,
        subnets=tuple(settings.subnets or ()),
        security_group_ids=tuple(settings.security_group_ids or ()),
        inter_container_traffic_encryption=settings.enable_inter_container_traffic_encryption,
        volume_kms_key_id=settings.volume_kms_key_id,
        output_kms_key_id=settings.output_kms_key_id,
        group_steps=group_steps,
    )
