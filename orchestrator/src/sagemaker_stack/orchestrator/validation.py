"""Every SageMaker limit a pipeline can break, checked before any AWS call, all at once.

Limits come from botocore's SageMaker service model (the same data the AWS API validates
against): enums, min/max and patterns of PipelineName, StepName, ProcessingInstanceType,
ProcessingVolumeSizeInGB, KeepAlivePeriodInSeconds, RoleArn, TagKey/TagValue/TagList,
ProcessingEnvironmentMap/Key/Value, TrainingEnvironment*, ContainerArgument, PipelineDefinition
and so on. Each step's job request is walked against the CreateProcessingJob/CreateTrainingJob
input shape for those constraints (botocore's own ParamValidator checks only types, required
members and minimums), and then run through ParamValidator as well.

Limits that are not in the model, and their source:
- retries: SageMaker Pipelines retry policies allow MaxAttempts 1..20 (`MAX_ATTEMPTS_CAP` in
  sagemaker/workflow/retry.py; AWS "Retry policy for pipeline steps" docs).
- Training jobs' MaxRuntimeInSeconds and VolumeSizeInGB have no maximum in the model (the caps are
  account quotas), so only the minimum is checked for them.
- The model's patterns are Java regular expressions matched against the whole value;
  `\\p{L}`, `\\p{N}`, `\\p{Z}` and `\\p{Alnum}` are translated for Python's `re` (see `_python_pattern`).

Expressions SageMaker resolves per execution (`{"Get": "Execution.<variable>"}` and
`{"Get": "Parameters.<declared name>"}`, in `Environment` values and `ContainerArguments` items)
are checked as expressions, then replaced by a typical value (the parameter's default, an
execution ARN) so that botocore's shapes still check every other member and the lengths.

Error messages name the step, the setting, the bad value and what is allowed. Environment values
are never echoed (only their length), since they are the one place a user might have put a token.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from sagemaker_stack import aws
from sagemaker_stack.orchestrator.definition import (
    PROCESSING,
    TRAINING,
    build_definition,
    dag_problems,
    parallelism_configuration,
    sagemaker_step_name,
    step_arguments,
    tag_list,
    to_json,
)
from sagemaker_stack.orchestrator.environment import KNOWN_CREDENTIALS
from sagemaker_stack.orchestrator.spec import (
    EXECUTION_VARIABLES,
    InvalidPipelineError,
    PipelineSpec,
    StepSpec,
)

__all__ = ["InvalidPipelineError", "validate_spec"]

#: sagemaker/workflow/retry.py MAX_ATTEMPTS_CAP (not in botocore's model: the definition schema isn't).
MAX_RETRIES: Final = 20

_OPERATION: Final = {PROCESSING: "CreateProcessingJob", TRAINING: "CreateTrainingJob"}
_JOB_NAME: Final = {PROCESSING: "ProcessingJobName", TRAINING: "TrainingJobName"}
_PLACEHOLDER_JOB_NAME: Final = "pipelines-placeholder-job"
_PLACEHOLDER_EXECUTION_VALUE: Final = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e"

#: Request path prefix -> the setting (or spec field) a user changes to fix it.
_SETTING_OF_PATH: Final = {
    PROCESSING: (
        ("ProcessingResources.ClusterConfig.InstanceType", "instance_type"),
        ("ProcessingResources.ClusterConfig.VolumeSizeInGB", "volume_size_in_gb"),
        ("AppSpecification.ImageUri", "image"),
        ("AppSpecification.ContainerEntrypoint", "entrypoint"),
        ("AppSpecification.ContainerArguments", "arguments"),
    ),
    TRAINING: (
        ("ResourceConfig.InstanceType", "instance_type"),
        ("ResourceConfig.VolumeSizeInGB", "volume_size_in_gb"),
        ("ResourceConfig.KeepAlivePeriodInSeconds", "keep_alive_period_in_seconds"),
        ("AlgorithmSpecification.TrainingImage", "image"),
        ("AlgorithmSpecification.ContainerEntrypoint", "entrypoint"),
        ("AlgorithmSpecification.ContainerArguments", "arguments"),
        ("OutputDataConfig.S3OutputPath", "output_s3_uri"),
    ),
}
_COMMON_SETTINGS: Final = (
    ("StoppingCondition.MaxRuntimeInSeconds", "max_runtime_in_seconds"),
    ("RoleArn", "processor_role"),
    ("Tags", "processor_tags"),
    ("Environment", "environment"),
)


def _model() -> Any:
    """botocore's SageMaker service model, parsed once per process and shared with the clients."""
    return aws.service_model("sagemaker")


def _input_shape(operation: str) -> Any:
    return _model().operation_model(operation).input_shape


def _shape(name: str) -> Any:
    return _model().shape_for(name)


_UNICODE_CLASSES: Final = {
    # Valid inside a character class, the only place the model uses them. Python's \w is
    # [\p{L}\p{N}_]; the model uses \p{L}\p{N} only next to '_' (TagKey/TagValue): same set.
    r"\p{L}": r"\w",
    r"\p{N}": r"\w",
    r"\p{Z}": "\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
    r"\p{Alnum}": "a-zA-Z0-9",
}


@functools.lru_cache(maxsize=256)
def _python_pattern(pattern: str) -> re.Pattern[str]:
    """A model (Java) pattern as a Python regex, for a whole-value match."""
    for java, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, python)
    return re.compile(pattern)


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _range_text(metadata: Mapping[str, Any]) -> str:
    low, high = metadata.get("min"), metadata.get("max")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}"


def _shape_problems(value: Any, shape: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, what is wrong and what is allowed) for min/max/pattern/enum violations.

    Types, required and unknown members are left to botocore's ParamValidator.
    """
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                yield from _shape_problems(value[name], member, f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        if not _within(len(value), meta):
            yield path, f"has {len(value)} entries; allowed: {_range_text(meta)} entries"
        for index, item in enumerate(value):
            yield from _shape_problems(item, shape.member, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, Mapping):
        if not _within(len(value), meta):
            yield path, f"has {len(value)} entries; allowed: {_range_text(meta)} entries"
        for key in value:
            for _, problem in _shape_problems(key, shape.key, f"{path}.{key}"):
                yield f"{path}.{key}", f"name {problem}"
            for _, problem in _shape_problems(value[key], shape.value, f"{path}.{key}"):
                yield f"{path}.{key}", f"value {problem}"
    elif kind == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            yield path, _enum_problem(value, shape)
        elif not _within(len(value), meta):
            yield path, f"is {len(value)} characters long; allowed: {_range_text(meta)} characters"
        elif "pattern" in meta and not _python_pattern(meta["pattern"]).fullmatch(value):
            yield path, f"does not match the pattern {meta['pattern']}"
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):  # noqa: SIM102
        if not _within(value, meta):
            yield path, f"is out of range; allowed: {_range_text(meta)}"


def _within(number: int, metadata: Mapping[str, Any]) -> bool:
    return metadata.get("min", number) <= number <= metadata.get("max", number)


def _enum_problem(value: str, shape: Any) -> str:
    enum = list(shape.enum)
    text = f"is not a {shape.name} (one of {len(enum)} values"
    close = difflib.get_close_matches(value, enum, n=3)
    text += f"; did you mean {', '.join(close)}?)" if close else ", e.g. " + ", ".join(enum[:3]) + ")"
    for other, hint in (
        ("TrainingInstanceType", "it is a training instance type: set use_training_step=True"),
        ("ProcessingInstanceType", "it is a processing instance type: set use_training_step=False"),
    ):
        if other != shape.name and value in _shape(other).enum:
            text += f"; {hint}"
    return text


def _setting_for(kind: str, path: str) -> str:
    for prefix, setting in (*_SETTING_OF_PATH[kind], *_COMMON_SETTINGS):
        if path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")):
            return setting
    return "step arguments"


def _value_at(arguments: Any, path: str) -> Any:
    """The value at a dotted/indexed request path (not used for environment values: never shown)."""
    current = arguments
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            current = current[int(part[1:-1])]
        else:
            current = current.get(part) if isinstance(current, Mapping) else None
    return current


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
            problems.append(f"{where}: environment {key} = {_show(dict(value))} {_expression_help(spec)}")
    for index, argument in enumerate(step.arguments):
        if isinstance(argument, Mapping) and not _is_expression(argument, spec):
            problems.append(f"{where}: argument {index} = {_show(dict(argument))} {_expression_help(spec)}")

    output = spec.output_s3_uri
    if kind == TRAINING and output is None:
        problems.append(
            f"{where}: use_training_step=True needs an S3 output path (CreateTrainingJob requires "
            "OutputDataConfig): set PipelineSpec.output_s3_uri to an s3:// prefix in the stack's bucket"
        )
        output = "s3://placeholder-bucket/output"
    # keep_alive_period_in_seconds is not used by processing steps (warm pools are a training job
    # feature), so a pipeline-wide value with some processing steps is fine and not reported.
    arguments = step_arguments(step, output)

    request = {_JOB_NAME[kind]: _PLACEHOLDER_JOB_NAME, **_with_placeholders(arguments, spec)}
    shape = _input_shape(operation)
    reported: set[str] = set()
    for path, problem in _shape_problems(request, shape, ""):
        reported.add(path)
        problems.append(f"{where}: {_subject(kind, arguments, path)} {problem} [{operation} {path}]")
    for path, message in _param_validator_problems(request, shape):
        if path in reported:
            continue
        subject = "" if path.startswith("Environment.") else f"{_setting_for(kind, path)}: "
        problems.append(f"{where}: {subject}{message} [{operation}]")
    return problems


def _subject(kind: str, arguments: dict[str, Any], path: str) -> str:
    """What a problem is about, in the user's terms: the setting and its value."""
    if path.startswith("Environment."):
        return f"environment variable {path.split('.', 1)[1]!r}:"
    if path == "Environment":  # the count; values are never shown
        return "environment"
    tag = re.fullmatch(r"Tags\[(\d+)\]\.(Key|Value)", path)
    if tag:
        key = arguments["Tags"][int(tag.group(1))]["Key"]
        if tag.group(2) == "Key":
            return f"processor_tags key {_show(key)}"
        return f"processor_tags value of {_show(key)} ({_show(_value_at(arguments, path))})"
    return f"{_setting_for(kind, path)} = {_show(_value_at(arguments, path))}"


def _is_expression(value: Mapping[str, Any], spec: PipelineSpec) -> bool:
    """An execution variable, or a parameter the definition declares."""
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
    return result


def _param_validator_problems(request: dict[str, Any], shape: Any) -> list[tuple[str, str]]:
    """botocore's own request validation (types, required and unknown members, minimums)."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, shape)
    if not report.has_errors():
        return []
    errors = getattr(report, "_errors", None)
    if errors is None:  # a future botocore without the list: use its text report
        return [("", line) for line in report.generate_report().splitlines()]
    # Each error is (kind, ".Dotted.Path", details); the path is what `_shape_problems` reports.
    problems = []
    for kind, name, details in errors:
        path = str(name).lstrip(".")
        if path.startswith("Environment."):  # botocore's text would echo the value: describe it instead
            value = details.get("param") if isinstance(details, Mapping) else None
            message = (
                f"environment variable {path.split('.', 1)[1]!r}: {kind} (a {type(value).__name__}); "
                "allowed: a string or an execution variable expression"
            )
        else:
            message = report._format_error((kind, name, details))
        problems.append((path, message))
    return problems


def _pipeline_problems(spec: PipelineSpec) -> list[str]:
    problems: list[str] = []
    create = _input_shape("CreatePipeline")
    fields: list[tuple[str, str, Any]] = [
        ("pipeline name", "PipelineName", spec.pipeline_name),
        ("pipeline description", "PipelineDescription", spec.description),
    ]
    if spec.tags:
        fields.append(("pipeline tags", "Tags", tag_list(spec.tags)))
    parameter_shape = _input_shape("StartPipelineExecution").members["PipelineParameters"]
    for name in sorted(spec.parameters):
        declared = {"Name": name, "Value": spec.parameters[name]}
        for path, problem in _shape_problems(declared, parameter_shape.member, "Parameter"):
            problems.append(f"pipeline parameter {name!r}: {path.split('.')[-1].lower()} {problem}")
    parallelism = parallelism_configuration(spec.max_parallel_steps)
    if parallelism is not None:
        fields.append(("max_parallel_steps", "ParallelismConfiguration", parallelism))
    for label, member, value in fields:
        for path, problem in _shape_problems(value, create.members[member], member):
            problems.append(
                f"{label} {_show(_value_at({member: value}, path))} {problem} [CreatePipeline {path}]"
            )
    if not spec.steps:
        problems.append("the pipeline has no steps")

    step_name_shape = _shape("StepName")
    owners: dict[str, list[str]] = {}
    for step in spec.steps:
        sagemaker = sagemaker_step_name(step.name)
        owners.setdefault(sagemaker, []).append(step.name)
        for _, problem in _shape_problems(sagemaker, step_name_shape, "Name"):
            problems.append(f"step {step.name!r}: SageMaker step name {sagemaker!r} {problem}")
    for sagemaker, zenml in sorted(owners.items()):
        if len(set(zenml)) > 1:
            problems.append(
                f"steps {sorted(set(zenml))} all map to the SageMaker step name {sagemaker!r}: rename one"
            )
    problems.extend(dag_problems(spec.steps))
    return problems


def validate_spec(spec: PipelineSpec) -> None:
    """Raise InvalidPipelineError listing every problem of `spec`; return None when it may be submitted."""
    problems = _pipeline_problems(spec)
    for step in sorted(spec.steps, key=lambda s: s.name):
        problems.extend(_step_problems(step, spec))
    if not problems:
        size = len(to_json(build_definition(spec)))
        shape = _shape("PipelineDefinition")
        if size > shape.metadata["max"]:
            problems.append(
                f"the pipeline definition is {size} characters long; SageMaker accepts at most "
                f"{shape.metadata['max']}: fewer steps, or shorter environments and arguments"
            )
    if problems:
        raise InvalidPipelineError(problems, spec.pipeline_name)
