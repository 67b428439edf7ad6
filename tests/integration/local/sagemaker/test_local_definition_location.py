"""A 600-step pipeline: its definition is over 1 MB, goes through S3 and is described back intact."""

from __future__ import annotations

import json

import pytest

from sagemaker_stack.local import Emulator
from sagemaker_stack.orchestrator import execution
from sagemaker_stack.orchestrator.definition import build_definition, to_json
from sagemaker_stack.orchestrator.spec import PipelineSpec, ResolvedStepSettings, StepSpec
from sagemaker_stack.orchestrator.validation import validate_spec

ROLE = "arn:aws:iam::123456789012:role/sagemaker-stack-execution"
BUCKET = "stack-artifacts"


def big_spec(steps: int) -> PipelineSpec:
    settings = ResolvedStepSettings(
        instance_type="ml.m5.large", role_arn=ROLE, volume_size_in_gb=30, max_runtime_in_seconds=3600
    )
    environment = {f"SETTING_{i}": "v" * 200 for i in range(8)}
    return PipelineSpec(
        pipeline_name="zenml-big",
        steps=tuple(
            StepSpec(
                name=f"step_{i:03d}",
                upstream=(f"step_{i - 1:03d}",) if i else (),
                image="123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml:abc",
                entrypoint=("python", "-m", "sagemaker_stack.step.entrypoint"),
                arguments=("--step_name", f"step_{i:03d}"),
                environment=environment,
                settings=settings,
            )
            for i in range(steps)
        ),
    )


def test_600_steps_go_through_s3_and_describe_back_intact(emulator: Emulator) -> None:
    spec = big_spec(600)
    validate_spec(spec)
    definition = to_json(build_definition(spec))
    assert len(definition) > execution.definition_limit()
    sagemaker, s3 = emulator.client("sagemaker"), emulator.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    store = execution.DefinitionStore(BUCKET, lambda: s3)
    upserted = execution.upsert_pipeline(
        sagemaker,
        execution.PipelineRequest(name="zenml-big", definition=definition, role_arn=ROLE, store=store),
    )
    assert upserted.created and upserted.version_id == 1
    described = sagemaker.describe_pipeline(PipelineName="zenml-big")["PipelineDefinition"]
    assert described == definition
    assert len(json.loads(described)["Steps"]) == 600
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("sagemaker-pipelines/zenml-big/definitions/")
    # The update path reads the new object too.
    bigger = to_json(build_definition(big_spec(601)))
    assert execution.upsert_pipeline(
        sagemaker, execution.PipelineRequest(name="zenml-big", definition=bigger, role_arn=ROLE, store=store)
    ) == execution.Upserted(upserted.arn, False, 2)
    assert sagemaker.describe_pipeline(PipelineName="zenml-big")["PipelineDefinition"] == bigger


def test_a_missing_definition_object_is_a_validation_error(emulator: Emulator) -> None:
    from botocore.exceptions import ClientError

    sagemaker = emulator.client("sagemaker")
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as error:
        sagemaker.create_pipeline(
            PipelineName="zenml-missing",
            PipelineDefinitionS3Location={"Bucket": BUCKET, "ObjectKey": "nope.json"},
            RoleArn=ROLE,
        )
    assert "s3://stack-artifacts/nope.json" in str(error.value)
