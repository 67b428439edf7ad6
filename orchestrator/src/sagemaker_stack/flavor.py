"""ZenML flavor `sagemaker_pipelines`: configuration and settings, nothing heavy.

ZenML imports a flavor module whenever it lists flavors, validates a stack or resolves settings,
so this module imports only pydantic and ZenML's base classes: no boto3 client, no `sagemaker`
SDK. The implementation (`sagemaker_stack.orchestrator.sagemaker_orchestrator`) is imported only
when ZenML asks for `implementation_class`.

How settings reach a step (measured in ZenML 0.98, `zenml.config.compiler` and
`StepConfiguration.apply_pipeline_configuration`): the compiler first merges the orchestrator
component's configured values into the pipeline-level settings, then merges those into every
step's settings, the step's explicitly set fields winning and dict fields (`tags`, `environment`,
`processor_args`, ...) merged key by key. `orchestrator.get_settings(step)` therefore already returns the
fully resolved settings for a step, and `get_settings(snapshot)` those of the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pydantic import Field
from zenml.config.base_settings import BaseSettings
from zenml.models import ServiceConnectorRequirements
from zenml.orchestrators import BaseOrchestratorConfig
from zenml.orchestrators.base_orchestrator import BaseOrchestratorFlavor
from zenml.step_operators.base_step_operator import BaseStepOperatorConfig, BaseStepOperatorFlavor
from zenml.utils import deprecation_utils

from sagemaker_stack.defaults import DEFAULT_INSTANCE_TYPE, DEFAULT_OUTPUT_DATA_S3_MODE

if TYPE_CHECKING:
    from zenml.orchestrators import BaseOrchestrator
    from zenml.step_operators import BaseStepOperator

    from sagemaker_stack.config import StackConfig

FLAVOR_NAME: Final = "sagemaker_pipelines"
#: What `zenml orchestrator flavor register` takes (and `register` stores in the ZenML server).
FLAVOR_SOURCE: Final = "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor"
STEP_OPERATOR_FLAVOR: Final = "sagemaker_stack_jobs"
#: What `zenml step-operator flavor register` takes (and `register` stores in the ZenML server).
STEP_OPERATOR_FLAVOR_SOURCE: Final = "sagemaker_stack.flavor.SagemakerJobsStepOperatorFlavor"
#: ZenML's AWS connector resource type whose `connect()` gives a boto3 session (as the built-in
#: SageMaker flavors ask for).
AWS_GENERIC_RESOURCE: Final = "aws-generic"


class SagemakerPipelinesOrchestratorSettings(BaseSettings):
    """Per pipeline and per step settings; limits are checked by `sagemaker_stack.orchestrator.validation`.

    Every field of ZenML's built-in `SagemakerOrchestratorSettings` (zenml.integrations.aws, 0.98)
    is here with the same name and meaning, including its deprecated aliases; the fields after
    `processor_tags` are ours. Where a default differs from the built-in flavor's
    (`use_training_step`, `keep_alive_period_in_seconds`, the training `instance_type`) ours is
    deliberate and the settings table in docs/settings.md marks it.

    Ranges are deliberately not encoded here: validation reads them from botocore's SageMaker
    service model and reports every problem of a pipeline at once, naming the step. So is the
    built-in flavor's rule that a training step takes neither a dict of outputs nor an output mode
    other than EndOfJob: it needs the merged settings of a step, which only exist after ZenML's
    merge, and is reported with the others.
    """

    synchronous: bool = Field(default=True, description="Wait for the run to finish and show its progress.")
    instance_type: str | None = Field(
        default=None,
        description="SageMaker instance type of the step's job, e.g. ml.m5.xlarge or ml.g5.xlarge "
        f"(a GPU type needs a CUDA base image). None: the cheapest type that satisfies the step's "
        f"ResourceSettings, or {DEFAULT_INSTANCE_TYPE} when it has none.",
    )
    execution_role: str | None = Field(
        default=None, description="IAM role ARN the step's job runs as; default: the stack's execution role."
    )
    volume_size_in_gb: int = Field(default=30, description="Size of the job's ML storage volume in GB.")
    max_runtime_in_seconds: int = Field(
        default=86400, description="The job is stopped after this many seconds."
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="Tags put on the step's processing or training job."
    )
    pipeline_tags: dict[str, str] = Field(
        default_factory=dict, description="Tags put on the SageMaker pipeline (pipeline level)."
    )
    keep_alive_period_in_seconds: int | None = Field(
        default=None,
        description="Training steps only: keep the instance warm this long after the job (warm "
        "pools, billed while warm). ZenML's built-in flavor defaults to 300.",
    )
    use_training_step: bool | None = Field(
        default=None,
        description="Run the step as a SageMaker training job instead of a processing job. None "
        "(the default) means a processing job; ZenML's built-in flavor defaults to training jobs.",
    )
    processor_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the SageMaker SDK's `Processor` (processing steps), "
        "mapped to the CreateProcessingJob fields they set; they win over the settings above.",
    )
    estimator_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the SageMaker SDK's `Estimator` (training steps), "
        "mapped to the CreateTrainingJob fields they set; they win over the settings above.",
    )
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables of the step's container. Readable by anyone who "
        "may describe the pipeline: never put secrets here.",
    )
    input_data_s3_mode: str = Field(
        default="File",
        description="How input data reaches the container: File or Pipe (training also FastFile).",
    )
    input_data_s3_uri: str | dict[str, str] | None = Field(
        default=None,
        union_mode="left_to_right",
        description="S3 data the step reads: one URI (at /opt/ml/processing/input/data, or the "
        "training channel 'training'), or channel name -> URI.",
    )
    output_data_s3_mode: str = Field(
        default=DEFAULT_OUTPUT_DATA_S3_MODE,
        description="When outputs are uploaded: EndOfJob or Continuous (processing steps).",
    )
    output_data_s3_uri: str | dict[str, str] | None = Field(
        default=None,
        union_mode="left_to_right",
        description="Where the step's outputs go: one URI (from /opt/ml/processing/output/data, or "
        "a training job's output path), or channel name -> URI (processing steps).",
    )
    processor_role: str | None = Field(default=None, description="DEPRECATED: use `execution_role`.")
    processor_tags: dict[str, str] | None = Field(default=None, description="DEPRECATED: use `tags`.")

    retries: int = Field(
        default=0,
        description="Extra attempts SageMaker makes when a step fails for an infrastructure reason "
        "(capacity, internal error, resource limit, throttling). Failures of the step's own code are "
        "retried by ZenML's step `retry` configuration inside the container.",
    )
    max_parallel_steps: int | None = Field(
        default=None,
        description="Pipeline-wide: at most this many steps run at once (None: SageMaker's default).",
    )
    job_arguments: dict[str, Any] = Field(
        default_factory=dict,
        description="Raw CreateProcessingJob / CreateTrainingJob members merged into the step's "
        "request (API names, e.g. {'NetworkConfig': {...}}); a member another setting sets is refused.",
    )
    use_spot_instances: bool = Field(
        default=False, description="Training steps only: managed spot training (EnableManagedSpotTraining)."
    )
    max_wait_time_in_seconds: int | None = Field(
        default=None,
        description="Spot training: the most time to wait for capacity plus run; at least "
        "max_runtime_in_seconds (default: max_runtime_in_seconds).",
    )
    checkpoint_s3_uri: str | None = Field(
        default=None,
        description="Training steps: where SageMaker syncs /opt/ml/checkpoints; default for spot "
        "steps: under the stack's bucket.",
    )
    group_steps: bool = Field(
        default=True,
        description="Run this step in one SageMaker job with the other steps of the pipeline that "
        "have the same job configuration (image, instance type and count, volume, role, network, "
        "keys, job kind, environment, retries, tags, SDK and job arguments): each job start-up is "
        "paid once per group instead of once per step. A step joins a group only when its own "
        "merged setting is True; parallel steps of a group run concurrently inside the job (at most "
        "one per CPU core). Turn it off for parallel steps that each need their own instance, or for "
        "steps that must not share a process.",
    )
    max_watch_outage_in_seconds: int = Field(
        default=600,
        ge=0,
        description="Pipeline-wide, synchronous runs: how long the watch keeps retrying while "
        "SageMaker cannot be reached (connection refused or reset, timeouts, throttling, 5xx) "
        "before it stops watching; the run itself goes on.",
    )

    subnets: list[str] | None = Field(
        default=None,
        description="Private subnets the step's job runs in (its VpcConfig), with security_group_ids. "
        "Default: the stack's subnets when it was deployed with a VPC.",
    )
    security_group_ids: list[str] | None = Field(
        default=None,
        description="Security groups of the step's job in those subnets. Default: the stack's jobs group.",
    )
    enable_inter_container_traffic_encryption: bool = Field(
        default=False,
        description="Encrypt the traffic between the job's instances "
        "(EnableInterContainerTrafficEncryption).",
    )
    volume_kms_key_id: str | None = Field(
        default=None,
        description="KMS key of the job's storage volume (key id, key or alias ARN, alias). Default: the "
        "stack's key when it has one (not sent to instance types with local storage, which is "
        "encrypted by the instance's hardware: SageMaker refuses a volume key there).",
    )
    output_kms_key_id: str | None = Field(
        default=None,
        description="KMS key of what SageMaker uploads from the job (processing outputs, a training "
        "job's output path). Default: the stack's key when it has one.",
    )

    _deprecation_validator = deprecation_utils.deprecate_pydantic_attributes(
        ("processor_role", "execution_role"), ("processor_tags", "tags")
    )


class SagemakerPipelinesOrchestratorConfig(BaseOrchestratorConfig, SagemakerPipelinesOrchestratorSettings):
    """The orchestrator component's configuration: one deployed stack (see `StackConfig`).

    The settings fields double as component-wide defaults, as in ZenML's own flavors.
    """

    execution_role_arn: str = Field(description="Role SageMaker pipelines and their jobs run as.")
    region: str = Field(description="AWS region of the stack.")
    bucket: str = Field(description="The stack's S3 bucket (training step output, code uploads).")
    secret_arn: str = Field(description="Secrets Manager secret with the ZenML server URL and API key.")
    resource_prefix: str = Field(
        description="SageMaker pipelines are named '<resource_prefix>-<pipeline name>'."
    )
    scheduler_role_arn: str | None = Field(
        default=None, description="Role EventBridge Scheduler assumes to start scheduled runs."
    )
    endpoint_url: str | None = Field(
        default=None, description="AWS endpoint override (the local emulator only)."
    )
    base_image: str | None = Field(
        default=None,
        description="The stack's base image (`sagemaker-stack image build`): the parent image of every "
        "pipeline image ZenML builds when the pipeline's DockerSettings name none.",
    )

    @property
    def is_remote(self) -> bool:
        """Steps run on SageMaker, not on the client."""
        return True

    @property
    def is_synchronous(self) -> bool:
        """Whether `zenml pipeline run` waits for the run (the `synchronous` setting)."""
        return self.synchronous

    @property
    def is_schedulable(self) -> bool:
        """Schedules are EventBridge Scheduler schedules that start the SageMaker pipeline."""
        return True


class SagemakerJobsStepOperatorSettings(SagemakerPipelinesOrchestratorSettings):
    """The step operator's per step settings: the orchestrator's, same names, same checks.

    A step moves between our orchestrator and the step operator with its settings unchanged.
    What only a SageMaker pipeline has does nothing here (`pipeline_tags`, `max_parallel_steps`,
    `retries`: a standalone job has no retry policy, ZenML's step `retry` still applies; and
    `synchronous`: ZenML waits for a step operator's step). `max_watch_outage_in_seconds` bounds
    the wait for the step's job.
    """


class SagemakerJobsStepOperatorConfig(BaseStepOperatorConfig, SagemakerJobsStepOperatorSettings):
    """The step operator component's configuration: one deployed stack, as the orchestrator's."""

    execution_role_arn: str = Field(description="Role the step's SageMaker job runs as.")
    region: str = Field(description="AWS region of the stack: the jobs run there.")
    bucket: str = Field(description="The stack's S3 bucket (a training job's output path).")
    secret_arn: str = Field(description="Secrets Manager secret with the ZenML server URL and API key.")
    resource_prefix: str = Field(description="Job names start with '<resource_prefix>-'.")
    endpoint_url: str | None = Field(
        default=None, description="AWS endpoint override (the local emulator only)."
    )
    base_image: str | None = Field(
        default=None,
        description="The stack's base image: the parent of the step's image when its DockerSettings "
        "name none.",
    )

    @property
    def is_remote(self) -> bool:
        """The step runs on SageMaker, not on the client."""
        return True


def config_kwargs_from_stack_config(config: StackConfig) -> dict[str, Any]:
    """Orchestrator configuration values for a deployed stack (the StackConfig hand-off).

    The network and key settings are component-wide defaults here, so that every step of every
    pipeline runs in the stack's subnets with its key unless its own settings say otherwise.
    """
    network: dict[str, Any] = {}
    if config.subnet_ids and config.security_group_id:
        network = {"subnets": list(config.subnet_ids), "security_group_ids": [config.security_group_id]}
    if config.kms_key_arn:
        network.update(volume_kms_key_id=config.kms_key_arn, output_kms_key_id=config.kms_key_arn)
    return {
        **network,
        "execution_role_arn": config.execution_role_arn,
        "region": config.region,
        "bucket": config.bucket_name,
        "secret_arn": config.secret_arn,
        "resource_prefix": config.resource_prefix,
        "scheduler_role_arn": config.scheduler_role_arn,
        "endpoint_url": config.endpoint_url,
        "base_image": config.base_image,
    }


#: The orchestrator's configuration keys the step operator has not (only pipelines are scheduled).
_ORCHESTRATOR_ONLY: Final = ("scheduler_role_arn",)


def step_operator_kwargs_from_stack_config(config: StackConfig) -> dict[str, Any]:
    """Step operator configuration values for a deployed stack: the orchestrator's, bar scheduling."""
    values = config_kwargs_from_stack_config(config)
    return {key: value for key, value in values.items() if key not in _ORCHESTRATOR_ONLY}


class PackageFlavor:
    """What every ZenML flavor of this package shares: no hosted docs, docs/settings.md describes it."""

    @property
    def docs_url(self) -> str | None:
        """No hosted docs: the repository's docs/settings.md describes the flavor."""
        return None

    @property
    def sdk_docs_url(self) -> str | None:
        """No hosted SDK docs for a custom flavor."""
        return None


class SagemakerPipelinesOrchestratorFlavor(PackageFlavor, BaseOrchestratorFlavor):
    """Runs each ZenML pipeline as one SageMaker pipeline, updated in place."""

    @property
    def name(self) -> str:
        """The flavor name used in `zenml orchestrator register -f`."""
        return FLAVOR_NAME

    @property
    def display_name(self) -> str:
        """Shown in the dashboard."""
        return "SageMaker Pipelines"

    @property
    def logo_url(self) -> str:
        """The SageMaker logo ZenML's dashboard already uses."""
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/orchestrator/sagemaker.png"

    @property
    def config_class(self) -> type[SagemakerPipelinesOrchestratorConfig]:
        """The component configuration."""
        return SagemakerPipelinesOrchestratorConfig

    @property
    def service_connector_requirements(self) -> ServiceConnectorRequirements | None:
        """An AWS connector may be linked: its credentials then make every AWS call."""
        return ServiceConnectorRequirements(resource_type=AWS_GENERIC_RESOURCE)

    @property
    def implementation_class(self) -> type[BaseOrchestrator]:
        """Imported only here: the implementation pulls in boto3."""
        from sagemaker_stack.orchestrator.sagemaker_orchestrator import SagemakerPipelinesOrchestrator

        return SagemakerPipelinesOrchestrator


class SagemakerJobsStepOperatorFlavor(PackageFlavor, BaseStepOperatorFlavor):
    """Runs a step of any orchestrator as one standalone SageMaker job, with the stack's settings."""

    @property
    def name(self) -> str:
        """The flavor name used in `zenml step-operator register -f`."""
        return STEP_OPERATOR_FLAVOR

    @property
    def display_name(self) -> str:
        """Shown in the dashboard."""
        return "SageMaker jobs (sagemaker-stack)"

    @property
    def logo_url(self) -> str:
        """The SageMaker logo ZenML's dashboard already uses."""
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/step_operator/sagemaker.png"

    @property
    def config_class(self) -> type[SagemakerJobsStepOperatorConfig]:
        """The component configuration."""
        return SagemakerJobsStepOperatorConfig

    @property
    def service_connector_requirements(self) -> ServiceConnectorRequirements | None:
        """An AWS connector may be linked: its credentials then make every AWS call."""
        return ServiceConnectorRequirements(resource_type=AWS_GENERIC_RESOURCE)

    @property
    def implementation_class(self) -> type[BaseStepOperator]:
        """Imported only here: the implementation pulls in boto3."""
        from sagemaker_stack.step_operator.step_operator import SagemakerJobsStepOperator

        return SagemakerJobsStepOperator
