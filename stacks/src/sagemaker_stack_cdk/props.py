"""The typed props of `ZenmlSageMaker`: what a user's CDK app says, with CDK objects where CDK has them.

A bad value fails when the props are made (or, for what needs the stack, such as the key's region
and the subnets a selection finds, when the construct is added), with one `SettingsError` line
naming the prop and saying what is allowed: the same rules, and mostly the same words, as the
repository's app gives for its `cdk.json` settings (`rules.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from sagemaker_stack_cdk import rules
from sagemaker_stack_cdk.rules import DEFAULT_RESOURCE_PREFIX, ImageBuilder, ResourceNames, SettingsError


@dataclass(frozen=True, kw_only=True)
class ZenmlSageMakerProps(ResourceNames):
    """What one `ZenmlSageMaker` is made of; every field has a working default.

    Resources the construct makes are named from `resource_prefix`, so two constructs in one
    account and region (in one stack or not) need two prefixes. What you hand over (`vpc`, `key`,
    `artifact_bucket`, `image_repository`, `access_logs` as a bucket, `permissions_boundary`) the
    construct uses as it is: it never changes, empties or deletes it, and its roles' policies name
    exactly those resources.
    """

    #: Starts the name of every resource the construct makes (lowercase words joined by '-').
    resource_prefix: str = DEFAULT_RESOURCE_PREFIX
    #: Keep the bucket, repository (and a created key) when the stack is destroyed.
    retain_data: bool = True
    #: Tags for every resource of the construct.
    tags: Mapping[str, str] = field(default_factory=dict)
    #: A permissions boundary for every role of the construct.
    permissions_boundary: iam.IManagedPolicy | None = None
    #: "codebuild": a CodeBuild project builds step images; "none": you push them yourself.
    image_builder: ImageBuilder = "codebuild"
    #: Your VPC: the jobs run in its `vpc_subnets` (the construct adds only security groups).
    vpc: ec2.IVpc | None = None
    #: The subnets of `vpc` the jobs run in (1 to 16); without it, the VPC's private subnets.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: Make a VPC of the construct's own (private subnets in two zones, VPC endpoints, flow log).
    create_vpc: bool = False
    #: The jobs' subnets reach the internet through a NAT (made by the construct with
    #: `create_vpc`; yours otherwise): then the image builder runs in the VPC too.
    nat: bool = False
    #: Your KMS key (of the stack's region) for the construct's data, images, secret and logs.
    key: kms.IKey | None = None
    #: Make a customer managed key of the construct's own (with rotation).
    create_key: bool = False
    #: S3 server access logs of the artifact bucket: False, True (a logs bucket the construct
    #: makes and keeps) or your logs bucket.
    access_logs: bool | s3.IBucket = False
    #: Your artifact bucket, used instead of making one.
    artifact_bucket: s3.IBucket | None = None
    #: Your ECR repository, used instead of making one.
    image_repository: ecr.IRepository | None = None
    #: Prefix of the construct's CloudFormation output keys (letters and digits). None: the
    #: construct's id, except for the id "Default", whose outputs keep the plain names.
    output_prefix: str | None = None
    #: Acknowledge the construct's accepted cdk-nag findings (with their reasons). False shows
    #: them all, should you apply cdk-nag's checks to see them.
    acknowledge_findings: bool = True

    def __post_init__(self) -> None:
        rules.resource_prefix(self.resource_prefix)
        rules.tags(dict(self.tags))
        rules.image_builder(self.image_builder)
        for name in ("retain_data", "create_vpc", "nat", "create_key", "acknowledge_findings"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"invalid {name} {rules.show(getattr(self, name))}: use True or False")
        if self.vpc is not None and self.create_vpc:
            raise SettingsError("invalid vpc: give your VPC or set create_vpc=True, not both")
        if self.vpc_subnets is not None and self.vpc is None:
            raise SettingsError("invalid vpc_subnets: they select subnets of `vpc`, which is not set")
        if self.nat and not self.has_vpc:
            raise SettingsError(
                "invalid nat: nat=True needs a VPC: set create_vpc=True (the construct makes the NAT "
                "gateway) or vpc= (subnets that route through your NAT), or leave nat unset"
            )
        if self.key is not None and self.create_key:
            raise SettingsError("invalid key: give your key or set create_key=True, not both")
        if self.output_prefix is not None and not rules.OUTPUT_PREFIX.match(self.output_prefix):
            raise SettingsError(
                f"invalid output_prefix {rules.show(self.output_prefix)}: use letters and digits only, "
                "starting with a letter, at most 64 (it starts CloudFormation output keys), or '' "
                "for the plain output names"
            )

    @property
    def has_vpc(self) -> bool:
        return self.create_vpc or self.vpc is not None

    @property
    def builds_in_vpc(self) -> bool:
        """The image builder runs in the VPC only where it can reach PyPI and Docker Hub: via a NAT."""
        return self.builds_images and self.has_vpc and self.nat

    @property
    def encrypts(self) -> bool:
        """Whether the construct's resources are encrypted with a customer managed key."""
        return self.create_key or self.key is not None
