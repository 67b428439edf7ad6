"""Typed, validated settings of the stack, read from the CDK context.

The context is what `cdk.json` ("context") and `-c key=value` give the app. Values from `-c` always
arrive as strings while `cdk.json` keeps JSON types, so every parser here accepts both.

A bad value must stop synthesis *before* any construct exists, with one line that names the key
and says what is allowed: a typo such as `-c retain_date=false` would otherwise be ignored silently
and the user's data deleted (or kept) against their intent. That is why unknown keys are errors
too, except the ones the CDK itself puts into the context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_stack import config
from sagemaker_stack_cdk import rules
from sagemaker_stack_cdk.props import ZenmlSageMakerProps
from sagemaker_stack_cdk.rules import (
    DEFAULT_RESOURCE_PREFIX,
    IMAGE_BUILDERS,
    MAX_SUBNETS,
    RESOURCE_PREFIX_MAX,
    ImageBuilder,
    ResourceNames,
    SettingsError,
    show,
)

__all__ = ["RESOURCE_PREFIX_MAX", "SETTING_KEYS", "ExistingVpc", "Settings", "SettingsError", "is_cdk_key"]

#: Our context keys, in the order docs/stack.md's settings table lists them.
SETTING_KEYS: Final = (
    "stack_name",
    "resource_prefix",
    "retain_data",
    "tags",
    "permissions_boundary_arn",
    "image_builder",
    "vpc",
    "nat",
    "kms",
    "access_logs",
    "artifact_bucket",
    "image_repository",
)

#: `vpc` and `kms` without a resource of their own: `none` (the default) or `create`.
NONE: Final = "none"
CREATE: Final = "create"

#: Context keys the CDK itself uses that neither start with "@" nor contain ":".
CDK_OWN_KEYS: Final = frozenset({"acknowledged-issue-numbers", "cli-telemetry", "cdk-version"})

DEFAULT_STACK_NAME: Final = config.DEFAULT_STACK_NAME

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_BOUNDARY_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/[\w+=,.@/-]{1,512}$")
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9]$")
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})


@dataclass(frozen=True)
class ExistingVpc:
    """`vpc=<vpc id>:<subnet id>,...`: a VPC the stack does not own, and the subnets jobs run in."""

    vpc_id: str
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class Settings(ResourceNames):
    """What the stack is built from; construct with `from_context` to get validation."""

    stack_name: str = DEFAULT_STACK_NAME
    resource_prefix: str = DEFAULT_RESOURCE_PREFIX
    retain_data: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    permissions_boundary_arn: str | None = None
    image_builder: ImageBuilder = IMAGE_BUILDERS[0]
    #: `none`, `create` (the stack's own VPC) or an existing VPC and its subnets.
    vpc: str | ExistingVpc = NONE
    #: The private subnets reach the internet through a NAT gateway (made by the stack with
    #: `vpc=create`; with an existing VPC, one its owner runs).
    nat: bool = False
    #: `none`, `create` (the stack's own key) or the ARN of an existing key.
    kms: str = NONE
    #: False, True (a logs bucket the stack makes) or the name of an existing logs bucket.
    access_logs: bool | str = False
    #: The name of an existing bucket the stack adopts instead of making its own (None: it makes
    #: one). An adopted bucket is the stack's to use, never to change or delete.
    artifact_bucket: str | None = None
    #: The same for the ECR repository.
    image_repository: str | None = None

    @classmethod
    def from_context(cls, context: Mapping[str, Any], region: str | None = None) -> Settings:
        """Parse the app's whole context; raise SettingsError naming the first bad key.

        `region`, when known (the cdk CLI sets CDK_DEFAULT_REGION), is where the stack deploys: a
        `kms` key of another region is refused, as no resource could use it.
        """
        unknown = sorted(key for key in context if key not in SETTING_KEYS and not is_cdk_key(key))
        if unknown:
            raise SettingsError(
                f"unknown setting {unknown[0]!r} in the CDK context (cdk.json or -c); "
                f"allowed settings: {', '.join(SETTING_KEYS)}"
            )
        values: dict[str, Any] = {}
        if context.get("stack_name") is not None:
            values["stack_name"] = _stack_name(context["stack_name"])
        if context.get("resource_prefix") is not None:
            values["resource_prefix"] = rules.resource_prefix(context["resource_prefix"])
        if context.get("retain_data") is not None:
            values["retain_data"] = _bool("retain_data", context["retain_data"])
        if context.get("tags") is not None:
            values["tags"] = rules.tags(context["tags"])
        boundary = context.get("permissions_boundary_arn")
        if boundary is not None and boundary != "":
            values["permissions_boundary_arn"] = _boundary(boundary)
        if context.get("image_builder") is not None:
            values["image_builder"] = rules.image_builder(context["image_builder"])
        if context.get("vpc") is not None:
            values["vpc"] = _vpc(context["vpc"])
        if context.get("nat") is not None:
            values["nat"] = _bool("nat", context["nat"])
        if context.get("kms") is not None:
            values["kms"] = _kms(context["kms"], region)
        if context.get("access_logs") is not None:
            values["access_logs"] = _access_logs(context["access_logs"])
        for key, parse in (("artifact_bucket", _existing_bucket), ("image_repository", _existing_repository)):
            if context.get(key) not in (None, ""):
                values[key] = parse(context[key])
        if values.get("nat") and values.get("vpc", NONE) == NONE:
            raise SettingsError(
                "nat=true needs a VPC: set vpc=create (the stack makes the NAT gateway) or "
                "vpc=<vpc id>:<subnet ids> (subnets that route through your NAT), or leave nat unset"
            )
        return cls(**values)

    @property
    def has_vpc(self) -> bool:
        return self.vpc != NONE

    @property
    def creates_vpc(self) -> bool:
        return self.vpc == CREATE

    @property
    def existing_vpc(self) -> ExistingVpc | None:
        return self.vpc if isinstance(self.vpc, ExistingVpc) else None

    @property
    def builds_in_vpc(self) -> bool:
        """The image builder runs in the VPC only where it can reach PyPI and Docker Hub: via a NAT."""
        return self.builds_images and self.has_vpc and self.nat

    @property
    def encrypts(self) -> bool:
        """Whether the stack's resources are encrypted with a customer managed key."""
        return self.kms != NONE

    @property
    def creates_key(self) -> bool:
        return self.kms == CREATE

    def to_props(self, scope: Construct, *, acknowledge_findings: bool = True) -> ZenmlSageMakerProps:
        """The construct's props: what the settings name by id or ARN, as CDK objects in `scope`.

        The VPC, subnets, key, buckets, repository and boundary are imported (`from_*`), so they
        make no resource: the construct uses them and never deletes them.
        """
        vpc: ec2.IVpc | None = None
        subnets: ec2.SubnetSelection | None = None
        if self.existing_vpc is not None:
            # Its zones are unknown and unneeded: the subnets are named one by one.
            vpc = ec2.Vpc.from_vpc_attributes(
                scope, "ExistingVpc", vpc_id=self.existing_vpc.vpc_id, availability_zones=Fn.get_azs()
            )
            subnets = ec2.SubnetSelection(
                subnets=[
                    ec2.Subnet.from_subnet_id(scope, f"ExistingSubnet{index}", subnet_id)
                    for index, subnet_id in enumerate(self.existing_vpc.subnet_ids)
                ]
            )
        key = kms.Key.from_key_arn(scope, "Key", self.kms) if self.encrypts and not self.creates_key else None
        return ZenmlSageMakerProps(
            resource_prefix=self.resource_prefix,
            retain_data=self.retain_data,
            tags=self.tags,
            permissions_boundary=(
                iam.ManagedPolicy.from_managed_policy_arn(
                    scope, "PermissionsBoundary", self.permissions_boundary_arn
                )
                if self.permissions_boundary_arn
                else None
            ),
            image_builder=self.image_builder,
            vpc=vpc,
            vpc_subnets=subnets,
            create_vpc=self.creates_vpc,
            nat=self.nat,
            key=key,
            create_key=self.creates_key,
            access_logs=(
                s3.Bucket.from_bucket_name(scope, "AccessLogsBucket", self.access_logs)
                if isinstance(self.access_logs, str)
                else self.access_logs
            ),
            artifact_bucket=(
                s3.Bucket.from_bucket_name(scope, "AdoptedBucket", self.artifact_bucket)
                if self.artifact_bucket
                else None
            ),
            image_repository=(
                ecr.Repository.from_repository_name(scope, "AdoptedRepository", self.image_repository)
                if self.image_repository
                else None
            ),
            acknowledge_findings=acknowledge_findings,
        )


def is_cdk_key(key: str) -> bool:
    """Feature flags start with "@", CDK internals and cached lookups contain ":"."""
    return key.startswith("@") or ":" in key or key in CDK_OWN_KEYS


def _stack_name(value: Any) -> str:
    if not isinstance(value, str) or not _STACK_NAME.match(value):
        raise SettingsError(
            f"invalid stack_name {show(value)}: use letters, digits and '-', starting with a letter, "
            "at most 128 characters (a CloudFormation stack name)"
        )
    return value


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise SettingsError(f"invalid {key} {show(value)}: use true or false")


def _boundary(value: Any) -> str:
    if not isinstance(value, str) or not _BOUNDARY_ARN.match(value):
        raise SettingsError(
            f"invalid permissions_boundary_arn {show(value)}: use an IAM managed policy ARN such as "
            "arn:aws:iam::123456789012:policy/MyBoundary, or leave it unset"
        )
    return value


def _vpc(value: Any) -> str | ExistingVpc:
    how = (
        "use none, create (a VPC with private subnets in two AZs and the endpoints jobs need) or "
        "<vpc id>:<subnet id>,<subnet id> (an existing VPC and the private subnets jobs run in), "
        "e.g. vpc-0123456789abcdef0:subnet-0123456789abcdef0,subnet-0fedcba9876543210"
    )
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.lower() in (NONE, CREATE):
        return text.lower()
    if not isinstance(text, str) or ":" not in text:
        raise SettingsError(f"invalid vpc {show(value)}: {how}")
    vpc_id, _, subnets = text.partition(":")
    if not config.VPC_ID.match(vpc_id):
        raise SettingsError(f"invalid vpc {show(value)}: {vpc_id!r} is not a VPC id; {how}")
    subnet_ids = tuple(part.strip() for part in subnets.split(","))
    bad = [subnet for subnet in subnet_ids if not config.SUBNET_ID.match(subnet)]
    if bad:
        raise SettingsError(f"invalid vpc {show(value)}: {bad[0]!r} is not a subnet id; {how}")
    if len(set(subnet_ids)) != len(subnet_ids) or len(subnet_ids) > MAX_SUBNETS:
        raise SettingsError(
            f"invalid vpc {show(value)}: name 1 to {MAX_SUBNETS} different subnets (SageMaker's limit); {how}"
        )
    return ExistingVpc(vpc_id=vpc_id, subnet_ids=subnet_ids)


def _kms(value: Any, region: str | None) -> str:
    how = "use none, create (a customer managed key with rotation) or the ARN of a key in the stack's region"
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.lower() in (NONE, CREATE):
        return text.lower()
    match = config.KMS_KEY_ARN.match(text) if isinstance(text, str) else None
    if match is None:
        raise SettingsError(
            f"invalid kms {show(value)}: {how}, e.g. "
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab (not an alias)"
        )
    if region and match["region"] != region:
        raise SettingsError(
            f"invalid kms {show(value)}: the key is in {match['region']} but the stack deploys to "
            f"{region}, and a key can only encrypt resources of its own region; {how}"
        )
    return str(text)


def _access_logs(value: Any) -> bool | str:
    how = "use false, true (a logs bucket the stack makes) or the name of an existing S3 bucket for the logs"
    if isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else None
    if text is not None and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    if text is None or not _BUCKET.match(text) or ".." in text:
        raise SettingsError(f"invalid access_logs {show(value)}: {how}")
    return text


def _existing_bucket(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _BUCKET.match(text) or ".." in text:
        raise SettingsError(
            f"invalid artifact_bucket {show(value)}: use the name of an existing S3 bucket of the "
            "stack's account and region (the stack adopts it instead of making one), or leave it unset"
        )
    return text


def _existing_repository(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or not 2 <= len(text) <= 256 or not config.REPOSITORY_NAME.match(text):
        raise SettingsError(
            f"invalid image_repository {show(value)}: use the name of an existing ECR repository of "
            "the stack's account and region (the stack adopts it instead of making one), or leave it unset"
        )
    return text
