"""The input of `definition.build_definition`: plain frozen dataclasses, no ZenML, no AWS.

The orchestrator turns a ZenML snapshot into a `PipelineSpec` (the only place that reads ZenML
models); everything after that (definition, validation) is pure and testable without a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sagemaker_stack.user_errors import UserError

#: An environment value is a string or a SageMaker Pipelines expression such as
#: `{"Get": "Execution.PipelineExecutionArn"}` that SageMaker resolves when the execution starts.
EnvironmentValue = str | Mapping[str, str]

#: Execution variables a definition may reference (sagemaker.workflow.execution_variables).
EXECUTION_VARIABLES: Final = frozenset(
    {
        "StartDateTime",
        "CurrentDateTime",
        "PipelineName",
        "PipelineArn",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "TrainingJobName",
        "ProcessingJobName",
    }
)


def execution_variable(name: str) -> dict[str, str]:
    """The definition expression for a SageMaker execution variable, e.g. PipelineExecutionArn."""
    if name not in EXECUTION_VARIABLES:
        raise ValueError(
            f"{name!r} is not a SageMaker execution variable; use one of {sorted(EXECUTION_VARIABLES)}"
        )
    return {"Get": f"Execution.{name}"}


#: `{"Get": "Execution.PipelineExecutionArn"}`: the run's execution ARN, known only at start.
PIPELINE_EXECUTION_ARN: Final = execution_variable("PipelineExecutionArn")

#: A container argument is a string or an expression (`{"Get": "Parameters.<name>"}` or an execution
#: variable) that SageMaker resolves per execution. SageMaker accepts expressions in
#: ContainerArguments of processing and training jobs: the `sagemaker` SDK's ProcessingStep takes
#: pipeline variables in `arguments`, and its own `@step` training jobs pass
#: `Execution.PipelineExecutionId` there.
ArgumentValue = str | Mapping[str, str]


def pipeline_parameter(name: str) -> dict[str, str]:
    """The definition expression that reads a String parameter the definition declares."""
    return {"Get": f"Parameters.{name}"}


class InvalidPipelineError(UserError, ValueError):
    """A pipeline cannot be submitted as it is; the message lists every problem and its fix."""

    def __init__(self, problems: Iterable[str], pipeline_name: str = "") -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        subject = f"pipeline {pipeline_name!r}" if pipeline_name else "the pipeline"
        count = len(self.problems)
        header = f"{subject} cannot run on SageMaker Pipelines ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([header, *(f"  - {problem}" for problem in self.problems)]))


#: An S3 data setting as ZenML's built-in flavor takes it: one URI, or channel name -> URI.
DataLocation = str | Mapping[str, str] | None


@dataclass(frozen=True)
class ResolvedStepSettings:
    """The settings of one step after pipeline and step settings are merged.

    `sdk_arguments` are the step's `processor_args` (processing) or `estimator_args` (training),
    `job_arguments` the raw API members merged last; `definition` maps both onto the request.
    """

    instance_type: str
    role_arn: str
    volume_size_in_gb: int
    max_runtime_in_seconds: int
    tags: Mapping[str, str] = field(default_factory=dict)
    use_training_step: bool = False
    keep_alive_period_in_seconds: int | None = None
    retries: int = 0
    input_data_s3_uri: DataLocation = None
    input_data_s3_mode: str = "File"
    output_data_s3_uri: DataLocation = None
    output_data_s3_mode: str = "EndOfJob"
    sdk_arguments: Mapping[str, Any] = field(default_factory=dict)
    job_arguments: Mapping[str, Any] = field(default_factory=dict)
    use_spot_instances: bool = False
    max_wait_time_in_seconds: int | None = None
    #: A URI, or an expression SageMaker resolves per execution (the default per-run prefix).
    checkpoint_s3_uri: str | Mapping[str, Any] | None = None
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    inter_container_traffic_encryption: bool = False
    volume_kms_key_id: str | None = None
    output_kms_key_id: str | None = None
    #: The step's merged `group_steps` setting, False for a step that runs a command of its own:
    #: whether it may share one job with other steps of the same job configuration (`step_groups`).
    group_steps: bool = False


@dataclass(frozen=True)
class StepSpec:
    """One ZenML step as a SageMaker step.

    `environment` is the container's complete environment (ZenML's, the step's and the
    `environment` setting, merged by the caller); it must hold no secret, since anyone who may
    DescribePipeline can read it. `validation.validate_spec` rejects known credential variables.
    """

    name: str
    upstream: tuple[str, ...]
    image: str
    entrypoint: tuple[str, ...]
    arguments: tuple[ArgumentValue, ...]
    environment: Mapping[str, EnvironmentValue]
    settings: ResolvedStepSettings


@dataclass(frozen=True)
class PipelineSpec:
    """A whole ZenML pipeline as one SageMaker pipeline.

    `output_s3_uri` is where training steps put their (empty) model output: CreateTrainingJob
    requires an OutputDataConfig. Use `s3://<stack bucket>/<some prefix>`; each training step
    writes below `<output_s3_uri>/<step name>/`. Only needed when a step uses a training job.

    `parameters` are the definition's String parameters, name -> default value: what a step may
    read with `pipeline_parameter(name)` and what StartPipelineExecution (or an EventBridge
    schedule's target) may set per execution.
    """

    pipeline_name: str
    steps: tuple[StepSpec, ...]
    max_parallel_steps: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    output_s3_uri: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: The stack's region: a KMS key ARN of another region is refused.
    region: str | None = None
    #: The container arguments of a job that runs a group of steps, before the steps' names (the
    #: group's entrypoint configuration and the snapshot parameter). Empty: no step groups.
    group_arguments: tuple[ArgumentValue, ...] = ()
