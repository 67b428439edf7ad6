"""`sagemaker-stack up -c vpc=create -c kms=create`, a diamond with no settings, then `down`.

One deploy for every check (the suite's time): the stack deploys on the emulator, the ZenML
stack `up` registers carries its subnets, security group and key, a pipeline with no settings
runs on it, every step of its definition (read back from SageMaker) and every job it ran names
the subnets, the security group and the key for both volume and outputs, and `down` removes the
VPC and its endpoints and schedules the key's deletion (retain_data=false). The emulator records
these fields; it does not enforce network rules or key policies (docs/emulator.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deployed import CLI, Deployed, deployed_with_up, run

SCRIPT = Path(__file__).with_name("e2e_private_pipelines.py")
STACK = "private-test"


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with deployed_with_up(tmp_path_factory.mktemp("private"), STACK, "vpc=create", "kms=create") as stack:
        yield stack


def test_up_exports_and_registers_the_subnets_security_group_and_key(private: Deployed) -> None:
    config = private.config
    assert config.vpc_id and config.subnet_ids and len(config.subnet_ids) == 2
    assert config.security_group_id and config.kms_key_arn and config.nat is False
    ec2 = private.aws("ec2")
    subnets = ec2.describe_subnets(SubnetIds=list(config.subnet_ids))["Subnets"]
    assert {subnet["VpcId"] for subnet in subnets} == {config.vpc_id}
    # The ZenML server is on loopback (a private address): no warning about the steps' way to it.
    assert "warning:" not in private.up_output


def test_a_diamond_with_no_settings_runs_in_the_vpc_with_the_stack_key(private: Deployed) -> None:
    done = run(
        {**private.env, "SAGEMAKER_STACK_POLL_SECONDS": "1"}, sys.executable, str(SCRIPT), cwd=SCRIPT.parent
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    result = json.loads(lines[-1]) if lines else {}
    assert result.get("status") == "completed", done.stdout[-3000:] + done.stderr[-3000:]
    assert result["steps"] == dict.fromkeys(("load", "double", "square", "join"), "completed")
    assert result["total"] == 90 + 285

    config = private.config
    key, vpc_config = (
        config.kms_key_arn,
        {"Subnets": list(config.subnet_ids or ()), "SecurityGroupIds": [config.security_group_id]},
    )
    sagemaker = private.aws("sagemaker")
    execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=result["execution_arn"])
    definition = json.loads(
        sagemaker.describe_pipeline(PipelineName=execution["PipelineArn"].rsplit("/", 1)[1])[
            "PipelineDefinition"
        ]
    )
    # No settings: the diamond's four steps share one job configuration, so one step group.
    assert [step["Name"] for step in definition["Steps"]] == ["load-to-join-4-steps"]
    for step in definition["Steps"]:
        arguments = step["Arguments"]
        assert arguments["NetworkConfig"]["VpcConfig"] == vpc_config, step["Name"]
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key, step["Name"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == key, step["Name"]

    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=result["execution_arn"])
    jobs = [entry["Metadata"]["ProcessingJob"]["Arn"] for entry in steps["PipelineExecutionSteps"]]
    assert len(jobs) == 1
    for arn in jobs:
        job = sagemaker.describe_processing_job(ProcessingJobName=arn.rsplit("/", 1)[1])
        assert job["NetworkConfig"]["VpcConfig"] == vpc_config
        assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
        assert job["ProcessingOutputConfig"]["KmsKeyId"] == key


def test_down_removes_the_vpc_and_endpoints_and_schedules_the_keys_deletion(private: Deployed) -> None:
    config = private.config
    down = run(private.env, CLI, "down", "--config", str(private.config_path))
    assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
    ec2 = private.aws("ec2")
    assert config.vpc_id not in [vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]]
    assert (
        ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [str(config.vpc_id)]}])[
            "VpcEndpoints"
        ]
        == []
    )
    assert (
        private.aws("kms").describe_key(KeyId=config.kms_key_arn)["KeyMetadata"]["KeyState"]
        == "PendingDeletion"
    )
