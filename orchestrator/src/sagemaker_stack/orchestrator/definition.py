"""PipelineSpec -> SageMaker Pipelines definition: pure, deterministic, no AWS, no `sagemaker` SDK.

The definition is the JSON document of CreatePipeline/UpdatePipeline (schema version
2020-12-01). Each step's `Arguments` is the request of CreateProcessingJob or CreateTrainingJob
without the job name (SageMaker names jobs per execution), so `validation` can check it against
botocore's own input shapes, and a unit test against what `sagemaker.workflow` emits.

Choices, and why:
- Step and pipeline names: `names` (stable, collision-aware; `validation` checks uniqueness).
- Step groups (`step_groups`): steps of one job configuration run in one job, one entry of
  `Steps` named after the steps it holds, its `Description` listing them; a group of one step
  is that step's entry as it always was.
- Order: steps are emitted in topological order, ties broken by step name; DependsOn is sorted;
  `to_json` sorts keys. The same pipeline therefore always yields byte-identical JSON, whatever
  order the caller listed the steps in, and UpdatePipeline sees no spurious change.
- No PipelineExperimentConfig: the SDK adds one by default, which makes SageMaker create an
  Experiment and a Trial per execution; ZenML already tracks runs, and AWS accepts omission.
- Retries (`retries=N`, N > 0): SageMaker Pipelines can only retry a step for infrastructure
  reasons; a job whose own code fails (AlgorithmError/ClientError) is never retried by it (see
  `sagemaker.workflow.retry`). So N maps to two retry policies with MaxAttempts N: one for the
  pipeline service's faults and throttling, one for the job's internal error, capacity and
  resource-limit failures. Failures of the user's code are retried by ZenML's own step `retry`
  configuration inside the container (the orchestrator leaves `handles_step_retries` False).
- Tags (`tags`) go on each job (`Tags` in the step Arguments, as the SDK does); `pipeline_tags`
  are an argument of CreatePipeline (`tag_list`).
- Environment values longer than SageMaker takes (256 characters for processing, 512 for
  training) are split into `NAME__PART_<i>` variables (`step.environment_parts`), which the
  step's entrypoint joins before ZenML starts.
- Training steps need an OutputDataConfig (required by CreateTrainingJob): without an
  `output_data_s3_uri` each writes below `<spec.output_s3_uri>/<step name>/`; the container
  writes no model, so this holds SageMaker's empty model.tar.gz only.
- Parameters (`spec.parameters`) are declared as String parameters sorted by name, each with its
  default, the way the SDK renders `ParameterString`. A container argument may be an expression
  (`{"Get": "Parameters.X"}`): SageMaker resolves it per execution, so one definition serves runs
  (and EventBridge schedules) that pass different values.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sagemaker_stack.orchestrator import job_request
from sagemaker_stack.orchestrator.names import sagemaker_step_name
from sagemaker_stack.orchestrator.spec import InvalidPipelineError, PipelineSpec, StepSpec
from sagemaker_stack.orchestrator.step_groups import StepGroup, description, group_step, step_groups

DEFINITION_VERSION: Final = "2020-12-01"
PROCESSING: Final = "Processing"
TRAINING: Final = "Training"

#: Retry policy shape of SageMaker Pipelines (sagemaker/workflow/retry.py, SDK 2.x).
STEP_EXCEPTION_TYPES: Final = ("Step.SERVICE_FAULT", "Step.THROTTLING")
JOB_EXCEPTION_TYPES: Final = (
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)
RETRY_INTERVAL_SECONDS: Final = 10
RETRY_BACKOFF_RATE: Final = 2.0


def step_names(spec: PipelineSpec) -> dict[str, str]:
    """ZenML step name -> SageMaker step name, for every step of `spec`: many to one, since a
    step group (`step_groups`) runs several ZenML steps as one SageMaker step."""
    return {step: group.name for group in groups(spec) for step in group.members}


def groups(spec: PipelineSpec) -> list[StepGroup]:
    """The SageMaker steps of `spec` in the order the definition lists them (`step_groups`)."""
    return step_groups(spec, topological_order(spec.steps))


def dag_problems(steps: Sequence[StepSpec]) -> list[str]:
    """Duplicate names, unknown upstream steps and cycles, each as one readable sentence."""
    problems: list[str] = []
    names = [step.name for step in steps]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"step {name!r} appears {names.count(name)} times: step names must be unique")
    known = set(names)
    for step in steps:
        for upstream in sorted(set(step.upstream) - known):
            problems.append(f"step {step.name!r}: upstream step {upstream!r} is not part of the pipeline")
    if not problems:
        ordered = _topological(steps)
        if len(ordered) < len(steps):
            stuck = sorted(set(names) - {step.name for step in ordered})
            problems.append(f"steps {stuck} depend on each other in a cycle: a pipeline must be a DAG")
    return problems


def _topological(steps: Sequence[StepSpec]) -> list[StepSpec]:
    """Kahn's algorithm, always taking the smallest ready name: a stable, input-order-free result."""
    by_name = {step.name: step for step in steps}
    waiting = {step.name: len(set(step.upstream)) for step in steps}
    downstream: dict[str, list[str]] = {name: [] for name in by_name}
    for step in steps:
        for upstream in set(step.upstream):
            if upstream in downstream:
                downstream[upstream].append(step.name)
    ready = [name for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[StepSpec] = []
    while ready:
        name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for child in downstream[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    return ordered


def topological_order(steps: Sequence[StepSpec]) -> list[StepSpec]:
    """Steps in dependency order, ties by name; InvalidPipelineError for a broken DAG."""
    problems = dag_problems(steps)
    if problems:
        raise InvalidPipelineError(problems)
    return _topological(steps)


def step_type(step: StepSpec) -> str:
    """ "Training" for `use_training_step`, else "Processing"."""
    return TRAINING if step.settings.use_training_step else PROCESSING


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as the SageMaker APIs take them (CreatePipeline, job Tags), sorted by key."""
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


def step_arguments(step: StepSpec, output_s3_uri: str | None = None) -> dict[str, Any]:
    """The step's job request (CreateProcessingJob or CreateTrainingJob without the job name).

    Built by `job_request` from the step's settings, SDK arguments and job_arguments. Optional
    members the APIs forbid empty (ContainerEntrypoint/ContainerArguments have a minimum of one
    entry) are left out when empty, as the SDK does.
    """
    return job_request.build(step, output_s3_uri).body


def retry_policies(retries: int) -> list[dict[str, Any]]:
    """SageMaker retry policies for `retries` extra attempts (empty for 0); see the module docstring."""
    if retries <= 0:
        return []
    common = {
        "BackoffRate": RETRY_BACKOFF_RATE,
        "IntervalSeconds": RETRY_INTERVAL_SECONDS,
        "MaxAttempts": retries,
    }
    return [
        {**common, "ExceptionType": list(STEP_EXCEPTION_TYPES)},
        {**common, "ExceptionType": list(JOB_EXCEPTION_TYPES)},
    ]


def step_definition(step: StepSpec, output_s3_uri: str | None = None) -> dict[str, Any]:
    """One entry of the definition's `Steps`."""
    entry: dict[str, Any] = {
        "Name": sagemaker_step_name(step.name),
        "Type": step_type(step),
        "Arguments": step_arguments(step, output_s3_uri),
    }
    if step.upstream:
        entry["DependsOn"] = sorted({sagemaker_step_name(name) for name in step.upstream})
    policies = retry_policies(step.settings.retries)
    if policies:
        entry["RetryPolicies"] = policies
    return entry


def group_definition(group: StepGroup, spec: PipelineSpec) -> dict[str, Any]:
    """One entry of `Steps` for a step group: a single step exactly as `step_definition` makes it,
    several as one job (`step_groups.group_step`) whose Description lists them."""
    entry = step_definition(group_step(group, spec), spec.output_s3_uri)
    if group.upstream:
        entry["DependsOn"] = list(group.upstream)
    else:
        entry.pop("DependsOn", None)
    if len(group.steps) > 1:
        entry["Description"] = description(group)
    return entry


def build_definition(spec: PipelineSpec) -> dict[str, Any]:
    """The SageMaker pipeline definition of `spec` (run `validation.validate_spec` first).

    Raises InvalidPipelineError for a broken DAG, or for a training step without
    `spec.output_s3_uri`.
    """
    ordered = topological_order(spec.steps)
    if spec.output_s3_uri is None:
        training = [
            step.name
            for step in ordered
            if step.settings.use_training_step and not isinstance(step.settings.output_data_s3_uri, str)
        ]
        if training:
            raise InvalidPipelineError(
                [f"training steps {training} need PipelineSpec.output_s3_uri (an s3:// prefix)"],
                spec.pipeline_name,
            )
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": parameter_declarations(spec.parameters),
        "Steps": [group_definition(group, spec) for group in step_groups(spec, ordered)],
    }


def parameter_declarations(parameters: Mapping[str, str]) -> list[dict[str, str]]:
    """The definition's `Parameters`: String parameters with their defaults, sorted by name."""
    return [{"Name": name, "Type": "String", "DefaultValue": parameters[name]} for name in sorted(parameters)]


def parallelism_configuration(max_parallel_steps: int | None) -> dict[str, int] | None:
    """CreatePipeline/StartPipelineExecution's ParallelismConfiguration, or None for SageMaker's default."""
    if max_parallel_steps is None:
        return None
    return {"MaxParallelExecutionSteps": int(max_parallel_steps)}


def to_json(definition: Mapping[str, Any]) -> str:
    """The definition as CreatePipeline's PipelineDefinition string: sorted keys, compact."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
