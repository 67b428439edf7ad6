"""The VPC and KMS settings: from the stack's config into every step's request, and refused when wrong.

A stack deployed with `vpc` and `kms` hands its subnets, security group and key to the
orchestrator's configuration (`config_kwargs_from_stack_config`); every step of every pipeline
then runs there with that key unless its own settings say otherwise. What cannot work is refused
before any AWS call, naming the step and the setting that asked for it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.flavor import config_kwargs_from_stack_config
from sagemaker_stack.orchestrator.definition import step_arguments
from sagemaker_stack.orchestrator.spec import InvalidPipelineError, PipelineSpec, StepSpec
from sagemaker_stack.orchestrator.validation import validate_spec
from tests.support.runtime_fakes import ACCOUNT, REGION, diamond, fake_snapshot, make_config
from tests.support.specs import OUTPUT, PARAMETER, SNAPSHOT, oracle_step
from tests.unit.orchestrator.test_orchestrator_submit import Recorder, _submit

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
GROUP = "sg-0123456789abcdef0"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_REGION_KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def stack_config() -> StackConfig:
    """A deployed stack with `vpc=create kms=create`, as `export` writes it."""
    return StackConfig.from_dict(
        {
            "stack_name": "private",
            "region": REGION,
            "account": ACCOUNT,
            "resource_prefix": "smstack",
            "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/smstack-execution",
            "bucket_name": "smstack-artifacts",
            "artifact_path": "s3://smstack-artifacts/zenml",
            "registry_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
            "repository_name": "smstack-zenml",
            "secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:smstack/zenml-server-AbCdEf",
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": ",".join(SUBNETS),  # as the stack output holds them
            "security_group_id": GROUP,
            "kms_key_arn": KEY,
        }
    )


def private_config(**overrides: Any) -> Any:
    """The orchestrator's configuration as `register` makes it for that stack."""
    kwargs = config_kwargs_from_stack_config(stack_config())
    network = {
        key: kwargs[key]
        for key in ("subnets", "security_group_ids", "volume_kms_key_id", "output_kms_key_id")
    }
    return make_config(**network, **overrides)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    from sagemaker_stack.orchestrator import sagemaker_orchestrator

    recorder = Recorder()
    monkeypatch.setattr(
        sagemaker_orchestrator.SagemakerPipelinesOrchestrator,
        "_client",
        lambda self, service: recorder.client,
    )
    return recorder


def _definition_steps(recorder: Recorder) -> dict[str, dict[str, Any]]:
    create = next(request for operation, request in recorder.requests if operation == "CreatePipeline")
    return {step["Name"]: step for step in json.loads(create["PipelineDefinition"])["Steps"]}


def test_every_step_of_a_private_stack_runs_in_its_subnets_with_its_key(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    snapshot = fake_snapshot(diamond(), step_settings={"join": {"use_training_step": True}})
    with recorder.stubber:
        recorder.expect_run(exists=False)
        _submit(make_orchestrator(config=private_config()), snapshot)
    steps = _definition_steps(recorder)
    assert set(steps) == {"load", "left", "right", "join"}
    for name in ("load", "left", "right"):
        arguments = steps[name]["Arguments"]
        assert arguments["NetworkConfig"] == {"VpcConfig": {"Subnets": SUBNETS, "SecurityGroupIds": [GROUP]}}
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
        # No outputs, but the step still says how SageMaker would encrypt them.
        assert arguments["ProcessingOutputConfig"] == {"KmsKeyId": KEY, "Outputs": []}
    training = steps["join"]["Arguments"]
    assert training["VpcConfig"] == {"Subnets": SUBNETS, "SecurityGroupIds": [GROUP]}
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == KEY
    assert training["OutputDataConfig"]["KmsKeyId"] == KEY
    assert "EnableNetworkIsolation" not in training


def test_a_step_setting_wins_over_the_stack_default(make_orchestrator: Any, recorder: Recorder) -> None:
    other = ["subnet-00000000000000001"]
    snapshot = fake_snapshot(
        diamond(),
        step_settings={
            "left": {"subnets": other, "security_group_ids": ["sg-00000001"]},
            "right": {"enable_inter_container_traffic_encryption": True, "output_kms_key_id": "alias/ml"},
        },
    )
    with recorder.stubber:
        recorder.expect_run(exists=False)
        _submit(make_orchestrator(config=private_config()), snapshot)
    steps = _definition_steps(recorder)
    assert steps["left"]["Arguments"]["NetworkConfig"]["VpcConfig"] == {
        "Subnets": other,
        "SecurityGroupIds": ["sg-00000001"],
    }
    right = steps["right"]["Arguments"]
    assert right["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert right["ProcessingOutputConfig"]["KmsKeyId"] == "alias/ml"
    assert steps["load"]["Arguments"]["NetworkConfig"]["VpcConfig"]["Subnets"] == SUBNETS


def test_a_stack_without_vpc_or_key_sends_none_of_it(make_orchestrator: Any, recorder: Recorder) -> None:
    with recorder.stubber:
        recorder.expect_run(exists=False)
        _submit(make_orchestrator(), fake_snapshot(diamond()))
    for step in _definition_steps(recorder).values():
        arguments = step["Arguments"]
        assert "NetworkConfig" not in arguments and "ProcessingOutputConfig" not in arguments
        assert "VolumeKmsKeyId" not in arguments["ProcessingResources"]["ClusterConfig"]


def test_the_stack_key_is_not_sent_to_a_type_with_local_storage(
    make_orchestrator: Any, recorder: Recorder
) -> None:
    """SageMaker refuses a volume key for types whose local storage the hardware encrypts."""
    snapshot = fake_snapshot(diamond(), step_settings={"left": {"instance_type": "ml.g4dn.xlarge"}})
    with recorder.stubber:
        recorder.expect_run(exists=False)
        _submit(make_orchestrator(config=private_config()), snapshot)
    steps = _definition_steps(recorder)
    assert "VolumeKmsKeyId" not in steps["left"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert steps["left"]["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert steps["right"]["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"subnets": ["subnet-1"]}, "subnets: 'subnet-1' is not a subnet id"),
        ({"security_group_ids": ["sg_0123"]}, "security_group_ids: 'sg_0123' is not a security group id"),
        ({"volume_kms_key_id": OTHER_REGION_KEY}, "volume_kms_key_id = 'arn:aws:kms:eu-west-1:"),
        ({"output_kms_key_id": "my-key"}, "output_kms_key_id = 'my-key' is not a KMS key"),
        (
            {"volume_kms_key_id": "alias/ml", "instance_type": "ml.g5.xlarge"},
            "cannot be used with ml.g5.xlarge",
        ),
        (
            {"processor_args": {"network_config": {"enable_network_isolation": True}}},
            "processor_args.network_config asks for network isolation",
        ),
        (
            {"job_arguments": {"NetworkConfig": {"EnableNetworkIsolation": True}}},
            "job_arguments asks for network isolation",
        ),
    ],
)
def test_bad_network_or_key_settings_are_refused_before_any_call(
    make_orchestrator: Any, recorder: Recorder, settings: dict[str, Any], expected: str
) -> None:
    snapshot = fake_snapshot(diamond(), step_settings={"left": settings})
    with recorder.stubber, pytest.raises(InvalidPipelineError) as caught:
        _submit(make_orchestrator(config=private_config()), snapshot)
    assert recorder.requests == []
    problems = [problem for problem in caught.value.problems if problem.startswith("step 'left'")]
    assert any(expected in problem for problem in problems), problems
    assert not [problem for problem in caught.value.problems if not problem.startswith("step 'left'")]


# --- the rules on the request, whichever setting put a member there ---------------------------


def _problems(step: StepSpec, region: str | None = REGION) -> list[str]:
    spec = PipelineSpec(
        pipeline_name="zenml-net",
        steps=(step,),
        output_s3_uri=OUTPUT,
        parameters={PARAMETER: SNAPSHOT},
        region=region,
    )
    with pytest.raises(InvalidPipelineError) as error:
        validate_spec(spec)
    return list(error.value.problems)


@pytest.mark.parametrize(
    ("settings", "source"),
    [
        ({"use_training_step": True, "sdk_arguments": {"enable_network_isolation": True}}, "estimator_args"),
        ({"use_training_step": True, "job_arguments": {"EnableNetworkIsolation": True}}, "job_arguments"),
        ({"sdk_arguments": {"network_config": {"enable_network_isolation": True}}}, "processor_args"),
    ],
)
def test_network_isolation_is_refused_by_every_route_with_the_reason(
    settings: dict[str, Any], source: str
) -> None:
    found = [
        problem for problem in _problems(oracle_step("fit", **settings)) if "network isolation" in problem
    ]
    assert len(found) == 1
    assert found[0].startswith(f"step 'fit': {source}")
    assert "can reach neither the ZenML server nor the artifact store" in found[0]


def test_subnets_without_security_groups_are_refused_naming_both() -> None:
    (problem,) = [p for p in _problems(oracle_step("prep", subnets=tuple(SUBNETS))) if "VPC" in p]
    assert "subnets puts the job in a VPC without SecurityGroupIds" in problem
    assert "set subnets and security_group_ids together" in problem


def test_security_groups_without_subnets_through_the_sdk_are_refused() -> None:
    step = oracle_step("fit", use_training_step=True, sdk_arguments={"security_group_ids": [GROUP]})
    (problem,) = [p for p in _problems(step) if "VPC" in p]
    assert problem.startswith(
        "step 'fit': estimator_args.security_group_ids puts the job in a VPC without Subnets"
    )


@pytest.mark.parametrize(
    "key",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/ml-team",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ml-team",
        KEY,
    ],
)
def test_every_form_of_key_sagemaker_takes_is_accepted(key: str) -> None:
    spec = PipelineSpec(
        pipeline_name="zenml-net",
        steps=(oracle_step("prep", volume_kms_key_id=key, output_kms_key_id=key),),
        output_s3_uri=OUTPUT,
        parameters={PARAMETER: SNAPSHOT},
        region=REGION,
    )
    validate_spec(spec)
    arguments = step_arguments(spec.steps[0])
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key


def test_a_key_of_another_region_is_refused_by_every_route() -> None:
    step = oracle_step("fit", use_training_step=True, sdk_arguments={"output_kms_key": OTHER_REGION_KEY})
    (problem,) = [p for p in _problems(step) if "eu-west-1" in p]
    assert problem.startswith("step 'fit': estimator_args.output_kms_key = ")
    assert f"the stack's jobs run in {REGION}" in problem


def test_an_alias_arn_of_another_region_is_refused_too() -> None:
    alias = f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/ml"
    (problem,) = [p for p in _problems(oracle_step("prep", volume_kms_key_id=alias)) if "eu-west-1" in p]
    assert "volume_kms_key_id" in problem
