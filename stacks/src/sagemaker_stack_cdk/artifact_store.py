"""The S3 bucket that holds ZenML's artifacts, step logs and code archives."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_stack_cdk.access_logs import LOG_PREFIX

#: Old versions of overwritten or deleted objects are kept this long, then expire: long enough to
#: undo a mistake, short enough that versioning does not double the bill for ever.
NONCURRENT_VERSION_DAYS = 30


class ArtifactStore(Construct):
    """Encrypted, private, TLS-only, versioned bucket with an explicit name.

    Encryption is S3-managed (SSE-S3) by default: every object is encrypted at rest with no key to
    manage, pay for or lose. With the stack's `kms` key it is SSE-KMS with an S3 bucket key (one
    KMS request per bucket key instead of one per object: the KMS bill of ZenML's many small
    artifacts stays small), and every reader needs the key too (the roles' policies grant it;
    ZenML clients need `kms:Decrypt` and `kms:GenerateDataKey` on it). With `logs_bucket` its
    server access logs go there, under `access_logs.LOG_PREFIX`.

    Adoption: given an existing `bucket` (a user's own, or the one an earlier stack of the same
    prefix retained, which `sagemaker-stack up` finds and hands over as `artifact_bucket`), the
    construct makes no bucket and uses that one as it is: it sets none of its properties (their
    encryption, versioning, lifecycle, policy and logging stay what their owner made them) and,
    not owning it, never deletes or empties it (`owned` is False).

    Removal: with `retain_data` the bucket survives `cdk destroy`, and so does its TLS-only
    policy (a retained bucket must not become reachable over plain HTTP; a stack that adopts it
    later makes no policy of its own for it). Without it the bucket is
    deleted with the stack, but CloudFormation deletes only empty buckets, and CDK's
    `auto_delete_objects` would need a Lambda-backed custom resource that the local emulator
    cannot run. So `sagemaker-stack down` empties the bucket (all versions) before it runs
    `cdk destroy`; anyone calling `cdk destroy` directly must empty it first.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        retain_data: bool,
        key: kms.IKey | None = None,
        logs_bucket: s3.IBucket | None = None,
        bucket: s3.IBucket | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.owned = bucket is None
        if bucket is not None:
            self.bucket: s3.IBucket = bucket
            return
        made = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=True if key else None,
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix=LOG_PREFIX if logs_bucket else None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    expired_object_delete_marker=True,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
            # No auto_delete_objects: see the class docstring.
        )
        if retain_data and made.policy is not None:
            made.policy.apply_removal_policy(RemovalPolicy.RETAIN)
        self.bucket = made
