"""A platform team's own CDK app with two ZenML stacks in it: what `sagemaker-stack-cdk` is for.

One stack of the team's (`PlatformStack`, or the `stack_name` context) holds the team's network
and key and two `ZenmlSageMaker` constructs:

- TeamA runs its jobs in the team's VPC (private subnets) with everything encrypted with the
  team's key; its step images are built on the construct's CodeBuild project.
- TeamB adopts a bucket and a repository that already exist (names from the `team_b_bucket` and
  `team_b_repository` contexts): the template creates neither, its roles are scoped to them, and
  destroying the stack leaves both and their content in place. TeamB pushes its own images.

Deploy it with the cdk CLI (`cdk deploy`), then pick one construct's outputs with
`sagemaker-stack export --stack-name PlatformStack --construct TeamA` (docs/stack.md).
"""

from __future__ import annotations

from aws_cdk import App, Aws, CfnOutput, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from sagemaker_stack_cdk import ZenmlSageMaker, ZenmlSageMakerProps, apply_checks


def team_key(stack: Stack) -> kms.Key:
    """The team's key; its policy lets CloudWatch Logs use it for this account's log groups
    (the construct never changes a key it is given: docs/security.md)."""
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    log_groups = f"arn:aws:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=[
                f"kms:{action}*"
                for action in ("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "Describe")
            ],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )
    )
    return key


def build(app: App) -> Stack:
    """The team's stack: its VPC and key, and the two constructs."""
    stack = Stack(app, app.node.try_get_context("stack_name") or "PlatformStack")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
        flow_logs={"all": ec2.FlowLogOptions()},
    )
    key = team_key(stack)
    team_a = ZenmlSageMaker(
        stack,
        "TeamA",
        ZenmlSageMakerProps(
            resource_prefix="team-a",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="jobs"),
            key=key,
        ),
    )
    bucket_name = app.node.try_get_context("team_b_bucket") or "team-b-artifacts"
    repository_name = app.node.try_get_context("team_b_repository") or "team-b/images"
    ZenmlSageMaker(
        stack,
        "TeamB",
        ZenmlSageMakerProps(
            resource_prefix="team-b",
            image_builder="none",
            artifact_bucket=s3.Bucket.from_bucket_name(stack, "TeamBBucket", bucket_name),
            image_repository=ecr.Repository.from_repository_name(stack, "TeamBImages", repository_name),
        ),
    )
    # The construct's attributes are typed CDK objects, for the team's own wiring.
    CfnOutput(stack, "TeamAExecutionRoleName", value=team_a.execution_role.role_name)
    return stack


if __name__ == "__main__":
    app = App()
    build(app)
    apply_checks(app)  # cdk-nag's AwsSolutions pack; each construct's accepted findings come with it
    app.synth()
