"""StepSpec builders for the orchestrator's unit tests, once (three modules each had their own).

`make_step` is a step with ordinary settings (what the DAG and validation tests vary);
`oracle_step` is the step the SDK oracle tests compare with the `sagemaker` SDK's: other
settings, tags, and the snapshot id read from a pipeline parameter as the orchestrator does.
"""

from __future__ import annotations

from typing import Any

from sagemaker_stack.orchestrator.spec import (
    PIPELINE_EXECUTION_ARN,
    ResolvedStepSettings,
    StepSpec,
    pipeline_parameter,
)

ROLE = "arn:aws:iam::123456789012:role/sagemaker-stack-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml:abc"
ENTRYPOINT = ("python", "-m", "sagemaker_stack.step.entrypoint")
#: The oracle's output location, snapshot parameter and snapshot id.
OUTPUT = "s3://b/sagemaker-pipelines/zenml-oracle"
PARAMETER = "ZenMLSnapshotId"
SNAPSHOT = "0b4d3f7e-2d0e-4b8a-9a8e-0c6f1f3f1d2a"
#: The example project's shape (step -> its upstream steps): a chain, a fan-out and a fan-in.
EXAMPLE_SHAPE: dict[str, list[str]] = {
    "load": [],
    "split": ["load"],
    "train_a": ["split"],
    "train_b": ["split"],
    "evaluate": ["train_a", "train_b"],
}


def make_step(
    name: str = "trainer",
    upstream: tuple[str, ...] = (),
    environment: dict[str, Any] | None = None,
    image: str = IMAGE,
    arguments: tuple[Any, ...] | None = None,
    **settings: Any,
) -> StepSpec:
    """A step on a small instance; `settings` override its ResolvedStepSettings."""
    values: dict[str, Any] = {
        "instance_type": "ml.t3.medium",
        "role_arn": ROLE,
        "volume_size_in_gb": 30,
        "max_runtime_in_seconds": 86400,
        **settings,
    }
    return StepSpec(
        name=name,
        upstream=upstream,
        image=image,
        entrypoint=ENTRYPOINT,
        arguments=("--step_name", name, "--snapshot_id", "0000") if arguments is None else arguments,
        environment=(
            {"ZENML_LOGGING_VERBOSITY": "INFO", "SAGEMAKER_STACK_EXECUTION_ARN": PIPELINE_EXECUTION_ARN}
            if environment is None
            else environment
        ),
        settings=ResolvedStepSettings(**values),
    )


def oracle_step(name: str, upstream: tuple[str, ...] = (), **settings: Any) -> StepSpec:
    """The oracle tests' step: the snapshot id from the PARAMETER pipeline parameter."""
    return make_step(
        name,
        upstream,
        environment={"A": "1", "SAGEMAKER_STACK_EXECUTION_ARN": PIPELINE_EXECUTION_ARN},
        arguments=("--step_name", name, "--snapshot_id", pipeline_parameter(PARAMETER)),
        **{
            "instance_type": "ml.m5.xlarge",
            "volume_size_in_gb": 40,
            "max_runtime_in_seconds": 7200,
            "tags": {"team": "ml", "env": "test"},
            **settings,
        },
    )
