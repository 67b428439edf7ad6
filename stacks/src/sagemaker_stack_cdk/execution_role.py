"""The IAM role SageMaker assumes for every pipeline step."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from sagemaker_stack_cdk.encryption import Encryption
from sagemaker_stack_cdk.image_registry import LOGIN_ACTION, PULL_ACTIONS, PUSH_ACTIONS

SAGEMAKER_MANAGED_POLICY = "AmazonSageMakerFullAccess"

#: Listed one by one (no `s3:*`, no `grant_read_write`, whose `s3:GetObject*`-style wildcards would
#: need their own suppressions) so the template says exactly what a step can do.
BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
#: On the repository when the stack has no image builder (`image_builder=none`): images come from
#: whatever the user runs with this role, so it may also look them up and push them. With the
#: stack's CodeBuild project pushing every image, it keeps `PULL_ACTIONS` only: a step just runs in
#: an image, which SageMaker pulls with this role.
PULL_AND_PUSH_ACTIONS = (*PULL_ACTIONS, "ecr:DescribeImages", *PUSH_ACTIONS)
SECRET_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


class ExecutionRole(Construct):
    """Trusted by SageMaker only: AmazonSageMakerFullAccess plus access to this stack's own data.

    The managed policy is what SageMaker processing and training jobs need to run at all (logs,
    networking, job APIs). The scoped policy adds the three things the managed policy does not
    grant on our resources: the artifact bucket, the image repository and the credentials secret
    (read only: steps fetch the ZenML API key from it at start-up). With `images_pushed_by_builder`
    the stack's image builder is the one that pushes, so this role may only pull. With the stack's
    key (`encryption`) it may use that key as a job needs it (`encryption.JOB_KEY_ACTIONS`) and
    grant it to the job's volume; running in the VPC needs nothing more (the managed policy has
    the network interface permissions SageMaker uses).

    The trust policy names what SageMaker assumes the role for, as SageMaker's "cross-service
    confused deputy prevention" page documents each (`aws:SourceArn`): executions of this stack's
    pipelines (`pipeline/<prefix>-*`), and the processing and training jobs of this account and
    region, which is what the steps are (and what ZenML's dynamic pipelines start directly).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        bucket: s3.IBucket,
        repository: ecr.IRepository,
        secret: secretsmanager.ISecret,
        images_pushed_by_builder: bool,
        pipeline_name_prefix: str,
        encryption: Encryption | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        sources = [
            stack.format_arn(
                service="sagemaker", resource="pipeline", resource_name=f"{pipeline_name_prefix}*"
            ),
            stack.format_arn(service="sagemaker", resource="processing-job", resource_name="*"),
            stack.format_arn(service="sagemaker", resource="training-job", resource_name="*"),
        ]
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"ArnLike": {"aws:SourceArn": sources}}
            ),
            description="Assumed by SageMaker for ZenML pipeline steps",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(SAGEMAKER_MANAGED_POLICY)],
        )
        self.policy = iam.Policy(
            self,
            "StackResourcesPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="ArtifactBucket", actions=list(BUCKET_ACTIONS), resources=[bucket.bucket_arn]
                ),
                iam.PolicyStatement(
                    sid="ArtifactObjects",
                    actions=list(OBJECT_ACTIONS),
                    resources=[bucket.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    sid="ImageRepository",
                    actions=list(PULL_ACTIONS if images_pushed_by_builder else PULL_AND_PUSH_ACTIONS),
                    resources=[repository.repository_arn],
                ),
                # AWS grants a registry login token only on "*" (it is not a repository action).
                iam.PolicyStatement(sid="RegistryLogin", actions=[LOGIN_ACTION], resources=["*"]),
                iam.PolicyStatement(
                    sid="ZenmlCredentials", actions=list(SECRET_ACTIONS), resources=[secret.secret_arn]
                ),
                *(encryption.job_statements() if encryption else ()),
            ],
        )
        self.policy.attach_to_role(self.role)
