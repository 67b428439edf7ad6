"""The bucket and repository a stack adopts instead of creating them, and those it owns.

The bucket (`<prefix>-artifacts-<account>-<region>`) and the repository (`<prefix>-zenml`) have
fixed names, and with `retain_data=true` (the default) they outlive `down`. A new stack of the
same prefix could then never create them again (CloudFormation: BucketAlreadyExists,
RepositoryAlreadyExistsException; on AWS as in the emulator). So before `cdk deploy`, `up` looks
them up here: one that exists and is no resource of the stack being deployed is handed to the CDK
app as `artifact_bucket` / `image_repository`, and the stack uses it (its roles scoped to it)
instead of making one. That is the same prop a user sets to adopt a bucket or repository of their
own, and the same rule holds for both: what the stack does not own it never empties or deletes
(`down` asks `owned` which ones it owns).

Why not CloudFormation's resource import: it works through change sets only (the emulator
deploys directly: moto never fills in the outputs of a change set), needs the template to match
the resource as it stands, and makes the stack own the resource again, so an adopted bucket of a
user's could be deleted with the stack. A lookup is one code path for AWS and the emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import botocore.exceptions

from sagemaker_stack.config import artifact_bucket_name, image_repository_name
from sagemaker_stack.ops.target import Target

#: The context keys of the CDK app (sagemaker_stack_cdk/settings.py) that name what the stack adopts.
BUCKET_SETTING = "artifact_bucket"
REPOSITORY_SETTING = "image_repository"
_OWNED_TYPES = frozenset({"AWS::S3::Bucket", "AWS::ECR::Repository"})


class AdoptionError(RuntimeError):
    """The stack can neither create nor adopt its bucket or repository; the message says what to do."""


@dataclass(frozen=True)
class Adopted:
    """What `up` hands the CDK app: the names of the existing resources it uses (None: it makes one)."""

    bucket: str | None = None
    repository: str | None = None

    def context(self) -> dict[str, str]:
        found = {BUCKET_SETTING: self.bucket, REPOSITORY_SETTING: self.repository}
        return {key: value for key, value in found.items() if value}


def owned(target: Target, stack_name: str) -> set[str]:
    """Names of the buckets and repositories that are resources of the stack (none if it is gone)."""
    cloudformation = target.client("cloudformation")
    try:
        return {
            str(resource.get("PhysicalResourceId"))
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
            for resource in page.get("StackResourceSummaries", [])
            if resource.get("ResourceType") in _OWNED_TYPES
            and not str(resource.get("ResourceStatus", "")).startswith("DELETE_COMPLETE")
        }
    except botocore.exceptions.ClientError as error:
        if "does not exist" in str(error.response.get("Error", {}).get("Message", "")):
            return set()
        raise


def find(
    target: Target, *, stack_name: str, resource_prefix: str, kms: str | None, context: Mapping[str, str]
) -> Adopted:
    """The bucket and repository the stack must adopt: they exist and the stack does not own them.

    A name the user set in `context` is theirs to choose and is not looked up. A bucket that exists
    but belongs to another account, or that is encrypted with a key the stack would not use, is an
    AdoptionError with what to do.
    """
    account = str(target.client("sts").get_caller_identity()["Account"])
    bucket = artifact_bucket_name(resource_prefix, account, target.region)
    repository = image_repository_name(resource_prefix)
    mine = owned(target, stack_name)
    adopted_bucket = None
    if BUCKET_SETTING not in context and bucket not in mine and _bucket_exists(target, bucket):
        _check_key(target, bucket, kms)
        adopted_bucket = bucket
    adopted_repository = None
    if (
        REPOSITORY_SETTING not in context
        and repository not in mine
        and _repository_exists(target, repository)
    ):
        adopted_repository = repository
    return Adopted(bucket=adopted_bucket, repository=adopted_repository)


def _bucket_exists(target: Target, bucket: str) -> bool:
    try:
        target.client("s3").head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied", "Forbidden"):
            raise AdoptionError(
                f"the bucket name {bucket} is taken by another AWS account, so the stack can neither "
                "create nor use it: deploy with another resource_prefix (-c resource_prefix=...)"
            ) from None
        raise
    return True


def _repository_exists(target: Target, repository: str) -> bool:
    try:
        target.client("ecr").describe_repositories(repositoryNames=[repository])
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            return False
        raise
    return True


def _check_key(target: Target, bucket: str, kms: str | None) -> None:
    """A bucket encrypted with a KMS key can be adopted only by a stack whose roles use that key."""
    try:
        rules = target.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
    except botocore.exceptions.ClientError:
        return  # no default encryption configured: SSE-S3, which needs no key
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    key = default.get("KMSMasterKeyID")
    if default.get("SSEAlgorithm") != "aws:kms" or not key or kms == key:
        return
    raise AdoptionError(
        f"the bucket {bucket}, kept by an earlier stack, is encrypted with the KMS key {key}, which "
        f"this stack would not use (kms={kms or 'none'}), so its steps could not read the artifacts "
        f"in it: deploy with -c kms={key}"
    )
