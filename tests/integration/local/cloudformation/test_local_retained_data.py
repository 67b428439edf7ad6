"""A bucket a deleted stack retained keeps every object and version, and a stack that cannot be
created ends rolled back with the reason, as on AWS (what `down` then `up` goes through).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sagemaker_stack.local import Emulator

BUCKET = "retained-artifacts-bucket"
REPOSITORY = "retained-images"


def _template(*, with_repository: bool = False) -> str:
    resources: dict[str, Any] = {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": BUCKET, "VersioningConfiguration": {"Status": "Enabled"}},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "retained-test-role",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
            },
        },
    }
    if with_repository:
        resources["Repository"] = {
            "Type": "AWS::ECR::Repository",
            "Properties": {"RepositoryName": REPOSITORY},
            "DeletionPolicy": "Retain",
        }
    return json.dumps(
        {
            "Resources": resources,
            "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}},
        }
    )


def _all_versions(s3: Any) -> dict[tuple[str, str], bytes]:
    found = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])["Body"]
            found[(version["Key"], version["VersionId"])] = body.read()
    return found


def test_a_retained_bucket_keeps_every_version_across_delete_restart_and_a_new_stack(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Emulator(state_dir=state) as emulator:
        cloudformation, s3 = emulator.client("cloudformation"), emulator.client("s3")
        cloudformation.create_stack(StackName="first", TemplateBody=_template())
        for index in range(300):
            s3.put_object(Bucket=BUCKET, Key=f"artifacts/{index}", Body=f"v1-{index}".encode())
            if index % 3 == 0:
                s3.put_object(Bucket=BUCKET, Key=f"artifacts/{index}", Body=f"v2-{index}".encode())
        kept = _all_versions(s3)
        assert len(kept) == 400  # versioned as the template says: 100 overwritten keys keep both
        cloudformation.delete_stack(StackName="first")
        assert _all_versions(s3) == kept

    with Emulator(state_dir=state) as emulator:
        cloudformation, s3 = emulator.client("cloudformation"), emulator.client("s3")
        assert _all_versions(s3) == kept
        # A new stack that would create the retained bucket again fails as on AWS, not by
        # replacing it with an empty one, and rolls back with the reason.
        cloudformation.create_stack(StackName="second", TemplateBody=_template())
        stack = cloudformation.describe_stacks(StackName="second")["Stacks"][0]
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = cloudformation.describe_stack_events(StackName="second")["StackEvents"]
        assert any("BucketAlreadyExists" in e.get("ResourceStatusReason", "") for e in events)
        assert _all_versions(s3) == kept


def test_a_stack_that_cannot_be_created_rolls_back_with_the_reason_and_can_be_deleted(
    tmp_path: Path,
) -> None:
    with Emulator(state_dir=tmp_path / "state") as emulator:
        cloudformation, ecr, iam = (
            emulator.client("cloudformation"),
            emulator.client("ecr"),
            emulator.client("iam"),
        )
        ecr.create_repository(repositoryName=REPOSITORY)  # kept by an earlier stack
        cloudformation.create_stack(StackName="clash", TemplateBody=_template(with_repository=True))

        stack = cloudformation.describe_stacks(StackName="clash")["Stacks"][0]
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        assert not stack.get("Outputs")
        events = cloudformation.describe_stack_events(StackName="clash")["StackEvents"]
        failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
        assert failed and failed[0]["LogicalResourceId"] == "Repository"
        assert "RepositoryAlreadyExists" in failed[0]["ResourceStatusReason"]
        assert cloudformation.describe_stack_resources(StackName="clash")["StackResources"] == []
        # What the stack made before the failure is gone again (the role), the repository stays.
        assert "retained-test-role" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
        assert ecr.describe_repositories(repositoryNames=[REPOSITORY])["repositories"]

        cloudformation.delete_stack(StackName="clash")
        live = [
            s["StackName"]
            for s in cloudformation.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        ]
        assert "clash" not in live
