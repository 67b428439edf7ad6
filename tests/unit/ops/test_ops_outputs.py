"""Stack outputs -> StackConfig: from a `cdk deploy -O` file and from CloudFormation DescribeStacks."""

from __future__ import annotations

import json
import stat
from datetime import UTC
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner
from moto import mock_aws

from sagemaker_stack import aws
from sagemaker_stack.cli.export import export
from sagemaker_stack.config import REQUIRED_OUTPUTS, SCHEMA_VERSION, ConfigError, OutputName, StackConfig
from sagemaker_stack.ops.outputs import (
    OutputsError,
    config_from_cloudformation,
    config_from_outputs,
    config_from_outputs_file,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "sagemaker-stack"


def make_outputs(**overrides: str) -> dict[str, str]:
    """The outputs the recipe's stack emits, with the JSON output built from the individual ones."""
    outputs = {
        OutputName.EXECUTION_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/sms-execution",
        OutputName.BUCKET_NAME: f"sms-artifacts-{ACCOUNT}-{REGION}",
        OutputName.ARTIFACT_PATH: f"s3://sms-artifacts-{ACCOUNT}-{REGION}/zenml",
        OutputName.REGISTRY_URI: f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        OutputName.REPOSITORY_NAME: "sms-images",
        OutputName.SECRET_ARN: f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:sms-zenml-AbCdEf",
        OutputName.SCHEDULER_ROLE_ARN: f"arn:aws:iam::{ACCOUNT}:role/sms-scheduler",
        OutputName.RESOURCE_PREFIX: "sms",
        OutputName.RETAIN_DATA: "true",
        OutputName.REGION: REGION,
        OutputName.ACCOUNT: ACCOUNT,
    }
    outputs.update(overrides)
    fields = {
        "execution_role_arn": outputs[OutputName.EXECUTION_ROLE_ARN],
        "bucket_name": outputs[OutputName.BUCKET_NAME],
        "artifact_path": outputs[OutputName.ARTIFACT_PATH],
        "registry_uri": outputs[OutputName.REGISTRY_URI],
        "repository_name": outputs[OutputName.REPOSITORY_NAME],
        "secret_arn": outputs[OutputName.SECRET_ARN],
        "scheduler_role_arn": outputs[OutputName.SCHEDULER_ROLE_ARN],
        "resource_prefix": outputs[OutputName.RESOURCE_PREFIX],
        "retain_data": outputs[OutputName.RETAIN_DATA] == "true",
        "region": outputs[OutputName.REGION],
        "account": outputs[OutputName.ACCOUNT],
    }
    outputs.setdefault(OutputName.STACK_CONFIG_JSON, json.dumps(fields))
    return outputs


def write_outputs_file(path: Path, stacks: dict[str, dict[str, str]]) -> Path:
    path.write_text(json.dumps(stacks, indent=2))
    return path


# --- from a `cdk deploy -O` file -----------------------------------------------------------------


def test_file_gives_the_config_every_later_command_reads(tmp_path: Path) -> None:
    file = write_outputs_file(tmp_path / "cdk-outputs.json", {STACK: make_outputs()})
    config = config_from_outputs_file(file, stack_name=STACK)
    assert config.stack_name == STACK
    assert config.execution_role_arn == f"arn:aws:iam::{ACCOUNT}:role/sms-execution"
    assert config.repository_uri == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sms-images"
    assert config.retain_data is True
    assert config.endpoint_url is None
    assert config.schema_version == SCHEMA_VERSION


def test_file_without_the_json_output_still_works_from_individual_outputs(tmp_path: Path) -> None:
    outputs = make_outputs(RetainData="false")
    del outputs[OutputName.STACK_CONFIG_JSON]
    file = write_outputs_file(tmp_path / "o.json", {STACK: outputs})
    assert config_from_outputs_file(file).retain_data is False


def test_missing_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(OutputsError, match=r"no outputs file at .*cdk deploy -O"):
        config_from_outputs_file(tmp_path / "nope.json", stack_name=STACK)


def test_file_that_is_not_an_outputs_file(tmp_path: Path) -> None:
    (tmp_path / "o.json").write_text("[1, 2]")
    with pytest.raises(OutputsError, match="is not a `cdk deploy -O` outputs file"):
        config_from_outputs_file(tmp_path / "o.json")


def test_wrong_stack_name_lists_the_stacks_in_the_file(tmp_path: Path) -> None:
    file = write_outputs_file(tmp_path / "o.json", {"alpha": make_outputs(), "beta": make_outputs()})
    with pytest.raises(OutputsError, match=r"'gamma' is not in .*it holds: alpha, beta"):
        config_from_outputs_file(file, stack_name="gamma")
    with pytest.raises(OutputsError, match=r"holds 2 stacks \(alpha, beta\).*--stack-name"):
        config_from_outputs_file(file)


def test_missing_outputs_are_named(tmp_path: Path) -> None:
    outputs = make_outputs()
    del outputs[OutputName.SECRET_ARN]
    del outputs[OutputName.SCHEDULER_ROLE_ARN]
    file = write_outputs_file(tmp_path / "o.json", {STACK: outputs})
    with pytest.raises(OutputsError) as caught:
        config_from_outputs_file(file, stack_name=STACK)
    message = str(caught.value)
    assert "SecretArn, SchedulerRoleArn" in message
    assert "this version of the recipe" in message


def test_json_output_that_disagrees_is_refused(tmp_path: Path) -> None:
    outputs = make_outputs()
    combined = json.loads(outputs[OutputName.STACK_CONFIG_JSON])
    combined["bucket_name"] = "some-other-bucket"
    outputs[OutputName.STACK_CONFIG_JSON] = json.dumps(combined)
    file = write_outputs_file(tmp_path / "o.json", {STACK: outputs})
    with pytest.raises(OutputsError, match=r"StackConfigJson says bucket_name='some-other-bucket'"):
        config_from_outputs_file(file, stack_name=STACK)


def test_json_output_that_is_not_json_is_refused() -> None:
    with pytest.raises(OutputsError, match="StackConfigJson is not valid JSON"):
        config_from_outputs(make_outputs(StackConfigJson="{oops"), stack_name=STACK)


def test_bad_output_value_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match=r"execution_role_arn: .*is not an IAM role ARN"):
        config_from_outputs(
            make_outputs(ExecutionRoleArn="not-an-arn", StackConfigJson="{}"), stack_name=STACK
        )


def test_endpoint_url_is_recorded_only_when_given(tmp_path: Path) -> None:
    config = config_from_outputs(make_outputs(), stack_name=STACK, endpoint_url="http://127.0.0.1:5000")
    assert config.endpoint_url == "http://127.0.0.1:5000"


# --- from CloudFormation DescribeStacks ---------------------------------------------------------


def describe_response(status: str, outputs: dict[str, str]) -> dict[str, Any]:
    from datetime import datetime

    return {
        "Stacks": [
            {
                "StackName": STACK,
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/1",
                "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
                "StackStatus": status,
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


@pytest.fixture
def cfn_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("cloudformation", region_name=REGION)


def test_describe_stacks_gives_the_config(cfn_client: Any) -> None:
    with Stubber(cfn_client) as stub:
        stub.add_response(
            "describe_stacks", describe_response("UPDATE_COMPLETE", make_outputs()), {"StackName": STACK}
        )
        config = config_from_cloudformation(STACK, region=REGION, client=cfn_client)
    assert config.bucket_name == f"sms-artifacts-{ACCOUNT}-{REGION}"


def test_stack_not_deployed_says_deploy_first(cfn_client: Any) -> None:
    with Stubber(cfn_client) as stub:
        stub.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {STACK} does not exist",
            http_status_code=400,
        )
        with pytest.raises(
            OutputsError, match=r"is not deployed in region us-east-1: run `cdk deploy` first"
        ):
            config_from_cloudformation(STACK, region=REGION, client=cfn_client)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ROLLBACK_COMPLETE", r"status ROLLBACK_COMPLETE.*cdk destroy"),
        ("CREATE_IN_PROGRESS", r"busy \(CREATE_IN_PROGRESS\): wait"),
        ("UPDATE_ROLLBACK_FAILED", r"status UPDATE_ROLLBACK_FAILED"),
    ],
)
def test_stack_that_failed_or_is_busy_is_refused(cfn_client: Any, status: str, expected: str) -> None:
    with Stubber(cfn_client) as stub:
        stub.add_response("describe_stacks", describe_response(status, make_outputs()), {"StackName": STACK})
        with pytest.raises(OutputsError, match=expected):
            config_from_cloudformation(STACK, region=REGION, client=cfn_client)


def test_unreachable_endpoint_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = f"http://127.0.0.1:{port}"
    # One attempt: the mapping of botocore's connection error is under test, not its retries
    # (the CLI looks at a configured endpoint before any call: tests/unit/cli).
    once = {"retries": {"max_attempts": 1}}
    client = aws.client("cloudformation", region=REGION, endpoint_url=endpoint, config=once)
    with pytest.raises(OutputsError, match=r"cannot reach CloudFormation .*emulator is running"):
        config_from_cloudformation(STACK, region=REGION, endpoint_url=endpoint, client=client)


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # forget credentials an earlier test resolved
    with pytest.raises(OutputsError, match="no AWS credentials found"):
        config_from_cloudformation(STACK, region=REGION, endpoint_url="http://127.0.0.1:9")


# --- moto: a real CloudFormation stack with outputs, and a secret whose value must never leak ------


SECRET_VALUE = "zenml-api-key-Zx9#q1-should-never-leave-secrets-manager"


@pytest.fixture
def moto_stack(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secret_arn = secrets.create_secret(Name="sms-zenml", SecretString=SECRET_VALUE)["ARN"]
        outputs = make_outputs(SecretArn=secret_arn)
        template = {
            "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=STACK, TemplateBody=json.dumps(template)
        )
        yield secret_arn


def test_moto_stack_exports_and_no_secret_value_reaches_the_file(moto_stack: str, tmp_path: Path) -> None:
    config = config_from_cloudformation(STACK, region=REGION)
    assert config.secret_arn == moto_stack
    file = config.save(tmp_path / "sagemaker-stack.json")
    text = file.read_text()
    assert SECRET_VALUE not in text
    assert SECRET_VALUE not in json.dumps(
        boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName=STACK)["Stacks"][0][
            "Outputs"
        ]
    )
    assert StackConfig.load(file) == config


def test_moto_stack_not_deployed(moto_stack: str) -> None:
    with pytest.raises(OutputsError, match=r"'other' is not deployed in region us-east-1"):
        config_from_cloudformation("other", region=REGION)


def test_no_config_field_can_hold_a_secret_value() -> None:
    """A guard for the future: the hand-off format has no field meant for a secret value, and every
    value the outputs give is an identifier (ARN, name, path, host), checked by its pattern."""
    suspicious = ("password", "token", "api_key", "secret_value", "secret_string", "access_key", "credential")
    for field in StackConfig.model_fields:
        assert not any(word in field for word in suspicious), field
    config = config_from_outputs(make_outputs(), stack_name=STACK)
    for field, value in config.model_dump().items():
        if isinstance(value, str) and field not in {"stack_name", "resource_prefix", "region", "account"}:
            assert value.startswith(("arn:aws", "s3://", "http")) or "." in value or value.islower(), field
    assert set(REQUIRED_OUTPUTS) >= {OutputName.SECRET_ARN}


# --- the file itself ------------------------------------------------------------------------------


def test_config_file_is_private_and_round_trips(tmp_path: Path) -> None:
    config = config_from_outputs(make_outputs(), stack_name=STACK)
    file = config.save(tmp_path / "deep" / "sagemaker-stack.json")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert json.loads(file.read_text())["schema_version"] == SCHEMA_VERSION
    assert StackConfig.load(file) == config


def test_unknown_schema_version_is_rejected(tmp_path: Path) -> None:
    file = config_from_outputs(make_outputs(), stack_name=STACK).save(tmp_path / "c.json")
    data = json.loads(file.read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    file.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"schema_version .* not supported.*sagemaker-stack export"):
        StackConfig.load(file)


# --- the `export` command -------------------------------------------------------------------------


def test_cli_export_from_file_writes_a_private_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_outputs_file(Path("cdk-outputs.json"), {STACK: make_outputs()})
    result = CliRunner().invoke(
        export, ["--outputs-file", "cdk-outputs.json", "--endpoint-url", "http://127.0.0.1:4566"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and "sagemaker-stack.json" in result.output
    written = Path("sagemaker-stack.json")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert StackConfig.load(written).endpoint_url == "http://127.0.0.1:4566"


def test_cli_export_records_the_emulator_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `eval "$(sagemaker-stack local env)"` the config names the emulator, as `up` would:
    register, image build and the runs read the endpoint from the config, not from the shell."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    write_outputs_file(Path("cdk-outputs.json"), {STACK: make_outputs()})
    result = CliRunner().invoke(export, ["--outputs-file", "cdk-outputs.json"])
    assert result.exit_code == 0, result.output
    assert StackConfig.load("sagemaker-stack.json").endpoint_url == "http://127.0.0.1:4566"


def test_cli_export_uses_the_stack_name_from_cdk_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("cdk.json").write_text(json.dumps({"app": "python app.py", "context": {"stack_name": "mine"}}))
    write_outputs_file(Path("o.json"), {"mine": make_outputs(), "theirs": make_outputs()})
    result = CliRunner().invoke(export, ["--outputs-file", "o.json", "--output", "out/c.json"])
    assert result.exit_code == 0, result.output
    assert StackConfig.load("out/c.json").stack_name == "mine"


def test_cli_export_errors_are_one_line_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(export, ["--outputs-file", "missing.json"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no outputs file at missing.json")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_cli_export_needs_a_region_for_cloudformation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    result = CliRunner().invoke(export, ["--stack-name", STACK])
    assert result.exit_code == 2
    assert "--region is needed" in result.output


def test_cli_export_from_cloudformation(moto_stack: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        export, ["--stack-name", STACK, "--region", REGION, "--output", str(tmp_path / "c.json")]
    )
    assert result.exit_code == 0, result.output
    assert StackConfig.load(tmp_path / "c.json").secret_arn == moto_stack
    assert SECRET_VALUE not in (tmp_path / "c.json").read_text()


def test_a_stack_config_json_naming_a_project_the_stack_lacks_is_refused() -> None:
    """moto skips resource types it lacks; the JSON output then names a project nobody made."""
    outputs = make_outputs()
    outputs[OutputName.STACK_CONFIG_JSON] = json.dumps(
        {**json.loads(outputs[OutputName.STACK_CONFIG_JSON]), "image_builder_project": "None"}
    )
    with pytest.raises(OutputsError, match="no ImageBuilderProject output"):
        config_from_outputs(outputs, stack_name=STACK)
