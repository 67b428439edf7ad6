"""`export` from a user's stack holding several `ZenmlSageMaker` constructs: `--construct` picks one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner
from moto import mock_aws

from sagemaker_stack.cli.export import export
from sagemaker_stack.config import StackConfig, output_key
from sagemaker_stack.ops.outputs import OutputsError, config_from_cloudformation
from sagemaker_stack.ops.registration.plan import RegistrationError
from sagemaker_stack.ops.registration.secret import check_deployed
from tests.unit.ops.test_ops_outputs import (
    ACCOUNT,
    REGION,
    STACK,
    cfn_client,
    describe_response,
    make_outputs,
)

__all__ = ["cfn_client"]  # the fixture, shared


def _construct(output_prefix: str, resource_prefix: str, **overrides: str) -> dict[str, str]:
    """One construct's outputs under its output prefix, as `ZenmlSageMaker` writes them."""
    outputs = make_outputs(
        **overrides,
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{resource_prefix}-execution",
        ArtifactBucketName=f"{resource_prefix}-artifacts-{ACCOUNT}-{REGION}",
        ArtifactPath=f"s3://{resource_prefix}-artifacts-{ACCOUNT}-{REGION}/zenml",
        RepositoryName=f"{resource_prefix}-images",
        ResourcePrefix=resource_prefix,
    )
    return {output_key(output_prefix, name): value for name, value in outputs.items()}


#: A platform team's stack: two teams' constructs, and an output of the team's own.
TWO_TEAMS = {**_construct("TeamA", "team-a"), **_construct("TeamB", "team-b"), "PlatformVpcId": "vpc-1"}


@pytest.mark.parametrize(("construct", "prefix"), [("TeamB", "team-b"), ("team-a", "team-a")])
def test_export_picks_a_construct_by_id_or_resource_prefix(
    cfn_client: Any, construct: str, prefix: str
) -> None:
    with Stubber(cfn_client) as stub:
        stub.add_response(
            "describe_stacks", describe_response("CREATE_COMPLETE", TWO_TEAMS), {"StackName": STACK}
        )
        config = config_from_cloudformation(STACK, region=REGION, client=cfn_client, construct=construct)
    assert config.resource_prefix == prefix
    assert config.bucket_name == f"{prefix}-artifacts-{ACCOUNT}-{REGION}"
    assert config.execution_role_arn == f"arn:aws:iam::{ACCOUNT}:role/{prefix}-execution"


def test_several_constructs_and_no_choice_is_one_error_listing_them(cfn_client: Any) -> None:
    with Stubber(cfn_client) as stub:
        stub.add_response(
            "describe_stacks", describe_response("CREATE_COMPLETE", TWO_TEAMS), {"StackName": STACK}
        )
        with pytest.raises(OutputsError) as raised:
            config_from_cloudformation(STACK, region=REGION, client=cfn_client)
    message = str(raised.value)
    assert "\n" not in message
    assert (
        "holds 2 sagemaker-stack constructs: TeamA (resource prefix team-a), TeamB (resource prefix team-b)"
        in (message)
    )
    assert "--construct" in message


def test_an_unknown_construct_is_one_error_listing_those_there_are(cfn_client: Any) -> None:
    with Stubber(cfn_client) as stub:
        stub.add_response(
            "describe_stacks", describe_response("CREATE_COMPLETE", TWO_TEAMS), {"StackName": STACK}
        )
        with pytest.raises(OutputsError, match=r"has no sagemaker-stack construct 'TeamC'; it holds: TeamA"):
            config_from_cloudformation(STACK, region=REGION, client=cfn_client, construct="TeamC")


def test_the_default_construct_keeps_the_plain_names(cfn_client: Any) -> None:
    """A stack of the app (one construct, plain output names) exports with or without --construct."""
    for construct in (None, "Default", "sms"):
        with Stubber(cfn_client) as stub:
            stub.add_response(
                "describe_stacks", describe_response("CREATE_COMPLETE", make_outputs()), {"StackName": STACK}
            )
            config = config_from_cloudformation(STACK, region=REGION, client=cfn_client, construct=construct)
        assert config.resource_prefix == "sms"


def test_cli_export_takes_the_construct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cdk-outputs.json").write_text(json.dumps({STACK: TWO_TEAMS}))
    runner = CliRunner()
    result = runner.invoke(export, ["--outputs-file", "cdk-outputs.json", "--construct", "TeamB"])
    assert result.exit_code == 0, result.output
    assert StackConfig.load(tmp_path / "sagemaker-stack.json").resource_prefix == "team-b"
    refused = runner.invoke(export, ["--outputs-file", "cdk-outputs.json"])
    assert refused.exit_code != 0
    assert "pick one with --construct" in refused.output
    assert "Traceback" not in refused.output


def test_register_checks_the_construct_the_config_was_exported_from(monkeypatch: pytest.MonkeyPatch) -> None:
    """`register` compares the config with the deployed stack: with two constructs in the stack,
    with the one the config came from (by its resource prefix), not with plain output names."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        outputs: dict[str, str] = {}
        for output_prefix, prefix in (("TeamA", "team-a"), ("TeamB", "team-b")):
            secret = boto3.client("secretsmanager", region_name=REGION).create_secret(Name=f"{prefix}/zenml")
            boto3.client("s3", region_name=REGION).create_bucket(
                Bucket=f"{prefix}-artifacts-{ACCOUNT}-{REGION}"
            )
            outputs.update(_construct(output_prefix, prefix, SecretArn=secret["ARN"]))
        template = {
            "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=STACK, TemplateBody=json.dumps(template)
        )
        config = config_from_cloudformation(STACK, region=REGION, construct="TeamB")

        check_deployed(config)  # no error: team B's config matches team B's outputs

        team_a_bucket = f"team-a-artifacts-{ACCOUNT}-{REGION}"
        with pytest.raises(RegistrationError, match=r"\(bucket_name differ\).*sagemaker-stack export"):
            check_deployed(config.model_copy(update={"bucket_name": team_a_bucket}))
