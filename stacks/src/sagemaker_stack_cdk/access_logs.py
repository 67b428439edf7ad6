"""Where S3 server access logs of the artifact bucket go with `access_logs`.

`access_logs=true` makes a logs bucket; `access_logs=<bucket name>` uses one the user has, whose
bucket policy must let `logging.s3.amazonaws.com` write to it (docs/stack.md). The stack's logs bucket:

- is encrypted with SSE-S3 even when the stack has a KMS key: S3 delivers server access logs only
  to buckets whose default encryption is SSE-S3;
- is private, TLS-only and versioned (log objects are never overwritten, so versioning costs
  nothing and protects them from a delete), and its logs expire after `LOG_DAYS`;
- is always kept when the stack is destroyed, whatever `retain_data` says: access logs are the
  audit trail of the data, and S3 delivers them hours late, so the bucket could not be emptied
  reliably before its deletion anyway. It has no fixed name, so a new stack of the same name
  gets a new logs bucket instead of failing on the old one.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

#: How long access logs are kept (a year: what audits usually ask for).
LOG_DAYS = 365
#: Key prefix of the artifact bucket's logs in the logs bucket (a user's bucket may hold others).
LOG_PREFIX = "artifact-bucket/"


class AccessLogs(Construct):
    """The logs bucket: the stack's own (`owned`) or the user's."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: bool | s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.owned = access_logs is True
        if not isinstance(access_logs, bool):
            self.bucket: s3.IBucket = access_logs
            return
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(LOG_DAYS),
                    noncurrent_version_expiration=Duration.days(LOG_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
