"""Step groups: which steps share one SageMaker job, and the definition of a group.

A group must never hold two steps whose job requests differ (but for their arguments), never
make the SageMaker DAG cyclic, and always pass botocore's checks; a pipeline without groups of
two is emitted exactly as before groups existed.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

from sagemaker_stack.orchestrator.definition import build_definition, groups, step_names, to_json
from sagemaker_stack.orchestrator.spec import InvalidPipelineError, PipelineSpec, StepSpec, pipeline_parameter
from sagemaker_stack.orchestrator.step_groups import max_runtime_limit, partition
from sagemaker_stack.orchestrator.validation import validate_spec
from tests.support.specs import make_step

GROUP_ARGUMENTS = (
    "--entrypoint_config_source",
    "sagemaker_stack.step.configuration.SagemakerStackStepGroupConfiguration",
    "--snapshot_id",
    pipeline_parameter("ZenMLSnapshotId"),
    "--step_names",
)
OUTPUT = "s3://b/sagemaker-pipelines/p"


def grouped(name: str, upstream: tuple[str, ...] = (), **settings: Any) -> StepSpec:
    return make_step(
        name,
        upstream,
        arguments=("--step_name", name, "--snapshot_id", pipeline_parameter("ZenMLSnapshotId")),
        **{"group_steps": True, **settings},
    )


def spec_of(*steps: StepSpec, group_arguments: tuple[Any, ...] = GROUP_ARGUMENTS) -> PipelineSpec:
    return PipelineSpec(
        pipeline_name="p",
        steps=steps,
        output_s3_uri=OUTPUT,
        parameters={"ZenMLSnapshotId": "0b4d3f7e-2d0e-4b8a-9a8e-0c6f1f3f1d2a"},
        group_arguments=group_arguments,
    )


def example_shape(**settings: Any) -> PipelineSpec:
    """The example pipeline's shape: load -> split -> {train_a, train_b} -> evaluate."""
    return spec_of(
        grouped("load", **settings),
        grouped("split", ("load",), **settings),
        grouped("train_a", ("split",), **settings),
        grouped("train_b", ("split",), **settings),
        grouped("evaluate", ("train_a", "train_b"), **settings),
    )


def test_a_fan_out_and_fan_in_of_one_configuration_is_one_job() -> None:
    spec = example_shape()
    validate_spec(spec)
    (entry,) = build_definition(spec)["Steps"]
    assert entry["Name"] == "load-to-evaluate-5-steps"
    assert "DependsOn" not in entry
    assert (
        entry["Description"] == "5 ZenML steps in one job, in order: load, split, train_a, train_b, evaluate"
    )
    arguments = entry["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments == [*GROUP_ARGUMENTS, "load", "split", "train_a", "train_b", "evaluate"]
    assert set(step_names(spec).values()) == {"load-to-evaluate-5-steps"}


def test_a_step_with_another_instance_type_is_its_own_step_between_two_groups() -> None:
    spec = spec_of(
        grouped("load"),
        grouped("split", ("load",)),
        grouped("train", ("split",), instance_type="ml.g5.xlarge"),
        grouped("evaluate", ("train",)),
        grouped("report", ("evaluate",)),
    )
    validate_spec(spec)
    steps = {entry["Name"]: entry for entry in build_definition(spec)["Steps"]}
    assert set(steps) == {"load-to-split-2-steps", "train", "evaluate-to-report-2-steps"}
    assert steps["train"]["DependsOn"] == ["load-to-split-2-steps"]
    assert steps["evaluate-to-report-2-steps"]["DependsOn"] == ["train"]
    # The single step is the step as always: its own arguments, no description.
    assert steps["train"]["Arguments"]["AppSpecification"]["ContainerArguments"][1] == "train"
    assert "Description" not in steps["train"]


def test_a_group_never_swallows_a_step_that_a_different_step_between_them_needs() -> None:
    # a -> x (other config) -> b: a and b share a configuration, but one job for both would
    # wait for x, which waits for it: a cycle. b must stay apart.
    spec = spec_of(grouped("a"), grouped("x", ("a",), volume_size_in_gb=50), grouped("b", ("x",)))
    assert [group.members for group in groups(spec)] == [("a",), ("x",), ("b",)]


@pytest.mark.parametrize(
    "difference",
    [
        {"instance_type": "ml.m5.xlarge"},
        {"volume_size_in_gb": 31},
        {"role_arn": "arn:aws:iam::123456789012:role/other"},
        {"tags": {"team": "b"}},
        {"retries": 2},
        {"use_training_step": True},
        {"subnets": ("subnet-1",), "security_group_ids": ("sg-1",)},
        {"volume_kms_key_id": "alias/other"},
        {"sdk_arguments": {"volume_size_in_gb": 40}},
        {"job_arguments": {"NetworkConfig": {"EnableNetworkIsolation": True}}},
        {"group_steps": False},
    ],
)
def test_steps_that_differ_in_anything_the_request_holds_never_share_a_job(
    difference: dict[str, Any],
) -> None:
    spec = spec_of(grouped("a"), grouped("b", ("a",), **difference))
    assert len(groups(spec)) == 2


def test_other_image_or_environment_never_shares_a_job() -> None:
    a = grouped("a")
    assert len(groups(spec_of(a, replace(grouped("b", ("a",)), image=a.image + "x")))) == 2
    assert len(groups(spec_of(a, replace(grouped("b", ("a",)), environment={"X": "1"})))) == 2


def test_runtimes_add_up_and_are_capped_at_the_api_maximum() -> None:
    small = spec_of(
        grouped("a", max_runtime_in_seconds=600), grouped("b", ("a",), max_runtime_in_seconds=900)
    )
    (entry,) = build_definition(small)["Steps"]
    assert entry["Arguments"]["StoppingCondition"]["MaxRuntimeInSeconds"] == 1500
    big = spec_of(*(grouped(f"s{i}", (f"s{i - 1}",) if i else ()) for i in range(12)))
    validate_spec(big)
    (entry,) = build_definition(big)["Steps"]
    assert entry["Arguments"]["StoppingCondition"]["MaxRuntimeInSeconds"] == max_runtime_limit(False)


def test_training_groups_write_below_the_group_name_and_pass_validation() -> None:
    spec = spec_of(grouped("a", use_training_step=True), grouped("b", ("a",), use_training_step=True))
    validate_spec(spec)
    (entry,) = build_definition(spec)["Steps"]
    assert entry["Type"] == "Training"
    assert entry["Arguments"]["OutputDataConfig"]["S3OutputPath"] == f"{OUTPUT}/a-to-b-2-steps"
    assert entry["Arguments"]["AlgorithmSpecification"]["ContainerArguments"][-2:] == ["a", "b"]


def test_spot_training_steps_keep_their_own_jobs() -> None:
    spec = spec_of(
        grouped("a", use_training_step=True, use_spot_instances=True),
        grouped("b", ("a",), use_training_step=True, use_spot_instances=True),
    )
    assert len(groups(spec)) == 2


def test_groups_stay_within_the_container_argument_limit() -> None:
    chain = [grouped(f"step_{i:03d}", (f"step_{i - 1:03d}",) if i else ()) for i in range(250)]
    spec = spec_of(*chain)
    validate_spec(spec)
    found = groups(spec)
    room = 100 - len(GROUP_ARGUMENTS)
    assert [len(group.steps) for group in found] == [room, room, 250 - 2 * room]
    for entry in build_definition(spec)["Steps"]:
        assert len(entry["Arguments"]["AppSpecification"]["ContainerArguments"]) <= 100


def test_without_group_arguments_or_with_the_setting_off_nothing_changes() -> None:
    with_setting = example_shape()
    off = example_shape(group_steps=False)
    no_entrypoint = replace(with_setting, group_arguments=())
    assert to_json(build_definition(off)) == to_json(build_definition(no_entrypoint))
    names = [entry["Name"] for entry in build_definition(off)["Steps"]]
    assert names == ["load", "split", "train_a", "train_b", "evaluate"]


def test_group_names_never_take_a_step_name_and_fit_64_characters() -> None:
    # A step literally called like the group would be: the group gets a hashed name.
    taken = grouped("a-to-c-2-steps", ("c",), instance_type="ml.m5.xlarge")
    spec = spec_of(grouped("a"), grouped("c", ("a",)), taken)
    names = [group.name for group in groups(spec)]
    assert names[1] == "a-to-c-2-steps" and names[0] != "a-to-c-2-steps"
    assert names[0].startswith("a-to-c-2-steps-")
    long = spec_of(grouped("x" * 60), grouped("y" * 60, ("x" * 60,)))
    validate_spec(long)
    (group,) = groups(long)
    assert len(group.name) <= 64


def random_dag(rng: random.Random, count: int) -> dict[str, list[str]]:
    return {
        f"s{i}": sorted({f"s{j}" for j in rng.sample(range(i), k=min(i, rng.randint(0, 3)))})
        for i in range(count)
    }


def _group_dag_is_acyclic(found: list[list[str]], dag: dict[str, list[str]]) -> bool:
    group_of = {step: index for index, part in enumerate(found) for step in part}
    edges = {(group_of[u], group_of[s]) for s, ups in dag.items() for u in ups if group_of[u] != group_of[s]}
    waiting = {index: 0 for index in range(len(found))}
    for _, child in edges:
        waiting[child] += 1
    ready = [index for index, count in waiting.items() if count == 0]
    seen = 0
    while ready:
        current = ready.pop()
        seen += 1
        for parent, child in edges:
            if parent == current:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
    return seen == len(found)


@pytest.mark.parametrize("seed", range(300))
def test_random_dags_give_an_acyclic_partition_of_same_configuration_groups(seed: int) -> None:
    rng = random.Random(seed)
    dag = random_dag(rng, rng.randint(1, 30))
    steps = [make_step(name, tuple(ups)) for name, ups in dag.items()]  # already topological
    keys = {name: rng.choice(["x", "y", "z", None]) for name in dag}
    limit = rng.randint(1, 8)
    found = partition(steps, keys, limit)
    assert sorted(step for part in found for step in part) == sorted(dag)
    assert all(1 <= len(part) <= limit for part in found)
    for part in found:
        if len(part) > 1:
            assert len({keys[step] for step in part}) == 1 and keys[part[0]] is not None
    assert _group_dag_is_acyclic(found, dag)
    # One configuration for all and room enough: the whole pipeline is one group.
    assert len(partition(steps, dict.fromkeys(dag, "x"), len(dag))) == 1


def test_same_pipeline_in_any_order_gives_the_same_groups() -> None:
    spec = example_shape()
    shuffled = replace(spec, steps=tuple(reversed(spec.steps)))
    assert to_json(build_definition(spec)) == to_json(build_definition(shuffled))


def test_a_group_that_breaks_a_limit_is_reported_with_its_name() -> None:
    spec = spec_of(grouped("a"), grouped("b", ("a",)), group_arguments=("x" * 300,))
    with pytest.raises(InvalidPipelineError) as caught:
        validate_spec(spec)
    assert "a-to-b-2-steps" in str(caught.value)
    assert json.dumps(str(caught.value))
