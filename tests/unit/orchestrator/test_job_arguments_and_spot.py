"""job_arguments merge into the request, checked like the rest; spot training and its wait time."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_stack.orchestrator.definition import step_arguments
from sagemaker_stack.orchestrator.spec import InvalidPipelineError, PipelineSpec, StepSpec
from sagemaker_stack.orchestrator.validation import validate_spec
from tests.support.specs import OUTPUT, PARAMETER, SNAPSHOT, oracle_step


def spec_of(step: StepSpec) -> PipelineSpec:
    return PipelineSpec(
        pipeline_name="zenml-demo", steps=(step,), output_s3_uri=OUTPUT, parameters={PARAMETER: SNAPSHOT}
    )


def problems(step: StepSpec) -> list[str]:
    with pytest.raises(InvalidPipelineError) as error:
        validate_spec(spec_of(step))
    return list(error.value.problems)


NETWORK = {
    "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
}


def test_job_arguments_are_merged_into_the_request() -> None:
    step = oracle_step("prep", job_arguments={"NetworkConfig": NETWORK})
    validate_spec(spec_of(step))
    assert step_arguments(step)["NetworkConfig"] == NETWORK
    # Merged member by member: the first-class setting's member in the same structure stays.
    step = oracle_step(
        "fit", use_training_step=True, job_arguments={"StoppingCondition": {"MaxPendingTimeInSeconds": 7200}}
    )
    validate_spec(spec_of(step))
    stopping = step_arguments(step, OUTPUT)["StoppingCondition"]
    assert stopping == {"MaxRuntimeInSeconds": 7200, "MaxPendingTimeInSeconds": 7200}


@pytest.mark.parametrize(
    ("job_arguments", "member", "setting"),
    [
        (
            {"StoppingCondition": {"MaxRuntimeInSeconds": 5}},
            "StoppingCondition.MaxRuntimeInSeconds",
            "max_runtime_in_seconds",
        ),
        ({"RoleArn": "arn:aws:iam::123456789012:role/x"}, "RoleArn", "execution_role"),
        ({"Environment": {"A": "1"}}, "Environment.A", "environment"),
        (
            {"ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large"}}},
            "ProcessingResources.ClusterConfig.InstanceType",
            "instance_type",
        ),
    ],
)
def test_a_member_another_setting_sets_is_refused_with_both_names(
    job_arguments: dict[str, Any], member: str, setting: str
) -> None:
    (problem,) = problems(oracle_step("prep", job_arguments=job_arguments))
    assert f"job_arguments member {member} is also set by {setting}" in problem
    assert problem.startswith("step 'prep': ")


def test_a_member_an_sdk_argument_sets_is_refused_naming_the_keyword() -> None:
    step = oracle_step(
        "prep",
        sdk_arguments={"volume_kms_key": "alias/a"},
        job_arguments={"ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": "alias/b"}}},
    )
    (problem,) = problems(step)
    assert "is also set by processor_args.volume_kms_key" in problem


def test_job_arguments_are_checked_against_botocore() -> None:
    found = problems(
        oracle_step("prep", job_arguments={"NetworkConfg": {}, "NetworkConfig": {"VpcConfig": {}}})
    )
    text = "\n".join(found)
    assert "job_arguments" in text and "NetworkConfg" in text  # unknown member, by name
    assert "SecurityGroupIds" in text  # a required member missing


def test_spot_training_step_carries_the_spot_fields() -> None:
    checkpoint = "s3://b/checkpoints/fit"
    step = oracle_step(
        "fit",
        use_training_step=True,
        use_spot_instances=True,
        max_wait_time_in_seconds=10800,
        checkpoint_s3_uri=checkpoint,
    )
    validate_spec(spec_of(step))
    arguments = step_arguments(step, OUTPUT)
    assert arguments["EnableManagedSpotTraining"] is True
    assert arguments["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800}
    assert arguments["CheckpointConfig"] == {"S3Uri": checkpoint}
    # Without a wait time, the shortest valid one: the run time.
    default = step_arguments(oracle_step("fit", use_training_step=True, use_spot_instances=True), OUTPUT)
    assert default["StoppingCondition"]["MaxWaitTimeInSeconds"] == 7200


def test_a_wait_shorter_than_the_run_time_is_refused() -> None:
    step = oracle_step("fit", use_training_step=True, use_spot_instances=True, max_wait_time_in_seconds=60)
    (problem,) = problems(step)
    assert "max_wait_time_in_seconds = 60 is less than max_runtime_in_seconds = 7200" in problem
    (problem,) = problems(
        oracle_step("fit", use_training_step=True, sdk_arguments={"use_spot_instances": True, "max_wait": 60})
    )
    assert "estimator_args.max_wait = 60 is less than max_runtime_in_seconds = 7200" in problem


def test_a_wait_without_spot_is_refused() -> None:
    (problem,) = problems(oracle_step("fit", use_training_step=True, max_wait_time_in_seconds=9000))
    assert "applies to managed spot training only" in problem and "use_spot_instances=True" in problem


def test_processing_steps_ignore_training_only_settings() -> None:
    """Pipeline-wide spot or warm-pool settings must not break the pipeline's processing steps."""
    step = oracle_step(
        "prep", use_spot_instances=True, max_wait_time_in_seconds=60, keep_alive_period_in_seconds=60
    )
    validate_spec(spec_of(step))
    arguments = step_arguments(step)
    assert (
        "EnableManagedSpotTraining" not in arguments
        and "MaxWaitTimeInSeconds" not in arguments["StoppingCondition"]
    )


@pytest.mark.parametrize(
    ("outputs", "mode", "fragment"),
    [
        ({"a": "s3://b/a"}, "EndOfJob", "dict of channels"),
        ("s3://b/out", "Continuous", "output_data_s3_mode = 'Continuous'"),
    ],
)
def test_training_steps_take_one_output_uploaded_at_the_end(outputs: Any, mode: str, fragment: str) -> None:
    step = oracle_step("fit", use_training_step=True, output_data_s3_uri=outputs, output_data_s3_mode=mode)
    assert any(fragment in problem for problem in problems(step))


def test_the_default_checkpoint_location_is_per_execution_under_the_stack_bucket() -> None:
    from sagemaker_stack.orchestrator.snapshot_spec import default_checkpoint_uri

    uri = default_checkpoint_uri("stack-bucket", "zenml-demo", "fit")
    assert uri == {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3://stack-bucket/sagemaker-pipelines/zenml-demo/checkpoints",
                {"Get": "Execution.PipelineExecutionId"},
                "fit",
            ],
        }
    }
    step = oracle_step("fit", use_training_step=True, use_spot_instances=True, checkpoint_s3_uri=uri)
    validate_spec(spec_of(step))
    assert step_arguments(step, OUTPUT)["CheckpointConfig"] == {"S3Uri": uri}
