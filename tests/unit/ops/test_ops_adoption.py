"""What `up` adopts: the bucket and repository an earlier stack kept, never what the stack owns."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_stack.ops import adoption
from sagemaker_stack.ops.target import Target

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = f"team-artifacts-{ACCOUNT}-{REGION}"
REPOSITORY = "team-zenml"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Stubber]:
    clients = {
        service: boto3.client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        for service in ("sts", "cloudformation", "s3", "ecr")
    }
    monkeypatch.setattr(Target, "client", lambda self, service: clients[service])
    stubbers = {service: Stubber(client) for service, client in clients.items()}
    stubbers["sts"].add_response(
        "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/u", "UserId": "u"}
    )
    for stubber in stubbers.values():
        stubber.activate()
    return stubbers


def _stack_resources(stubs: dict[str, Stubber], *physical: tuple[str, str]) -> None:
    stubs["cloudformation"].add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": f"R{index}",
                    "PhysicalResourceId": name,
                    "ResourceType": kind,
                    "ResourceStatus": "CREATE_COMPLETE",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                }
                for index, (kind, name) in enumerate(physical)
            ]
        },
    )


def _find(**kwargs: Any) -> adoption.Adopted:
    return adoption.find(
        Target(region=REGION),
        stack_name="team",
        resource_prefix="team",
        kms=kwargs.get("kms"),
        context=kwargs.get("context", {}),
    )


def test_what_a_destroyed_stack_kept_is_adopted(stubs: dict[str, Stubber]) -> None:
    stubs["cloudformation"].add_client_error(
        "list_stack_resources", "ValidationError", "Stack with id team does not exist"
    )
    stubs["s3"].add_response("head_bucket", {})
    stubs["s3"].add_client_error(
        "get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError", "none"
    )
    stubs["ecr"].add_response("describe_repositories", {"repositories": [{"repositoryName": REPOSITORY}]})
    adopted = _find()
    assert adopted.context() == {"artifact_bucket": BUCKET, "image_repository": REPOSITORY}


def test_what_the_stack_owns_is_never_adopted(stubs: dict[str, Stubber]) -> None:
    _stack_resources(stubs, ("AWS::S3::Bucket", BUCKET), ("AWS::ECR::Repository", REPOSITORY))
    assert _find().context() == {}


def test_nothing_there_means_the_stack_makes_both(stubs: dict[str, Stubber]) -> None:
    _stack_resources(stubs)
    stubs["s3"].add_client_error("head_bucket", "404", "Not Found", http_status_code=404)
    stubs["ecr"].add_client_error("describe_repositories", "RepositoryNotFoundException", "none")
    assert _find().context() == {}


def test_a_retained_bucket_of_another_key_is_refused_naming_the_key(stubs: dict[str, Stubber]) -> None:
    _stack_resources(stubs)
    stubs["s3"].add_response("head_bucket", {})
    stubs["s3"].add_response(
        "get_bucket_encryption",
        {
            "ServerSideEncryptionConfiguration": {
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY}}
                ]
            }
        },
    )
    with pytest.raises(adoption.AdoptionError, match=f"deploy with -c kms={KEY}$"):
        _find(kms="create")


def test_a_name_the_user_set_is_not_looked_up(stubs: dict[str, Stubber]) -> None:
    _stack_resources(stubs)
    stubs["ecr"].add_client_error("describe_repositories", "RepositoryNotFoundException", "none")
    adopted = _find(context={"artifact_bucket": "mine"})
    assert adopted.bucket is None  # the app takes the user's own name from the context as it is
