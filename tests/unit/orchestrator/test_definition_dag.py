"""The definition built from a PipelineSpec: DAG shapes, step kinds, retries, parallelism, determinism."""

from __future__ import annotations

import json
import random
import re

import pytest

from sagemaker_stack.orchestrator.definition import (
    JOB_EXCEPTION_TYPES,
    STEP_EXCEPTION_TYPES,
    build_definition,
    parallelism_configuration,
    step_names,
    tag_list,
    to_json,
)
from sagemaker_stack.orchestrator.names import sagemaker_pipeline_name, sagemaker_step_name
from sagemaker_stack.orchestrator.spec import (
    InvalidPipelineError,
    PipelineSpec,
    ResolvedStepSettings,
    StepSpec,
)
from tests.support.specs import IMAGE, ROLE, make_step


def make_spec(*steps: StepSpec, **fields: object) -> PipelineSpec:
    return PipelineSpec(pipeline_name="zenml-demo", steps=steps, **fields)  # type: ignore[arg-type]


def by_name(definition: dict) -> dict[str, dict]:
    return {step["Name"]: step for step in definition["Steps"]}


def test_chain_depends_on_each_predecessor_in_order() -> None:
    spec = make_spec(make_step("load"), make_step("train", ("load",)), make_step("evaluate", ("train",)))
    definition = build_definition(spec)
    assert [step["Name"] for step in definition["Steps"]] == ["load", "train", "evaluate"]
    steps = by_name(definition)
    assert "DependsOn" not in steps["load"]
    assert steps["train"]["DependsOn"] == ["load"]
    assert steps["evaluate"]["DependsOn"] == ["train"]
    assert definition["Version"] == "2020-12-01"
    assert definition["Metadata"] == {} and definition["Parameters"] == []
    assert "PipelineExperimentConfig" not in definition


def test_parameters_are_declared_sorted_and_read_by_arguments() -> None:
    step = StepSpec(
        **{
            **make_step("train").__dict__,
            "arguments": ("--snapshot_id", {"Get": "Parameters.ZenMLSnapshotId"}),
        }
    )
    spec = make_spec(step, parameters={"ZenMLSnapshotId": "abc", "Another": "x"})
    definition = build_definition(spec)
    assert definition["Parameters"] == [
        {"Name": "Another", "Type": "String", "DefaultValue": "x"},
        {"Name": "ZenMLSnapshotId", "Type": "String", "DefaultValue": "abc"},
    ]
    app = definition["Steps"][0]["Arguments"]["AppSpecification"]
    assert app["ContainerArguments"] == ["--snapshot_id", {"Get": "Parameters.ZenMLSnapshotId"}]
    assert json.loads(to_json(definition)) == definition


def test_diamond_joins_both_branches() -> None:
    spec = make_spec(
        make_step("join", ("left", "right")),
        make_step("right", ("source",)),
        make_step("left", ("source",)),
        make_step("source"),
    )
    steps = build_definition(spec)["Steps"]
    assert [step["Name"] for step in steps] == ["source", "left", "right", "join"]
    assert by_name({"Steps": steps})["join"]["DependsOn"] == ["left", "right"]


def test_wide_fan_out_has_one_step_per_zenml_step() -> None:
    fan = [make_step(f"worker_{i:02d}", ("split",)) for i in range(60)]
    spec = make_spec(make_step("split"), *fan, make_step("gather", tuple(step.name for step in fan)))
    steps = build_definition(spec)["Steps"]
    assert len(steps) == 62
    assert steps[0]["Name"] == "split" and steps[-1]["Name"] == "gather"
    assert all(step["DependsOn"] == ["split"] for step in steps[1:-1])
    assert steps[-1]["DependsOn"] == sorted(step.name for step in fan)


def test_same_pipeline_in_any_input_order_gives_identical_json() -> None:
    steps = [make_step("a"), make_step("b", ("a",)), make_step("c", ("a",)), make_step("d", ("c", "b"))]
    expected = to_json(build_definition(make_spec(*steps)))
    rng = random.Random(7)
    for _ in range(10):
        shuffled = steps[:]
        rng.shuffle(shuffled)
        assert to_json(build_definition(make_spec(*shuffled))) == expected
    # Compact, key-sorted JSON: what UpdatePipeline compares.
    assert expected == json.dumps(json.loads(expected), sort_keys=True, separators=(",", ":"))


def test_processing_step_arguments_are_a_create_processing_job_request() -> None:
    step = make_step(
        "train",
        instance_type="ml.m5.xlarge",
        volume_size_in_gb=50,
        max_runtime_in_seconds=600,
        tags={"team": "ml", "cost": "a"},
    )
    (entry,) = build_definition(make_spec(step))["Steps"]
    assert entry["Type"] == "Processing"
    assert entry["Arguments"] == {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 50}
        },
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python", "-m", "sagemaker_stack.step.entrypoint"],
            "ContainerArguments": ["--step_name", "train", "--snapshot_id", "0000"],
        },
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Environment": {
            "SAGEMAKER_STACK_EXECUTION_ARN": {"Get": "Execution.PipelineExecutionArn"},
            "ZENML_LOGGING_VERBOSITY": "INFO",
        },
        "Tags": [{"Key": "cost", "Value": "a"}, {"Key": "team", "Value": "ml"}],
    }
    assert "RetryPolicies" not in entry


def test_training_step_arguments_are_a_create_training_job_request() -> None:
    step = make_step(
        "fit", use_training_step=True, instance_type="ml.g5.xlarge", keep_alive_period_in_seconds=300
    )
    spec = make_spec(step, output_s3_uri="s3://bucket/sagemaker-pipelines/zenml-demo/")
    (entry,) = build_definition(spec)["Steps"]
    assert entry["Type"] == "Training"
    arguments = entry["Arguments"]
    assert arguments["AlgorithmSpecification"] == {
        "TrainingImage": IMAGE,
        "TrainingInputMode": "File",
        "ContainerEntrypoint": ["python", "-m", "sagemaker_stack.step.entrypoint"],
        "ContainerArguments": ["--step_name", "fit", "--snapshot_id", "0000"],
    }
    assert arguments["ResourceConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.g5.xlarge",
        "VolumeSizeInGB": 30,
        "KeepAlivePeriodInSeconds": 300,
    }
    assert arguments["OutputDataConfig"] == {"S3OutputPath": "s3://bucket/sagemaker-pipelines/zenml-demo/fit"}
    assert arguments["RoleArn"] == ROLE
    assert "ProcessingResources" not in arguments and "Tags" not in arguments


def test_training_without_keep_alive_leaves_it_out() -> None:
    spec = make_spec(make_step("fit", use_training_step=True), output_s3_uri="s3://bucket/out")
    assert "KeepAlivePeriodInSeconds" not in build_definition(spec)["Steps"][0]["Arguments"]["ResourceConfig"]


def test_training_step_without_output_path_is_refused() -> None:
    with pytest.raises(InvalidPipelineError, match="output_s3_uri"):
        build_definition(make_spec(make_step("fit", use_training_step=True)))


def test_mixed_processing_and_training_steps() -> None:
    spec = make_spec(
        make_step("prep"), make_step("fit", ("prep",), use_training_step=True), output_s3_uri="s3://b/o"
    )
    steps = by_name(build_definition(spec))
    assert steps["prep"]["Type"] == "Processing" and steps["fit"]["Type"] == "Training"


def test_retries_become_infrastructure_retry_policies() -> None:
    spec = make_spec(make_step("flaky", retries=3), make_step("steady", ("flaky",)))
    steps = by_name(build_definition(spec))
    assert "RetryPolicies" not in steps["steady"]
    policies = steps["flaky"]["RetryPolicies"]
    assert [policy["ExceptionType"] for policy in policies] == [
        list(STEP_EXCEPTION_TYPES),
        list(JOB_EXCEPTION_TYPES),
    ]
    assert all(policy["MaxAttempts"] == 3 for policy in policies)
    assert all(policy["BackoffRate"] == 2.0 and policy["IntervalSeconds"] > 0 for policy in policies)


def test_parallelism_is_an_api_argument_not_part_of_the_definition() -> None:
    limited = make_spec(make_step("a"), max_parallel_steps=4)
    assert parallelism_configuration(limited.max_parallel_steps) == {"MaxParallelExecutionSteps": 4}
    assert "Parallelism" not in to_json(build_definition(limited))
    assert parallelism_configuration(make_spec(make_step("a")).max_parallel_steps) is None


def test_pipeline_tags_are_sorted_for_create_pipeline() -> None:
    spec = make_spec(make_step("a"), tags={"z": "1", "a": "2"})
    assert tag_list(spec.tags) == [{"Key": "a", "Value": "2"}, {"Key": "z", "Value": "1"}]


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("zenml", "training", "zenml-training"),
        ("zenml", "Training-2", "zenml-Training-2"),
    ],
)
def test_pipeline_name_kept_when_already_valid(prefix: str, name: str, expected: str) -> None:
    assert sagemaker_pipeline_name(prefix, name) == expected


def test_pipeline_name_sanitized_with_a_hash_that_keeps_names_apart() -> None:
    pattern = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
    underscored = sagemaker_pipeline_name("zenml", "my_pipeline")
    dashed = sagemaker_pipeline_name("zenml", "my-pipeline")
    assert dashed == "zenml-my-pipeline"
    assert underscored.startswith("zenml-my-pipeline-") and underscored != dashed
    assert pattern.fullmatch(underscored)
    assert sagemaker_pipeline_name("zenml", "my_pipeline") == underscored  # deterministic
    long = sagemaker_pipeline_name("zenml", "x" * 400)
    assert len(long) <= 256 and pattern.fullmatch(long)
    assert long != sagemaker_pipeline_name("zenml", "x" * 401)
    assert pattern.fullmatch(sagemaker_pipeline_name("zenml", "trailing_"))


def test_step_names_keep_zenml_ids_and_sanitize_the_rest() -> None:
    assert sagemaker_step_name("train_model") == "train_model"
    odd = sagemaker_step_name("train.model v2")
    assert re.fullmatch(r"[A-Za-z0-9\-_]{1,64}", odd) and odd.startswith("train-model-v2-")
    long_a, long_b = sagemaker_step_name("s" * 100 + "a"), sagemaker_step_name("s" * 100 + "b")
    assert len(long_a) == 64 and long_a != long_b
    spec = make_spec(make_step("a.b"), make_step("c", ("a.b",)))
    names = step_names(spec)
    assert by_name(build_definition(spec))["c"]["DependsOn"] == [names["a.b"]]


def test_broken_dags_are_refused_with_every_problem() -> None:
    with pytest.raises(InvalidPipelineError) as error:
        build_definition(make_spec(make_step("a", ("ghost",)), make_step("a")))
    message = str(error.value)
    assert "'a' appears 2 times" in message
    with pytest.raises(InvalidPipelineError, match="cycle"):
        build_definition(make_spec(make_step("a", ("b",)), make_step("b", ("a",)), make_step("c")))
    with pytest.raises(InvalidPipelineError, match="'ghost' is not part of the pipeline"):
        build_definition(make_spec(make_step("a", ("ghost",))))


def test_empty_optional_members_are_left_out() -> None:
    bare = StepSpec(
        name="bare",
        upstream=(),
        image=IMAGE,
        entrypoint=(),
        arguments=(),
        environment={},
        settings=ResolvedStepSettings(
            instance_type="ml.t3.medium", role_arn=ROLE, volume_size_in_gb=30, max_runtime_in_seconds=60
        ),
    )
    arguments = build_definition(make_spec(bare))["Steps"][0]["Arguments"]
    assert arguments["AppSpecification"] == {"ImageUri": IMAGE}
    assert "Environment" not in arguments and "Tags" not in arguments
