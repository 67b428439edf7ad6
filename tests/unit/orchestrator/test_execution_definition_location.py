"""A definition over CreatePipeline's 1 MB goes through S3; pipeline_tags reach an existing pipeline."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from sagemaker_stack.orchestrator import execution

REGION = "us-east-1"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
ROLE = "arn:aws:iam::123456789012:role/r"


def clients() -> tuple[Any, Stubber, Any, Stubber]:
    keys = {"region_name": REGION, "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sagemaker, s3 = boto3.client("sagemaker", **keys), boto3.client("s3", **keys)
    return sagemaker, Stubber(sagemaker), s3, Stubber(s3)


def test_a_small_definition_is_sent_inline_and_s3_is_never_touched() -> None:
    sagemaker, stub, _, _ = clients()
    stub.add_client_error("describe_pipeline", service_error_code="ResourceNotFound", http_status_code=404)
    stub.add_response(
        "create_pipeline",
        {"PipelineArn": ARN},
        {"PipelineName": "p", "PipelineDefinition": "{}", "RoleArn": ROLE},
    )
    stub.add_response(
        "list_pipeline_versions",
        {"PipelineVersionSummaries": [{"PipelineArn": ARN, "PipelineVersionId": 1}]},
        {"PipelineName": "p", "SortOrder": "Ascending", "MaxResults": 1},
    )

    def no_s3() -> Any:
        raise AssertionError("S3 must not be used for a definition that fits")

    with stub:
        assert execution.upsert_pipeline(
            sagemaker,
            execution.PipelineRequest(
                name="p", definition="{}", role_arn=ROLE, store=execution.DefinitionStore("b", no_s3)
            ),
        ) == execution.Upserted(ARN, True, 1)
    stub.assert_no_pending_responses()


def test_a_definition_over_the_limit_is_uploaded_and_passed_by_location() -> None:
    definition = '{"Steps": "' + "x" * execution.definition_limit() + '"}'
    sagemaker, stub, s3, s3_stub = clients()
    key = ANY
    s3_stub.add_response(
        "put_object",
        {"VersionId": "v1"},
        {
            "Bucket": "stack-bucket",
            "Key": key,
            "Body": definition.encode(),
            "ContentType": "application/json",
        },
    )
    stub.add_response("describe_pipeline", {"PipelineArn": ARN}, {"PipelineName": "p"})
    stub.add_response(
        "update_pipeline",
        {"PipelineArn": ARN, "PipelineVersionId": 7},
        {
            "PipelineName": "p",
            "RoleArn": ROLE,
            "PipelineDefinitionS3Location": {"Bucket": "stack-bucket", "ObjectKey": ANY, "VersionId": "v1"},
        },
    )
    stub.add_response("add_tags", {}, {"ResourceArn": ARN, "Tags": [{"Key": "team", "Value": "ml"}]})
    with stub, s3_stub:
        upserted = execution.upsert_pipeline(
            sagemaker,
            execution.PipelineRequest(
                name="p",
                definition=definition,
                role_arn=ROLE,
                tags={"zenml-pipeline": "p", "team": "ml"},
                retag={"team": "ml"},
                store=execution.DefinitionStore("stack-bucket", lambda: s3),
            ),
        )
    assert upserted == execution.Upserted(ARN, False, 7)
    stub.assert_no_pending_responses()
    s3_stub.assert_no_pending_responses()


def test_the_object_key_is_the_definitions_digest_under_the_pipeline() -> None:
    uploads: list[dict[str, Any]] = []

    class S3:
        def put_object(self, **request: Any) -> dict[str, Any]:
            uploads.append(request)
            return {}

    definition = "y" * (execution.definition_limit() + 1)
    store = execution.DefinitionStore("b", S3)
    first = execution.definition_members("p", definition, store)
    again = execution.definition_members("p", definition, store)
    other = execution.definition_members("p", definition + "z", store)
    location = first["PipelineDefinitionS3Location"]
    assert first == again and location != other["PipelineDefinitionS3Location"]
    assert (
        location["ObjectKey"].startswith("sagemaker-pipelines/p/definitions/") and "VersionId" not in location
    )
    assert uploads[0]["Body"] == definition.encode()
