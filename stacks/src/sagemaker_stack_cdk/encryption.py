"""The customer managed KMS key of the construct (`create_key`; the app's `kms=create`), or the
user's own (`key`; the app's `kms=<key ARN>`).

One key encrypts the artifact bucket (SSE-KMS with a bucket key), the credentials secret, the
image repository, the image builder's project and log group, and the jobs' volumes and outputs.
Each role's policy names the key and the actions its work needs (listed here, granted by the role
constructs); the key policy itself keeps AWS's default, which leaves key use to IAM policies, plus
what CloudWatch Logs needs to encrypt the stack's log groups (a service, not a role, so it can
only be allowed in the key policy).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagemaker_stack_cdk.props import ZenmlSageMakerProps

#: What a SageMaker job's role needs (SageMaker's "CreateProcessingJob/CreateTrainingJob API:
#: execution role permissions"): Decrypt to read SSE-KMS objects and the secret, GenerateDataKey
#: to write SSE-KMS objects (ZenML's artifacts), Encrypt for the job's output key, DescribeKey to
#: check the key a request names.
JOB_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
#: The volume key: SageMaker attaches the job's encrypted volume through a grant the role creates,
#: and only for an AWS resource (`kms:GrantIsForAWSResource`).
VOLUME_GRANT_ACTION = "kms:CreateGrant"
#: What the image builder's role needs: Decrypt to read SSE-KMS build contexts, and what
#: CodeBuild's "customer managed key for CodeBuild" page lists for a project's key, without
#: `kms:ReEncrypt*` (nothing is re-encrypted) and with GenerateDataKey instead of `GenerateDataKey*`.
BUILDER_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
#: What CloudWatch Logs needs to encrypt a log group (CloudWatch Logs' "Encrypt log data in
#: CloudWatch Logs using AWS KMS" key policy), limited to the named log groups.
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")


class Encryption(Construct):
    """The key and the statements that grant it; `key_arn` is what the stack exports."""

    def __init__(self, scope: Construct, construct_id: str, *, props: ZenmlSageMakerProps) -> None:
        super().__init__(scope, construct_id)
        self.owned = props.key is None
        if props.key is None:
            self.key: kms.IKey = kms.Key(
                self,
                "Key",
                alias=props.key_alias,
                description="Encrypts the ZenML artifacts, credentials, images, logs and job volumes "
                "of this sagemaker-stack",
                enable_key_rotation=True,
                # AWS's default key policy: the account, and through it IAM policies, decide use.
                policy=iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="EnableIamPolicies",
                            principals=[iam.AccountRootPrincipal()],
                            actions=["kms:*"],
                            resources=["*"],
                        )
                    ]
                ),
                # With retained data the key stays: the bucket and repository it encrypts do too.
                # Otherwise CloudFormation schedules its deletion (30 days' waiting period).
                removal_policy=RemovalPolicy.RETAIN if props.retain_data else RemovalPolicy.DESTROY,
            )
        else:
            self.key = props.key
        self.key_arn = self.key.key_arn

    def job_statements(self) -> list[iam.PolicyStatement]:
        """The execution role's: use the key for data, and grant SageMaker the job's volume."""
        return [
            iam.PolicyStatement(sid="StackKey", actions=list(JOB_KEY_ACTIONS), resources=[self.key_arn]),
            iam.PolicyStatement(
                sid="StackKeyVolumeGrants",
                actions=[VOLUME_GRANT_ACTION],
                resources=[self.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]

    def builder_statement(self) -> iam.PolicyStatement:
        """The image builder role's."""
        return iam.PolicyStatement(
            sid="StackKey", actions=list(BUILDER_KEY_ACTIONS), resources=[self.key_arn]
        )

    def allow_log_groups(self, *log_group_names: str) -> None:
        """Let CloudWatch Logs encrypt the stack's log groups (call once, with all of them).

        A key the stack does not own keeps its policy: its owner allows CloudWatch Logs (docs/security.md).
        """
        if not self.owned:
            return
        stack = Stack.of(self)
        arns = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in log_group_names
        ]
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfTheStack",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arns}},
            )
        )
