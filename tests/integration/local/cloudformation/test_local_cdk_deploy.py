"""The real `cdk` CLI against the emulator: bootstrap, deploy, redeploy, destroy the real app.

Slow (about 35 s per deploy cycle, mostly synthesis), so one emulator serves the whole module
and the bootstrap is done once; each test deploys under its own stack name and prefix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_stack.config import StackConfig
from sagemaker_stack.local import Emulator

APP_DIR = Path(__file__).resolve().parents[4]
VENV_BIN = Path(sys.executable).parent


def _cdk_env(emulator: Emulator) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(emulator.env())
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


class Cdk:
    def __init__(self, emulator: Emulator, out_dir: Path) -> None:
        self.env = _cdk_env(emulator)
        self.out_dir = out_dir
        self.executable = shutil.which("cdk", path=self.env["PATH"])

    def __call__(self, *arguments: str) -> str:
        assert self.executable is not None
        result = subprocess.run(
            [self.executable, *arguments, "-o", str(self.out_dir)],
            cwd=APP_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"cdk {' '.join(arguments)} failed:\n{output[-3000:]}"
        return output


@pytest.fixture(scope="module")
def cdk(emulator_server: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdk]:
    if not (APP_DIR / "app.py").exists() or not (APP_DIR / "cdk.json").exists():
        pytest.skip("the CDK app (app.py, cdk.json) is not in this checkout")
    runner = Cdk(emulator_server, tmp_path_factory.mktemp("cdk.out"))
    if runner.executable is None:
        pytest.skip("the cdk CLI is not installed in this environment (run `make install`)")
    runner("bootstrap", "aws://123456789012/us-east-1")
    yield runner


def _context(stack_name: str, prefix: str, retain: bool) -> list[str]:
    return [
        "-c",
        f"stack_name={stack_name}",
        "-c",
        f"resource_prefix={prefix}",
        "-c",
        f"retain_data={str(retain).lower()}",
    ]


def _exists(call: Any, missing_codes: tuple[str, ...]) -> bool:
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in missing_codes:
            return False
        raise
    return True


def _resources(emulator: Emulator, outputs: dict[str, str]) -> dict[str, bool]:
    s3, ecr, iam = emulator.client("s3"), emulator.client("ecr"), emulator.client("iam")
    secrets = emulator.client("secretsmanager")
    bucket, repository = outputs["ArtifactBucketName"], outputs["RepositoryName"]
    return {
        "bucket": _exists(lambda: s3.head_bucket(Bucket=bucket), ("404", "NoSuchBucket")),
        "repository": _exists(
            lambda: ecr.describe_repositories(repositoryNames=[repository]), ("RepositoryNotFoundException",)
        ),
        "execution_role": _exists(
            lambda: iam.get_role(RoleName=outputs["ExecutionRoleArn"].rsplit("/", 1)[-1]), ("NoSuchEntity",)
        ),
        "secret": _exists(
            lambda: secrets.describe_secret(SecretId=outputs["SecretArn"]), ("ResourceNotFoundException",)
        ),
    }


def test_deploy_export_redeploy_and_destroy_without_retained_data(
    cdk: Cdk, emulator_server: Emulator, tmp_path: Path
) -> None:
    context = _context("emulator-deploy", "emudeploy", retain=False)
    outputs_file = tmp_path / "cdk-outputs.json"

    cdk("deploy", "--method=direct", "--require-approval", "never", "-O", str(outputs_file), *context)

    outputs = json.loads(outputs_file.read_text())["emulator-deploy"]
    assert _resources(emulator_server, outputs) == dict.fromkeys(
        ("bucket", "repository", "execution_role", "secret"), True
    )
    secret = emulator_server.client("secretsmanager").get_secret_value(SecretId=outputs["SecretArn"])
    assert json.loads(secret["SecretString"])  # generated, readable by ARN with the execution's keys

    config_file = tmp_path / "sagemaker-stack.json"
    exported = subprocess.run(
        [
            str(VENV_BIN / "sagemaker-stack"),
            "export",
            "--stack-name",
            "emulator-deploy",
            "--region",
            "us-east-1",
            "--endpoint-url",
            emulator_server.endpoint_url,
            "--output",
            str(config_file),
        ],
        env=cdk.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    config = StackConfig.load(config_file)
    assert config.secret_arn == outputs["SecretArn"]
    assert config.endpoint_url == emulator_server.endpoint_url

    again = cdk("deploy", "--method=direct", "--require-approval", "never", *context)
    assert "no changes" in again

    cdk("destroy", "--force", *context)
    assert _resources(emulator_server, outputs) == dict.fromkeys(
        ("bucket", "repository", "execution_role", "secret"), False
    )


def test_destroy_keeps_bucket_and_repository_when_data_is_retained(
    cdk: Cdk, emulator_server: Emulator, tmp_path: Path
) -> None:
    context = _context("emulator-retain", "emuretain", retain=True)
    outputs_file = tmp_path / "cdk-outputs.json"
    cdk("deploy", "--method=direct", "--require-approval", "never", "-O", str(outputs_file), *context)
    outputs = json.loads(outputs_file.read_text())["emulator-retain"]

    cdk("destroy", "--force", *context)

    remaining = _resources(emulator_server, outputs)
    assert remaining["bucket"] and remaining["repository"]
    assert not remaining["execution_role"]


def test_a_private_stack_deploys_as_its_template_says_and_goes_with_its_vpc(
    cdk: Cdk, emulator_server: Emulator, tmp_path: Path
) -> None:
    """vpc=create kms=create access_logs=true: what moto's own types dropped is there (cloudformation.fixes),
    and destroying the stack removes the VPC and its endpoints and schedules the key's deletion."""
    context = [
        *_context("emulator-private", "emuprivate", retain=False),
        *("-c", "vpc=create", "-c", "kms=create", "-c", "access_logs=true"),
    ]
    outputs_file = tmp_path / "cdk-outputs.json"
    cdk("deploy", "--method=direct", "--require-approval", "never", "-O", str(outputs_file), *context)
    outputs = json.loads(outputs_file.read_text())["emulator-private"]
    ec2, kms = emulator_server.client("ec2"), emulator_server.client("kms")
    key, vpc = outputs["KmsKeyArn"], outputs["VpcId"]

    subnets = ec2.describe_subnets(SubnetIds=outputs["SubnetIds"].split(","))["Subnets"]
    assert {subnet["VpcId"] for subnet in subnets} == {vpc}
    assert len({subnet["AvailabilityZone"] for subnet in subnets}) == 2
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
    assert len(endpoints) == 8
    (group,) = ec2.describe_security_groups(GroupIds=[outputs["SecurityGroupId"]])["SecurityGroups"]
    assert group["IpPermissions"] == []
    assert [
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in group["IpPermissionsEgress"]
    ] == [("tcp", 443, 443)]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    rule = emulator_server.client("s3").get_bucket_encryption(Bucket=outputs["ArtifactBucketName"])[
        "ServerSideEncryptionConfiguration"
    ]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key and rule["BucketKeyEnabled"]
    (repository,) = emulator_server.client("ecr").describe_repositories(
        repositoryNames=[outputs["RepositoryName"]]
    )["repositories"]
    assert repository["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": key}
    assert (
        emulator_server.client("secretsmanager").describe_secret(SecretId=outputs["SecretArn"])["KmsKeyId"]
        == key
    )
    groups = emulator_server.client("logs").describe_log_groups(
        logGroupNamePrefix="/aws/codebuild/emuprivate"
    )
    assert [group.get("kmsKeyId") for group in groups["logGroups"]] == [key]
    (flow_log,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
    assert flow_log["TrafficType"] == "ALL"

    cdk("destroy", "--force", *context)
    assert vpc not in [item["VpcId"] for item in ec2.describe_vpcs()["Vpcs"]]
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"] == []
    metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion" and "DeletionDate" in metadata
