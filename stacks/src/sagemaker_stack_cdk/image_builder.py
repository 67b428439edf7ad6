"""The AWS CodeBuild project that builds step images, with its service role and log group."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_stack import config
from sagemaker_stack_cdk.encryption import Encryption
from sagemaker_stack_cdk.image_registry import LOGIN_ACTION, PULL_ACTIONS, PUSH_ACTIONS
from sagemaker_stack_cdk.network import Network

#: What CodeBuild needs to fetch an S3 source, from its service-role documentation: the bucket's
#: identity, and the source objects (any version: the bucket is versioned).
SOURCE_BUCKET_ACTIONS = ("s3:GetBucketAcl", "s3:GetBucketLocation")
SOURCE_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
#: A folder source (the project's default, the build-context prefix) is fetched by listing it.
SOURCE_LIST_ACTION = "s3:ListBucket"
#: What CodeBuild needs to write a build's log into a group that exists (the stack makes it).
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")

#: What CodeBuild does with the role to put a build into the VPC (CodeBuild's "Use CodeBuild with
#: Amazon VPC" service role policy): network interfaces it makes and describes, on "*" because
#: EC2 scopes these to no resource; `CreateNetworkInterfacePermission` is limited below.
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
)
VPC_PERMISSION_ACTION = "ec2:CreateNetworkInterfacePermission"

#: A build of the CUDA base image is the longest one; CodeBuild stops a build after this.
BUILD_TIMEOUT = Duration.minutes(60)
#: Build logs are for finding out why a build failed, soon after it ran.
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class ImageBuilder(Construct):
    """A CodeBuild project that may read build contexts and push to this stack's repository only.

    Every build is started with `start_build` overriding source, buildspec, image, compute type
    and environment variables (ZenML's `aws` image builder, and `sagemaker-stack image build` for
    the base image, both upload a build context under `build_context_prefix()`), so the project's
    own settings are defaults that work: that prefix as its S3 source, a standard Linux image in
    privileged mode (the Docker daemon a `docker build` talks to runs inside the build container
    only then), a small instance, no artifacts, logs to a group this stack creates (and deletes
    with itself).

    CDK's `codebuild.Project` adds statements of its own (report groups, log groups by name
    pattern, `s3:GetObject*`/`s3:List*`-style wildcards for the source) to a role it may change.
    It gets the role `without_policy_updates()` instead, so the only permissions are the policy
    written here.

    With the stack's key (`encryption`) the project and its log group are encrypted with it. With
    a `network` whose subnets reach the internet (`Settings.builds_in_vpc`) the builds run in
    those subnets with the network's build security group: a build must reach PyPI and the
    public image registries, which private subnets without a NAT cannot, so the project stays
    outside the VPC then (it only talks to AWS APIs with this role, and to public sources).

    The trust policy is limited to this project (`aws:SourceAccount` and `aws:SourceArn`, as
    CodeBuild's service role documentation writes it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        role_name: str,
        bucket: s3.IBucket,
        repository: ecr.IRepository,
        encryption: Encryption | None = None,
        network: Network | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        prefix = config.build_context_prefix()
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=config.codebuild_log_group(project_name),
            retention=LOG_RETENTION,
            encryption_key=encryption.key if encryption else None,
            removal_policy=RemovalPolicy.DESTROY,
        )
        project_arn = stack.format_arn(service="codebuild", resource="project", resource_name=project_name)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal(
                "codebuild.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": project_arn},
                },
            ),
            description="Assumed by CodeBuild to build and push this stack's step images",
        )
        build_network = network if network is not None and network.build_security_group else None
        self.in_vpc = build_network is not None
        self.policy = iam.Policy(
            self,
            "BuildPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="BuildContextBucket",
                    actions=list(SOURCE_BUCKET_ACTIONS),
                    resources=[bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="ListBuildContexts",
                    actions=[SOURCE_LIST_ACTION],
                    resources=[bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": f"{prefix}*"}},
                ),
                iam.PolicyStatement(
                    sid="ReadBuildContexts",
                    actions=list(SOURCE_OBJECT_ACTIONS),
                    resources=[bucket.arn_for_objects(f"{prefix}*")],
                ),
                iam.PolicyStatement(
                    sid="ImageRepository",
                    actions=[*PULL_ACTIONS, *PUSH_ACTIONS],
                    resources=[repository.repository_arn],
                ),
                # AWS grants a registry login token only on "*" (it is not a repository action).
                iam.PolicyStatement(sid="RegistryLogin", actions=[LOGIN_ACTION], resources=["*"]),
                iam.PolicyStatement(
                    sid="BuildLogs", actions=list(LOG_ACTIONS), resources=[self.log_group.log_group_arn]
                ),
                *([encryption.builder_statement()] if encryption else ()),
                *(_vpc_statements(stack, build_network) if build_network else ()),
            ],
        )
        self.policy.attach_to_role(self.role)
        self.project = codebuild.Project(
            self,
            "Project",
            project_name=project_name,
            description="Builds ZenML step images and the stack's base image (sagemaker-stack)",
            role=self.role.without_policy_updates(),
            source=codebuild.Source.s3(bucket=bucket, path=prefix),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.from_code_build_image_id(config.CODEBUILD_IMAGE),
                compute_type=codebuild.ComputeType.SMALL,
                privileged=True,
            ),
            timeout=BUILD_TIMEOUT,
            encryption_key=encryption.key if encryption else None,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group)
            ),
        )
        if build_network is not None:
            # The project's VpcConfig as CloudFormation takes it: CDK's `vpc` option needs an IVpc
            # (an existing VPC is known by id only) and would write its own grants to the role.
            assert build_network.build_security_group is not None
            cfn_project = self.project.node.default_child
            assert isinstance(cfn_project, codebuild.CfnProject)
            cfn_project.vpc_config = codebuild.CfnProject.VpcConfigProperty(
                vpc_id=build_network.vpc_id,
                subnets=build_network.subnet_ids,
                security_group_ids=[build_network.build_security_group.attr_group_id],
            )
        # CodeBuild may start a build as soon as the project exists: the role's policy first.
        self.project.node.add_dependency(self.policy)


def _vpc_statements(stack: Stack, network: Network) -> list[iam.PolicyStatement]:
    """What CodeBuild needs to attach a build to the VPC's subnets, and no other subnet."""
    subnets = [
        stack.format_arn(service="ec2", resource="subnet", resource_name=subnet)
        for subnet in network.subnet_ids
    ]
    return [
        iam.PolicyStatement(sid="BuildNetworkInterfaces", actions=list(VPC_ACTIONS), resources=["*"]),
        iam.PolicyStatement(
            sid="BuildNetworkInterfacePermission",
            actions=[VPC_PERMISSION_ACTION],
            resources=[stack.format_arn(service="ec2", resource="network-interface", resource_name="*")],
            conditions={
                "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com", "ec2:Subnet": subnets}
            },
        ),
    ]
