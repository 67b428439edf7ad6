"""Step groups: steps with the same job configuration share one SageMaker job. Pure: no AWS, no ZenML.

A SageMaker job spends minutes being provisioned before its first line runs; a pipeline of ten
steps pays that ten times. Steps whose job requests would be identical but for their container
arguments (same image, entrypoint, instance type and count, volume, role, network, keys, job kind,
environment, tags, SDK and job arguments, retries) can run one after another, or side by side, in
one job: `sagemaker_stack.step.group_runner` runs them there, each as its own ZenML step run.

The partition, and why it is safe:
- The job configuration is compared on the request `job_request.build` makes (the one the
  definition sends), with the arguments and the step's name taken out: two steps that differ in
  anything that lands in the request never share a job. MaxRuntimeInSeconds is the one member
  that may differ: a group's is the sum of its steps', capped at the API's maximum. A step with a
  MaxWaitTimeInSeconds (spot training) never joins a group: its wait bounds its own runtime.
- A step joins a group only when its own `group_steps` setting is True and the spec says how a
  group's job is started (`PipelineSpec.group_arguments`).
- Groups stay convex: steps are taken in topological order, and a step joins group G only if
  none of its upstream steps outside G is downstream of G, so the group DAG has no cycle.
  A step prefers a group that holds one of its upstream steps, then any other with its
  configuration: a chain, a fan-out/fan-in, a whole pipeline of one configuration is one job.
- A group holds at most as many steps as its job's ContainerArguments may name (botocore's
  model: 100 entries for processing and training), so its request always passes validation.
- A group of one step is that step, emitted exactly as before groups existed.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from sagemaker_stack.orchestrator import job_request
from sagemaker_stack.orchestrator.names import sagemaker_group_name, sagemaker_step_name
from sagemaker_stack.orchestrator.spec import PipelineSpec, StepSpec

#: The name the job configuration is compared under (a training step's output path holds it).
_NEUTRAL_NAME: Final = "step-group"


@dataclass(frozen=True)
class StepGroup:
    """One SageMaker step: a single ZenML step, or several that share one job."""

    #: The SageMaker step name.
    name: str
    #: Its ZenML steps, in dependency order (ties by name).
    steps: tuple[StepSpec, ...]
    #: SageMaker step names of the groups it depends on, sorted.
    upstream: tuple[str, ...]

    @property
    def members(self) -> tuple[str, ...]:
        """The ZenML step names it runs."""
        return tuple(step.name for step in self.steps)


def _argument_limits() -> tuple[int, int]:
    """(most entries, longest entry) of a job's ContainerArguments, both job kinds (botocore)."""
    from sagemaker_stack.orchestrator import service_model

    shapes = [service_model.shape(name) for name in ("ContainerArguments", "TrainingContainerArguments")]
    return (
        min(int(shape.metadata["max"]) for shape in shapes),
        min(int(shape.member.metadata["max"]) for shape in shapes),
    )


def max_runtime_limit(training: bool) -> int | None:
    """The API's MaxRuntimeInSeconds maximum for the job kind (None: an account quota, not in the model)."""
    from sagemaker_stack.orchestrator import service_model

    operation = "CreateTrainingJob" if training else "CreateProcessingJob"
    stopping = service_model.input_shape(operation).members["StoppingCondition"]
    maximum = stopping.members["MaxRuntimeInSeconds"].metadata.get("max")
    return None if maximum is None else int(maximum)


def job_configuration(step: StepSpec, output_s3_uri: str | None = None) -> str | None:
    """What must be equal for two steps to share a job (a canonical JSON), or None: it never may.

    The step's own request without its arguments, name and MaxRuntimeInSeconds, plus what the
    definition adds around the request (its job kind and retry policies).
    """
    if not step.settings.group_steps:
        return None
    body = job_request.build(replace(step, name=_NEUTRAL_NAME, arguments=()), output_s3_uri).body
    stopping = dict(body.get("StoppingCondition") or {})
    if "MaxWaitTimeInSeconds" in stopping:
        return None
    stopping.pop("MaxRuntimeInSeconds", None)
    body["StoppingCondition"] = stopping
    key = {"training": step.settings.use_training_step, "retries": step.settings.retries, "request": body}
    return json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)


def _descendants(group: int, children: Sequence[set[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(children[group])
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children[current])
    return seen


def partition(ordered: Sequence[StepSpec], keys: Mapping[str, str | None], max_size: int) -> list[list[str]]:
    """Steps (in topological order) -> groups of step names, convex, at most `max_size` each.

    `keys` is each step's job configuration (None: a group of its own). See the module docstring.
    """
    group_of: dict[str, int] = {}
    members: list[list[str]] = []
    group_keys: list[str | None] = []
    children: list[set[int]] = []
    for step in ordered:
        key = keys.get(step.name)
        upstream = {group_of[name] for name in step.upstream if name in group_of}
        chosen: int | None = None
        if key is not None:
            candidates = [*sorted(upstream), *(g for g in range(len(members)) if g not in upstream)]
            for group in candidates:
                if group_keys[group] != key or len(members[group]) >= max_size:
                    continue
                if upstream & _descendants(group, children):
                    continue  # an upstream step outside the group depends on it: a cycle
                chosen = group
                break
        if chosen is None:
            chosen = len(members)
            members.append([])
            group_keys.append(key)
            children.append(set())
        members[chosen].append(step.name)
        group_of[step.name] = chosen
        for group in upstream - {chosen}:
            children[group].add(chosen)
    return members


def step_groups(spec: PipelineSpec, ordered: Sequence[StepSpec]) -> list[StepGroup]:
    """The SageMaker steps of `spec` (`ordered`: its steps in topological order), in dependency
    order, ties by their first ZenML step's name: with no group of two, exactly the steps' order."""
    max_entries, longest = _argument_limits()
    room = max_entries - len(spec.group_arguments)
    keys: dict[str, str | None] = {
        step.name: (
            job_configuration(step, spec.output_s3_uri)
            if spec.group_arguments and room >= 2 and len(step.name) <= longest
            else None
        )
        for step in ordered
    }
    by_name = {step.name: step for step in ordered}
    parts = partition(ordered, keys, max(room, 1))
    singles = {sagemaker_step_name(part[0]) for part in parts if len(part) == 1}
    names: list[str] = []
    taken = set(singles)
    for part in parts:
        if len(part) == 1:
            names.append(sagemaker_step_name(part[0]))
        else:
            name = sagemaker_group_name(part, taken)
            taken.add(name)
            names.append(name)
    group_of = {step: names[index] for index, part in enumerate(parts) for step in part}
    groups = [
        StepGroup(
            name=names[index],
            steps=tuple(by_name[step] for step in part),
            upstream=tuple(
                sorted(
                    {group_of[u] for step in part for u in by_name[step].upstream if u in group_of}
                    - {names[index]}
                )
            ),
        )
        for index, part in enumerate(parts)
    ]
    return _dependency_order(groups)


def _dependency_order(groups: Sequence[StepGroup]) -> list[StepGroup]:
    """Kahn's algorithm over groups, the smallest first ZenML step name first."""
    by_name = {group.name: group for group in groups}
    waiting = {group.name: len(group.upstream) for group in groups}
    downstream: dict[str, list[str]] = {group.name: [] for group in groups}
    for group in groups:
        for upstream in group.upstream:
            downstream[upstream].append(group.name)
    ready = [(group.steps[0].name, group.name) for group in groups if not group.upstream]
    heapq.heapify(ready)
    ordered: list[StepGroup] = []
    while ready:
        _, name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for child in downstream[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (by_name[child].steps[0].name, child))
    return ordered


def description(group: StepGroup) -> str:
    """The group's `Description` in the definition: every ZenML step it runs, in order."""
    from sagemaker_stack.orchestrator import service_model

    limit = int(service_model.shape("StepDescription").metadata["max"])
    text = f"{len(group.steps)} ZenML steps in one job, in order: {', '.join(group.members)}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def group_step(group: StepGroup, spec: PipelineSpec) -> StepSpec:
    """The group as one step: its first step's job configuration, run under the group's name,
    with the group's entrypoint naming every step and the steps' runtimes added up."""
    first = group.steps[0]
    if len(group.steps) == 1:
        return first
    runtime = sum(step.settings.max_runtime_in_seconds for step in group.steps)
    limit = max_runtime_limit(first.settings.use_training_step)
    if limit is not None:
        runtime = min(runtime, limit)
    return replace(
        first,
        name=group.name,
        upstream=group.upstream,
        arguments=(*spec.group_arguments, *group.members),
        settings=replace(first.settings, max_runtime_in_seconds=runtime),
    )


def members_of(step_names: Mapping[str, str]) -> dict[str, list[str]]:
    """ZenML step -> SageMaker step, inverted: SageMaker step -> its ZenML steps, in order."""
    members: dict[str, list[str]] = {}
    for zenml, sagemaker in step_names.items():
        members.setdefault(sagemaker, []).append(zenml)
    return members
