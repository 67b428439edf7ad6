"""Every SageMaker limit a pipeline can break, checked before any AWS call, all at once.

Limits come from botocore's SageMaker service model (the same data the AWS API validates
against; `service_model` walks a request against it): enums, min/max and patterns of
PipelineName, StepName, ProcessingInstanceType, ProcessingVolumeSizeInGB, RoleArn, TagList,
ProcessingEnvironmentMap/Key/Value, ContainerArgument, S3Uri, VpcConfig and so on. Each step's
job request (`job_request`) is checked against the CreateProcessingJob/CreateTrainingJob input
shape, whatever setting put a member there: first-class settings, `processor_args` /
`estimator_args` and `job_arguments` alike, and each problem names the setting behind it.

Rules that are not in the model, and their source:
- retries: SageMaker Pipelines retry policies allow MaxAttempts 1..20 (`MAX_ATTEMPTS_CAP` in
  sagemaker/workflow/retry.py; AWS "Retry policy for pipeline steps" docs).
- Training jobs' MaxRuntimeInSeconds and VolumeSizeInGB have no maximum in the model (the caps are
  account quotas), so only the minimum is checked for them.
- Managed spot training (CreateTrainingJob docs, StoppingCondition): MaxWaitTimeInSeconds only
  with EnableManagedSpotTraining, and at least MaxRuntimeInSeconds; processing jobs have no spot.
- ZenML's built-in flavor: a training step takes one output URI and the EndOfJob mode only.

Expressions SageMaker resolves per execution (`{"Get": "Execution.<variable>"}`,
`{"Get": "Parameters.<declared name>"}` and `{"Std:Join": ...}` of those) are checked as
expressions, then replaced by a typical value (the parameter's default, an execution ARN) so
that botocore's shapes still check every other member and the lengths.

Error messages name the step, the setting, the bad value and what is allowed. Environment values
are never echoed (only their length), since they are the one place a user might have put a token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from sagemaker_stack.orchestrator import job_request, service_model
from sagemaker_stack.orchestrator.definition import (
    PROCESSING,
    TRAINING,
    dag_problems,
    parallelism_configuration,
    tag_list,
)
from sagemaker_stack.orchestrator.definition import groups as definition_groups
from sagemaker_stack.orchestrator.environment import KNOWN_CREDENTIALS
from sagemaker_stack.orchestrator.names import sagemaker_step_name
from sagemaker_stack.orchestrator.network_rules import network_problems
from sagemaker_stack.orchestrator.sdk_arguments import map_arguments
from sagemaker_stack.orchestrator.spec import (
    EXECUTION_VARIABLES,
    InvalidPipelineError,
    PipelineSpec,
    StepSpec,
)
from sagemaker_stack.orchestrator.spec_rules import settings_problems
from sagemaker_stack.orchestrator.step_groups import group_step

__all__ = ["InvalidPipelineError", "job_problems", "validate_spec"]

#: sagemaker/workflow/retry.py MAX_ATTEMPTS_CAP (not in botocore's model: the definition schema isn't).
MAX_RETRIES: Final = 20

_OPERATION: Final = {PROCESSING: "CreateProcessingJob", TRAINING: "CreateTrainingJob"}
_JOB_NAME: Final = {PROCESSING: "ProcessingJobName", TRAINING: "TrainingJobName"}
_PLACEHOLDER_JOB_NAME: Final = "pipelines-placeholder-job"
_PLACEHOLDER_EXECUTION_VALUE: Final = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e"


def _step_problems(step: StepSpec, spec: PipelineSpec) -> list[str]:
    where = f"step {step.name!r}"
    kind = TRAINING if step.settings.use_training_step else PROCESSING
    operation = _OPERATION[kind]
    problems: list[str] = []

    retries = step.settings.retries
    if not 0 <= retries <= MAX_RETRIES:
        problems.append(
            f"{where}: retries = {retries!r} is out of range; allowed: between 0 and {MAX_RETRIES} "
            "(SageMaker retry policies allow at most 20 attempts)"
        )
    for key in sorted(KNOWN_CREDENTIALS & set(step.environment)):
        problems.append(
            f"{where}: environment variable {key} would put a credential into the pipeline definition, "
            "which anyone allowed to DescribePipeline can read; remove it (steps read ZenML "
            "credentials from the stack's secret, and AWS credentials come from the execution role)"
        )
    for key in sorted(step.environment):
        value = step.environment[key]
        if isinstance(value, Mapping) and not _is_expression(value, spec):
            problems.append(
                f"{where}: environment {key} = {service_model.show(dict(value))} {_expression_help(spec)}"
            )
    for index, argument in enumerate(step.arguments):
        if isinstance(argument, Mapping) and not _is_expression(argument, spec):
            problems.append(
                f"{where}: argument {index} = {service_model.show(dict(argument))} {_expression_help(spec)}"
            )
    checkpoint = step.settings.checkpoint_s3_uri
    if isinstance(checkpoint, Mapping) and not _is_expression(checkpoint, spec):
        problems.append(
            f"{where}: checkpoint_s3_uri = {service_model.show(dict(checkpoint))} {_expression_help(spec)}"
        )

    output = spec.output_s3_uri
    if kind == TRAINING and output is None and step.settings.output_data_s3_uri is None:
        problems.append(
            f"{where}: use_training_step=True needs an S3 output path (CreateTrainingJob requires "
            "OutputDataConfig): set output_data_s3_uri, or PipelineSpec.output_s3_uri to an s3:// prefix"
        )
    # keep_alive_period_in_seconds is not used by processing steps (warm pools are a training job
    # feature), so a pipeline-wide value with some processing steps is fine and not reported.
    _, sdk_problems = map_arguments(kind, step.settings.sdk_arguments)
    problems.extend(f"{where}: {problem}" for problem in sdk_problems)
    if kind == TRAINING and output is None:
        output = "s3://placeholder-bucket/output"  # reported above; check the rest of the request
    request = job_request.build(step, output)
    problems.extend(f"{where}: {problem}" for problem in settings_problems(step, request))
    problems.extend(
        f"{where}: {problem}" for problem in network_problems(request, kind == TRAINING, spec.region)
    )

    body = {_JOB_NAME[kind]: _PLACEHOLDER_JOB_NAME, **_with_placeholders(request.body, spec)}
    shape = service_model.input_shape(operation)
    reported: set[str] = set()
    for path, problem in service_model.shape_problems(body, shape):
        reported.add(path)
        problems.append(f"{where}: {_subject(request, path)} {problem} [{operation} {path}]")
    for path, message in service_model.param_validator_problems(body, shape):
        if path in reported:
            continue
        subject = "" if path.startswith("Environment.") else f"{_source(request, path)}: "
        problems.append(f"{where}: {subject}{message} [{operation}]")
    return problems


def _source(request: job_request.JobRequest, path: str) -> str:
    """The setting that put the member at `path` into the request."""
    return request.source_of(service_model.path_parts(path)) or "step arguments"


def _subject(request: job_request.JobRequest, path: str) -> str:
    """What a problem is about, in the user's terms: the setting and its value."""
    if path.startswith("Environment."):
        return f"environment variable {path.split('.', 1)[1]!r}:"
    if path == "Environment":  # the count; values are never shown
        return "environment (after splitting values too long for one variable)"
    arguments = request.body
    source = _source(request, path)
    shown = service_model.show(service_model.value_at(arguments, path))
    tag = re.fullmatch(r"Tags\[(\d+)\]\.(Key|Value)", path)
    if tag:
        key = arguments["Tags"][int(tag.group(1))].get("Key")
        if tag.group(2) == "Key":
            return f"{source} key {service_model.show(key)}"
        return f"{source} value of {service_model.show(key)} ({shown})"
    return f"{source} = {shown}"


def _is_expression(value: Mapping[str, Any], spec: PipelineSpec) -> bool:
    """An execution variable, a parameter the definition declares, or a Std:Join of those and strings."""
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        items = join.get("Values") if isinstance(join, Mapping) else None
        return (
            isinstance(join, Mapping)
            and isinstance(join.get("On"), str)
            and isinstance(items, list)
            and all(
                isinstance(item, str) or (isinstance(item, Mapping) and _is_expression(item, spec))
                for item in items
            )
        )
    get = value.get("Get")
    if set(value) != {"Get"} or not isinstance(get, str):
        return False
    head, _, name = get.partition(".")
    return (head == "Execution" and name in EXECUTION_VARIABLES) or (
        head == "Parameters" and name in spec.parameters
    )


def _expression_help(spec: PipelineSpec) -> str:
    parameters = sorted(spec.parameters)
    return (
        "is neither a string nor an expression SageMaker resolves: {'Get': 'Execution.<name>'} with a "
        f"name in {sorted(EXECUTION_VARIABLES)}, or {{'Get': 'Parameters.<name>'}} with a declared "
        f"parameter ({parameters if parameters else 'the pipeline declares none'})"
    )


def _typical_value(value: Any, spec: PipelineSpec) -> Any:
    """What an expression becomes at execution time (a parameter's default, an ARN), for type checks."""
    if isinstance(value, Mapping) and set(value) == {"Std:Join"} and isinstance(value["Std:Join"], Mapping):
        join = value["Std:Join"]
        items = join.get("Values")
        if not isinstance(items, list):
            items = []
        return str(join.get("On", "")).join(str(_typical_value(item, spec)) for item in items)
    if not isinstance(value, Mapping):
        return value
    get = value.get("Get")
    if isinstance(get, str) and get.startswith("Parameters."):
        default = spec.parameters.get(get.removeprefix("Parameters."))
        if default is not None:
            return default
    return _PLACEHOLDER_EXECUTION_VALUE


def _with_placeholders(arguments: dict[str, Any], spec: PipelineSpec) -> dict[str, Any]:
    """Expressions resolved at execution time replaced by a typical value, for type checks."""
    result = dict(arguments)
    environment = arguments.get("Environment")
    if environment:
        result["Environment"] = {key: _typical_value(value, spec) for key, value in environment.items()}
    for member in ("AppSpecification", "AlgorithmSpecification"):
        container = arguments.get(member)
        if isinstance(container, Mapping) and "ContainerArguments" in container:
            result[member] = {
                **container,
                "ContainerArguments": [
                    _typical_value(item, spec) for item in container["ContainerArguments"]
                ],
            }
    checkpoint = arguments.get("CheckpointConfig")
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("S3Uri"), Mapping):
        result["CheckpointConfig"] = {**checkpoint, "S3Uri": _typical_value(checkpoint["S3Uri"], spec)}
    return result


def _pipeline_problems(spec: PipelineSpec) -> list[str]:
    problems: list[str] = []
    create = service_model.input_shape("CreatePipeline")
    fields: list[tuple[str, str, Any]] = [
        ("pipeline name", "PipelineName", spec.pipeline_name),
        ("pipeline description", "PipelineDescription", spec.description),
    ]
    if spec.tags:
        fields.append(("pipeline_tags", "Tags", tag_list(spec.tags)))
    parameter_shape = service_model.input_shape("StartPipelineExecution").members["PipelineParameters"]
    for name in sorted(spec.parameters):
        declared = {"Name": name, "Value": spec.parameters[name]}
        for path, problem in service_model.shape_problems(declared, parameter_shape.member, "Parameter"):
            problems.append(f"pipeline parameter {name!r}: {path.split('.')[-1].lower()} {problem}")
    parallelism = parallelism_configuration(spec.max_parallel_steps)
    if parallelism is not None:
        fields.append(("max_parallel_steps", "ParallelismConfiguration", parallelism))
    for label, member, value in fields:
        for path, problem in service_model.shape_problems(value, create.members[member], member):
            shown = service_model.show(service_model.value_at({member: value}, path))
            problems.append(f"{label} {shown} {problem} [CreatePipeline {path}]")
    if not spec.steps:
        problems.append("the pipeline has no steps")

    step_name_shape = service_model.shape("StepName")
    owners: dict[str, list[str]] = {}
    for step in spec.steps:
        sagemaker = sagemaker_step_name(step.name)
        owners.setdefault(sagemaker, []).append(step.name)
        for _, problem in service_model.shape_problems(sagemaker, step_name_shape, "Name"):
            problems.append(f"step {step.name!r}: SageMaker step name {sagemaker!r} {problem}")
    for sagemaker, zenml in sorted(owners.items()):
        if len(set(zenml)) > 1:
            problems.append(
                f"steps {sorted(set(zenml))} all map to the SageMaker step name {sagemaker!r}: rename one"
            )
    problems.extend(dag_problems(spec.steps))
    return problems


def validate_spec(spec: PipelineSpec, problems: list[str] | None = None) -> None:
    """Raise InvalidPipelineError listing every problem of `spec`; return None when it may be submitted.

    `problems` are the caller's own findings (an impossible ResourceSettings request, say), reported
    with the rest. A definition over CreatePipeline's 1 MB limit is not a problem: `execution`
    submits it through PipelineDefinitionS3Location.
    """
    found = [*(problems or []), *_pipeline_problems(spec)]
    for step in sorted(spec.steps, key=lambda s: s.name):
        found.extend(_step_problems(step, spec))
    if not found:
        # Each step is fine on its own: so must be the job of each step group (its arguments
        # name all its steps, its runtime is their sum) and the group names.
        groups = [group for group in definition_groups(spec) if len(group.steps) > 1]
        found.extend(problem for group in groups for problem in _step_problems(group_step(group, spec), spec))
        step_name_shape = service_model.shape("StepName")
        for group in groups:
            for _, problem in service_model.shape_problems(group.name, step_name_shape, "Name"):
                found.append(f"step group {group.name!r}: SageMaker step name {problem}")
    if found:
        raise InvalidPipelineError(found, spec.pipeline_name)


def job_problems(step: StepSpec, region: str | None, output_s3_uri: str | None) -> list[str]:
    """Every problem of `step` run as one standalone job (no pipeline around it), none if it may run.

    The same checks as a pipeline's step, on the same request `job_request.build` makes: what the
    step operator and a dynamic pipeline's isolated steps submit with CreateProcessingJob /
    CreateTrainingJob.
    """
    spec = PipelineSpec(pipeline_name=step.name, steps=(step,), output_s3_uri=output_s3_uri, region=region)
    return _step_problems(step, spec)
