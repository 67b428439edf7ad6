"""ZenML flavor `sagemaker_pipelines`: configuration and settings, nothing heavy.

ZenML imports a flavor module whenever it lists flavors, validates a stack or resolves settings,
so this module imports only pydantic and ZenML's base classes: no boto3 client, no `sagemaker`
SDK. The implementation (`sagemaker_stack.orchestrator.sagemaker_orchestrator`) is imported only
when ZenML asks for `implementation_class`.

How settings reach a step (measured in ZenML 0.98, `zenml.config.compiler` and
`StepConfiguration.apply_pipeline_configuration`): the compiler first merges the orchestrator
component's configured values into the pipeline-level settings, then merges those into every
step's settings, the step's explicitly set fields winning and dict fields (`processor_tags`,
`environment`) merged key by key. `orchestrator.get_settings(step)` therefore already returns the
fully resolved settings for a step, and `get_settings(snapshot)` those of the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pydantic import Field
from zenml.config.base_settings import BaseSettings
from zenml.orchestrators import BaseOrchestratorConfig
from zenml.orchestrators.base_orchestrator import BaseOrchestratorFlavor

if TYPE_CHECKING:
    from zenml.orchestrators import BaseOrchestrator

    from sagemaker_stack.config import StackConfig

FLAVOR_NAME: Final = "sagemaker_pipelines"
#: What `zenml orchestrator flavor register` takes (and `register` stores in the ZenML server).
FLAVOR_SOURCE: Final = "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor"
DEFAULT_INSTANCE_TYPE = "ml.t3.medium"


class SagemakerPipelinesOrchestratorSettings(BaseSettings):
    """Per pipeline and per step settings; limits are checked by `sagemaker_stack.orchestrator.validation`.

    Ranges are deliberately not encoded here: validation reads them from botocore's SageMaker
    service model and reports every problem of a pipeline at once, naming the step.
    """

    instance_type: str = Field(
        default=DEFAULT_INSTANCE_TYPE,
        description="SageMaker instance type of the step's job, e.g. ml.m5.xlarge or ml.g5.xlarge "
        "(a GPU type needs a CUDA base image).",
    )
    processor_role: str | None = Field(
        default=None, description="IAM role ARN the step's job runs as; default: the stack's execution role."
    )
    volume_size_in_gb: int = Field(default=30, description="Size of the job's ML storage volume in GB.")
    max_runtime_in_seconds: int = Field(
        default=86400, description="The job is stopped after this many seconds."
    )
    processor_tags: dict[str, str] = Field(
        default_factory=dict, description="Tags put on the step's processing or training job."
    )
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables of the step's container. Readable by anyone who "
        "may describe the pipeline: never put secrets here.",
    )
    use_training_step: bool = Field(
        default=False, description="Run the step as a SageMaker training job instead of a processing job."
    )
    keep_alive_period_in_seconds: int | None = Field(
        default=None,
        description="Training steps only: keep the instance warm this long after the job (warm pools).",
    )
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
    synchronous: bool = Field(default=True, description="Wait for the run to finish and show its progress.")


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


def config_kwargs_from_stack_config(config: StackConfig) -> dict[str, Any]:
    """Orchestrator configuration values for a deployed stack (the StackConfig hand-off)."""
    return {
        "execution_role_arn": config.execution_role_arn,
        "region": config.region,
        "bucket": config.bucket_name,
        "secret_arn": config.secret_arn,
        "resource_prefix": config.resource_prefix,
        "scheduler_role_arn": config.scheduler_role_arn,
        "endpoint_url": config.endpoint_url,
        "base_image": config.base_image,
    }


class SagemakerPipelinesOrchestratorFlavor(BaseOrchestratorFlavor):
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
    def docs_url(self) -> str | None:
        """No hosted docs: the package README describes the flavor."""
        return None

    @property
    def sdk_docs_url(self) -> str | None:
        """No hosted SDK docs for a custom flavor."""
        return None

    @property
    def logo_url(self) -> str:
        """The SageMaker logo ZenML's dashboard already uses."""
        return "https://public-flavor-logos.s3.eu-central-1.amazonaws.com/orchestrator/sagemaker.png"

    @property
    def config_class(self) -> type[SagemakerPipelinesOrchestratorConfig]:
        """The component configuration."""
        return SagemakerPipelinesOrchestratorConfig

    @property
    def implementation_class(self) -> type[BaseOrchestrator]:
        """Imported only here: the implementation pulls in boto3."""
        from sagemaker_stack.orchestrator.sagemaker_orchestrator import SagemakerPipelinesOrchestrator

        return SagemakerPipelinesOrchestrator
