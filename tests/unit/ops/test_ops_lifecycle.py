"""`down` must see every running execution, however many finished ones come first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops import lifecycle
from sagemaker_stack.ops.target import Target

ACCOUNT = "123456789012"
PIPELINE = "zenml-sagemaker-training"
PIPELINE_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/{PIPELINE}"


def _config() -> StackConfig:
    return StackConfig(
        stack_name="sagemaker-stack",
        region="us-east-1",
        account=ACCOUNT,
        resource_prefix="zenml-sagemaker",
        execution_role_arn=f"arn:aws:iam::{ACCOUNT}:role/execution",
        bucket_name="zenml-sagemaker-artifacts",
        artifact_path="s3://zenml-sagemaker-artifacts/zenml",
        registry_uri=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
        repository_name="zenml-sagemaker-zenml",
        secret_arn=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:zenml-sagemaker/zenml-server-AbCdEf",
    )


def _summary(index: int, status: str) -> dict[str, Any]:
    return {
        "PipelineExecutionArn": f"{PIPELINE_ARN}/execution/e{index:04d}",
        "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
        "PipelineExecutionStatus": status,
    }


def test_a_running_execution_on_the_second_page_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    sagemaker = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(Target, "client", lambda self, service: sagemaker)
    stubber = Stubber(sagemaker)
    stubber.add_response(
        "list_pipelines",
        {"PipelineSummaries": [{"PipelineName": PIPELINE, "PipelineArn": PIPELINE_ARN}]},
    )
    finished = [_summary(index, "Succeeded") for index in range(100)]
    stubber.add_response(
        "list_pipeline_executions", {"PipelineExecutionSummaries": finished, "NextToken": "page-2"}
    )
    running = _summary(100, "Executing")
    stubber.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": [running]},
        {"PipelineName": PIPELINE, "NextToken": "page-2"},
    )
    with stubber:
        found = lifecycle.running_executions(_config())
    assert found == [running["PipelineExecutionArn"]]


def test_up_shows_cdk_progress_without_empty_headings() -> None:
    """cdk prints `Outputs:` and `Stack ARN:` above values `up` does not show: no bare headings."""
    shown: list[str] = []
    show = lifecycle._indent(shown.append, only_progress=True)
    for line in [
        "sagemaker-stack: deploying... [1/1]",
        " ✅  sagemaker-stack",
        "✨  Deployment time: 12.3s",
        "Outputs:",
        "sagemaker-stack.BucketName = zenml-sagemaker-artifacts-123456789012-us-east-1",
        "Stack ARN:",
        "arn:aws:cloudformation:us-east-1:123456789012:stack/sagemaker-stack/abc",
        "sagemaker-stack | 3/20 | 12:00:01 | CREATE_COMPLETE | AWS::IAM::Role | ExecutionRole",
    ]:
        show(line)
    assert shown == [
        "     ✅  sagemaker-stack",
        "    sagemaker-stack | 3/20 | 12:00:01 | CREATE_COMPLETE | AWS::IAM::Role | ExecutionRole",
    ]


def test_down_deletes_only_the_pipelines_the_orchestrator_tagged() -> None:
    """Of the pipelines with the stack's prefix, those without the orchestrator's tag are someone else's."""
    from sagemaker_stack.ops import teardown

    sagemaker = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    ours = {"PipelineName": PIPELINE, "PipelineArn": PIPELINE_ARN}
    theirs = {"PipelineName": f"{PIPELINE}-hand-made", "PipelineArn": f"{PIPELINE_ARN}-hand-made"}
    stubber = Stubber(sagemaker)
    stubber.add_response("list_tags", {"Tags": [{"Key": "team", "Value": "ml"}], "NextToken": "2"})
    stubber.add_response(
        "list_tags",
        {"Tags": [{"Key": "zenml-pipeline", "Value": "training"}]},
        {"ResourceArn": PIPELINE_ARN, "NextToken": "2"},
    )
    stubber.add_response("list_tags", {"Tags": [{"Key": "team", "Value": "ml"}]})
    stubber.add_response("delete_pipeline", {"PipelineArn": PIPELINE_ARN})
    with stubber:
        names = teardown.orchestrator_pipelines(sagemaker, [ours, theirs])
        assert names == [PIPELINE]
        assert teardown.delete_pipelines(sagemaker, names) == [PIPELINE]
    stubber.assert_no_pending_responses()


def test_down_refuses_a_users_app_with_constructs_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`down` with one construct's exported config would `cdk destroy` the user's whole stack."""
    from moto import mock_aws

    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    config = _config().model_copy(update={"stack_name": "PlatformStack"})
    path = tmp_path / "team-a.json"
    config.save(path)
    outputs = {
        f"{team}StackConfigJson": {"Value": json.dumps({"resource_prefix": prefix})}
        for team, prefix in (("TeamA", "team-a"), ("TeamB", "team-b"))
    }
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": outputs,
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(StackName="PlatformStack", TemplateBody=json.dumps(template))
        with pytest.raises(lifecycle.LifecycleError) as refused:
            lifecycle.down(path, app_dir=tmp_path, force=True, zenml_stack_name=None, echo=lambda line: None)
        stacks = cloudformation.describe_stacks(StackName="PlatformStack")["Stacks"]
    message = str(refused.value)
    assert "TeamA (resource prefix team-a), TeamB (resource prefix team-b)" in message
    assert f"sagemaker-stack unregister --config {path}" in message and "cdk destroy" in message
    assert stacks[0]["StackStatus"] == "CREATE_COMPLETE" and path.exists()  # nothing was touched
