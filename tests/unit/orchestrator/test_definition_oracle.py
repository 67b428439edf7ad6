"""Oracle: the `sagemaker` SDK (2.x) builds the same steps; our definition must say the same thing.

The SDK is only a test dependency here (the submit path never imports it). Its
PipelineSession (the `session` fixture in conftest.py) is built offline with fake credentials
and its telemetry sender is replaced by a no-op, so the test makes no network call.
(sagemaker 2.257 has no telemetry environment switch; opting out via
`sagemaker_config` works too but re-validates a large JSON schema on every call: 1 s each.)

Each step's snapshot id is read from a String pipeline parameter, as the orchestrator does: the
SDK's ProcessingStep takes a `ParameterString` in `arguments` (and an Estimator in
`container_arguments`) and renders it as `{"Get": "Parameters.<name>"}`, which is evidence that
SageMaker accepts that expression inside ContainerArguments.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import pytest

from sagemaker_stack.orchestrator.definition import (
    build_definition,
    step_definition,
)
from sagemaker_stack.orchestrator.job_request import training_output_path
from sagemaker_stack.orchestrator.names import sagemaker_step_name
from sagemaker_stack.orchestrator.spec import (
    PipelineSpec,
    StepSpec,
)
from tests.support.specs import OUTPUT, PARAMETER, SNAPSHOT, oracle_step


def sdk_retry_policies(retries: int) -> list[Any]:
    from sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )

    if not retries:
        return []
    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            max_attempts=retries,
            interval_seconds=10,
            backoff_rate=2.0,
        ),
        SageMakerJobStepRetryPolicy(
            failure_reason_types=[
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            max_attempts=retries,
            interval_seconds=10,
            backoff_rate=2.0,
        ),
    ]


def sdk_parameter() -> Any:
    from sagemaker.workflow.parameters import ParameterString

    return ParameterString(name=PARAMETER, default_value=SNAPSHOT)


def sdk_arguments(step: StepSpec) -> list[Any]:
    """The step's arguments with each parameter expression as the SDK's own ParameterString."""
    return [sdk_parameter() if isinstance(item, dict) else item for item in step.arguments]


def sdk_environment() -> dict[str, Any]:
    from sagemaker.workflow.execution_variables import ExecutionVariables

    return {"A": "1", "SAGEMAKER_STACK_EXECUTION_ARN": ExecutionVariables.PIPELINE_EXECUTION_ARN}


def sdk_processing_step(step: StepSpec, session: Any) -> Any:
    from sagemaker.processing import Processor
    from sagemaker.workflow.steps import ProcessingStep

    settings = step.settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        processor = Processor(
            role=settings.role_arn,
            image_uri=step.image,
            instance_count=1,
            instance_type=settings.instance_type,
            entrypoint=list(step.entrypoint),
            volume_size_in_gb=settings.volume_size_in_gb,
            max_runtime_in_seconds=settings.max_runtime_in_seconds,
            env=sdk_environment(),
            tags=[{"Key": key, "Value": value} for key, value in sorted(settings.tags.items())] or None,
            sagemaker_session=session,
        )
        return ProcessingStep(
            name=sagemaker_step_name(step.name),
            step_args=processor.run(arguments=sdk_arguments(step)),
            depends_on=list(sorted(sagemaker_step_name(name) for name in step.upstream)) or None,
            retry_policies=sdk_retry_policies(settings.retries) or None,
        )


def sdk_training_step(step: StepSpec, session: Any) -> Any:
    from sagemaker.estimator import Estimator
    from sagemaker.workflow.steps import TrainingStep

    settings = step.settings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = Estimator(
            image_uri=step.image,
            role=settings.role_arn,
            instance_count=1,
            instance_type=settings.instance_type,
            volume_size=settings.volume_size_in_gb,
            max_run=settings.max_runtime_in_seconds,
            keep_alive_period_in_seconds=settings.keep_alive_period_in_seconds,
            environment=sdk_environment(),
            tags=[{"Key": key, "Value": value} for key, value in sorted(settings.tags.items())] or None,
            container_entry_point=list(step.entrypoint),
            container_arguments=sdk_arguments(step),
            output_path=training_output_path(OUTPUT, step),
            sagemaker_session=session,
            disable_profiler=True,
        )
        return TrainingStep(
            name=sagemaker_step_name(step.name),
            step_args=estimator.fit(),
            depends_on=list(sorted(sagemaker_step_name(name) for name in step.upstream)) or None,
            retry_policies=sdk_retry_policies(settings.retries) or None,
        )


def plain(request: Any) -> Any:
    """The SDK's request with pipeline variables rendered as the definition renders them."""
    return json.loads(json.dumps(request, default=lambda variable: variable.expr))


def test_processing_step_equals_the_sdk(session: Any) -> None:
    step = oracle_step("preprocess", ("load",), retries=2)
    assert step_definition(step) == plain(sdk_processing_step(step, session).to_request())


def test_processing_step_without_tags_or_retries_equals_the_sdk(session: Any) -> None:
    step = oracle_step("load", tags={}, instance_type="ml.t3.medium", volume_size_in_gb=30)
    assert step_definition(step) == plain(sdk_processing_step(step, session).to_request())


#: CreateTrainingJob members the SDK adds on its own (debugger and profiler defaults) that the
#: orchestrator deliberately leaves out; every other member must match.
SDK_ONLY_TRAINING_MEMBERS = {"DebugHookConfig", "ProfilerConfig"}


@pytest.mark.parametrize("keep_alive", [None, 600])
def test_training_step_equals_the_sdk(session: Any, keep_alive: int | None) -> None:
    step = oracle_step(
        "fit",
        ("preprocess",),
        use_training_step=True,
        keep_alive_period_in_seconds=keep_alive,
        retries=1,
        instance_type="ml.g5.xlarge",
    )
    ours = step_definition(step, OUTPUT)
    sdk = plain(sdk_training_step(step, session).to_request())
    sdk_arguments = {k: v for k, v in sdk.pop("Arguments").items() if k not in SDK_ONLY_TRAINING_MEMBERS}
    assert ours.pop("Arguments") == sdk_arguments
    assert ours == sdk


def test_whole_definition_equals_the_sdk_pipeline(session: Any) -> None:
    from sagemaker.workflow.pipeline import Pipeline

    steps = (
        oracle_step("load"),
        oracle_step("left", ("load",)),
        oracle_step("right", ("load",), retries=3),
        oracle_step("join", ("left", "right")),
    )
    ours = build_definition(
        PipelineSpec(pipeline_name="zenml-oracle", steps=steps, parameters={PARAMETER: SNAPSHOT})
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = Pipeline(
            name="zenml-oracle",
            steps=[sdk_processing_step(step, session) for step in steps],
            parameters=[sdk_parameter()],
            sagemaker_session=session,
            pipeline_experiment_config=None,
        )
        sdk = json.loads(pipeline.definition())
    sdk.pop("PipelineExperimentConfig", None)
    assert ours == sdk
    assert os.environ.get("SAGEMAKER_SUPPRESS_V2_WARNING") == "1"  # the session fixture is in force
