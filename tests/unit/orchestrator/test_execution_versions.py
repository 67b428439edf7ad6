"""Each run starts exactly the pipeline version it wrote, and concurrent first runs both start.

Two runs of one ZenML pipeline update one SageMaker pipeline; a start without
`PipelineVersionId` executes whatever definition is latest by then, possibly the other run's.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from sagemaker_stack.orchestrator import execution

ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
EXECUTION = f"{ARN}/execution/abc"
ROLE = "arn:aws:iam::123456789012:role/r"
REQUEST = execution.PipelineRequest(name="p", definition='{"Steps": []}', role_arn=ROLE)
#: What AWS answers a CreatePipeline of a name that exists (AWS's SageMaker SDK relies on it).
EXISTS = (
    "Pipeline names must be unique within an AWS account and region. Pipeline with name (p) already exists."
)


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def expect_start(stub: Stubber, version: int) -> None:
    stub.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": EXECUTION},
        {"PipelineName": "p", "PipelineVersionId": version},
    )


def test_an_update_starts_the_version_it_made_not_the_latest() -> None:
    client, stub = stubbed()
    stub.add_response("describe_pipeline", {"PipelineArn": ARN}, {"PipelineName": "p"})
    stub.add_response(
        "update_pipeline",
        {"PipelineArn": ARN, "PipelineVersionId": 7},
        {"PipelineName": "p", "PipelineDefinition": ANY, "RoleArn": ROLE},
    )
    expect_start(stub, 7)
    with stub:
        submitted = execution.submit(client, REQUEST)
    stub.assert_no_pending_responses()
    assert submitted == execution.Submission(ARN, EXECUTION, created=False)


def test_a_created_pipeline_starts_its_first_version() -> None:
    client, stub = stubbed()
    stub.add_client_error("describe_pipeline", service_error_code="ResourceNotFound", http_status_code=404)
    stub.add_response(
        "create_pipeline",
        {"PipelineArn": ARN},
        {"PipelineName": "p", "PipelineDefinition": ANY, "RoleArn": ROLE},
    )
    # Another run may have updated it already: the oldest version is still the one this run made.
    stub.add_response(
        "list_pipeline_versions",
        {"PipelineVersionSummaries": [{"PipelineArn": ARN, "PipelineVersionId": 1}], "NextToken": "1"},
        {"PipelineName": "p", "SortOrder": "Ascending", "MaxResults": 1},
    )
    expect_start(stub, 1)
    with stub:
        submitted = execution.submit(client, REQUEST)
    stub.assert_no_pending_responses()
    assert submitted.created


def test_a_first_run_that_loses_the_race_to_create_updates_instead() -> None:
    client, stub = stubbed()
    stub.add_client_error("describe_pipeline", service_error_code="ResourceNotFound", http_status_code=404)
    stub.add_client_error("create_pipeline", service_error_code="ValidationException", service_message=EXISTS)
    stub.add_response(
        "update_pipeline",
        {"PipelineArn": ARN, "PipelineVersionId": 2},
        {"PipelineName": "p", "PipelineDefinition": ANY, "RoleArn": ROLE},
    )
    expect_start(stub, 2)
    with stub:
        submitted = execution.submit(client, REQUEST)
    stub.assert_no_pending_responses()
    assert submitted == execution.Submission(ARN, EXECUTION, created=False)


def test_any_other_refusal_to_create_is_raised() -> None:
    client, stub = stubbed()
    stub.add_client_error("describe_pipeline", service_error_code="ResourceNotFound", http_status_code=404)
    stub.add_client_error(
        "create_pipeline", service_error_code="ValidationException", service_message="RoleArn is not valid"
    )
    with stub, pytest.raises(ClientError, match="RoleArn is not valid"):
        execution.submit(client, REQUEST)
