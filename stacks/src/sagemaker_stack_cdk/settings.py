"""Typed, validated settings of the stack, read from the CDK context.

The context is what `cdk.json` ("context") and `-c key=value` give the app. Values from `-c` always
arrive as strings while `cdk.json` keeps JSON types, so every parser here accepts both.

A bad value must stop synthesis *before* any construct exists, with one line that names the key
and says what is allowed: a typo such as `-c retain_date=false` would otherwise be ignored silently
and the user's data deleted (or kept) against their intent. That is why unknown keys are errors
too, except the ones the CDK itself puts into the context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sagemaker_stack import config

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

#: Values of `image_builder`, the default first: the stack's CodeBuild project builds step images,
#: or the stack has no image builder (steps then run in images the user builds and pushes).
ImageBuilder = Literal["codebuild", "none"]
IMAGE_BUILDERS: Final[tuple[ImageBuilder, ...]] = ("codebuild", "none")

#: `vpc` and `kms` without a resource of their own: `none` (the default) or `create`.
NONE: Final = "none"
CREATE: Final = "create"

#: Context keys the CDK itself uses that neither start with "@" nor contain ":".
CDK_OWN_KEYS: Final = frozenset({"acknowledged-issue-numbers", "cli-telemetry", "cdk-version"})

#: The longest region name AWS has (e.g. ap-southeast-1, ap-northeast-3, us-isob-east-1).
LONGEST_REGION_LENGTH: Final = 14
ACCOUNT_LENGTH: Final = 12
BUCKET_NAME_MAX: Final = 63
BUCKET_INFIX: Final = "-artifacts-"

#: The longest prefix whose bucket name f"{prefix}-artifacts-{account}-{region}" fits S3's 63
#: characters with a 12-digit account and the longest region, keeping one character to spare for
#: a longer future region. Every other name the prefix feeds is shorter than the bucket's limit
#: (IAM role names <= 64, ECR repository, secret and schedule group names), and
#: `sagemaker_stack.config` accepts exactly this length, so a deployable stack always exports.
RESOURCE_PREFIX_MAX: Final = (
    BUCKET_NAME_MAX - len(BUCKET_INFIX) - ACCOUNT_LENGTH - 1 - LONGEST_REGION_LENGTH - 1
)

DEFAULT_STACK_NAME: Final = config.DEFAULT_STACK_NAME
DEFAULT_RESOURCE_PREFIX: Final = config.DEFAULT_RESOURCE_PREFIX

# Lowercase words joined by single hyphens: valid in S3, ECR (no doubled or trailing separator),
# IAM, Secrets Manager and Scheduler names alike.
_PREFIX = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# S3 rejects bucket names that start with these.
_RESERVED_BUCKET_STARTS: Final = ("xn--", "sthree-", "amzn-s3-demo-")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_BOUNDARY_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/[\w+=,.@/-]{1,512}$")
#: SageMaker's VpcConfig takes at most 16 subnets (botocore: Subnets max 16).
MAX_SUBNETS: Final = 16
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{1,61})[a-z0-9]$")
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$", re.UNICODE)
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})


class SettingsError(ValueError):
    """A context value is invalid or unknown; the message is one line meant for the user."""


@dataclass(frozen=True)
class ExistingVpc:
    """`vpc=<vpc id>:<subnet id>,...`: a VPC the stack does not own, and the subnets jobs run in."""

    vpc_id: str
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
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
            values["resource_prefix"] = _resource_prefix(context["resource_prefix"])
        if context.get("retain_data") is not None:
            values["retain_data"] = _bool("retain_data", context["retain_data"])
        if context.get("tags") is not None:
            values["tags"] = _tags(context["tags"])
        boundary = context.get("permissions_boundary_arn")
        if boundary is not None and boundary != "":
            values["permissions_boundary_arn"] = _boundary(boundary)
        if context.get("image_builder") is not None:
            values["image_builder"] = _image_builder(context["image_builder"])
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

    # Names every resource gets; defined here so tests, docs and the stack agree.
    def bucket_name(self, account: str, region: str) -> str:
        """Globally unique per account and region, so two regions never collide."""
        return config.artifact_bucket_name(self.resource_prefix, account, region)

    @property
    def repository_name(self) -> str:
        return config.image_repository_name(self.resource_prefix)

    @property
    def secret_name(self) -> str:
        return f"{self.resource_prefix}/zenml-server"

    def execution_role_name(self, region: str) -> str:
        """IAM names are global per account: the region keeps two regional stacks apart."""
        return f"{self.resource_prefix}-execution-{region}"

    def scheduler_role_name(self, region: str) -> str:
        return f"{self.resource_prefix}-scheduler-{region}"

    def image_builder_role_name(self, region: str) -> str:
        return f"{self.resource_prefix}-image-builder-{region}"

    def flow_log_role_name(self, region: str) -> str:
        return f"{self.resource_prefix}-flow-logs-{region}"

    @property
    def flow_log_group_name(self) -> str:
        """The log group of the stack's VPC flow log (`vpc=create`)."""
        return f"/sagemaker-stack/{self.resource_prefix}/vpc-flow-logs"

    @property
    def builds_images(self) -> bool:
        """Whether the stack has its CodeBuild image builder (`image_builder=codebuild`)."""
        return self.image_builder == "codebuild"

    @property
    def image_builder_project_name(self) -> str:
        """Same as the runtime's rule: the project `register` points ZenML's image builder at."""
        return config.image_builder_project_name(self.resource_prefix)

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

    @property
    def key_alias(self) -> str:
        return f"alias/{self.resource_prefix}"

    @property
    def schedule_group_name(self) -> str:
        """Same as StackConfig.schedule_group_name (the orchestrator creates the group)."""
        return config.schedule_group_name(self.resource_prefix)

    @property
    def pipeline_name_prefix(self) -> str:
        """SageMaker pipelines of this stack start with this: the scheduler role's scope."""
        return config.pipeline_name_prefix(self.resource_prefix)


def is_cdk_key(key: str) -> bool:
    """Feature flags start with "@", CDK internals and cached lookups contain ":"."""
    return key.startswith("@") or ":" in key or key in CDK_OWN_KEYS


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _stack_name(value: Any) -> str:
    if not isinstance(value, str) or not _STACK_NAME.match(value):
        raise SettingsError(
            f"invalid stack_name {_show(value)}: use letters, digits and '-', starting with a letter, "
            "at most 128 characters (a CloudFormation stack name)"
        )
    return value


def _resource_prefix(value: Any) -> str:
    allowed = (
        f"use lowercase letters, digits and single '-' between them, starting with a letter, "
        f"at most {RESOURCE_PREFIX_MAX} characters (it starts the bucket name "
        f"'<prefix>{BUCKET_INFIX}<account>-<region>', which S3 limits to {BUCKET_NAME_MAX})"
    )
    if not isinstance(value, str) or not _PREFIX.match(value):
        raise SettingsError(f"invalid resource_prefix {_show(value)}: {allowed}")
    if len(value) > RESOURCE_PREFIX_MAX:
        raise SettingsError(f"invalid resource_prefix {_show(value)} ({len(value)} characters): {allowed}")
    if value.startswith(_RESERVED_BUCKET_STARTS) or f"{value}-".startswith(_RESERVED_BUCKET_STARTS):
        raise SettingsError(
            f"invalid resource_prefix {_show(value)}: S3 bucket names may not start with "
            f"{', '.join(_RESERVED_BUCKET_STARTS)}; choose another prefix"
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
    raise SettingsError(f"invalid {key} {_show(value)}: use true or false")


def _image_builder(value: Any) -> ImageBuilder:
    text = value.strip().lower() if isinstance(value, str) else value
    for kind in IMAGE_BUILDERS:
        if text == kind:
            return kind
    raise SettingsError(
        f"invalid image_builder {_show(value)}: use codebuild (the stack builds step images on "
        "AWS CodeBuild) or none (no image builder: you build and push step images yourself)"
    )


def _tags(value: Any) -> dict[str, str]:
    how = 'a JSON object of string keys and values, e.g. -c tags=\'{"team":"ml"}\''
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as error:
            raise SettingsError(f"invalid tags {_show(value)}: not JSON ({error.msg}); use {how}") from None
    if not isinstance(parsed, dict):
        raise SettingsError(f"invalid tags {_show(value)}: use {how}")
    tags: dict[str, str] = {}
    for key, item in parsed.items():
        if not isinstance(item, str):
            raise SettingsError(
                f"invalid tags: the value of {key!r} is {_show(item)}, not a string; use {how}"
            )
        if not 1 <= len(key) <= 128 or not _TAG_TEXT.match(key) or key.lower().startswith("aws:"):
            raise SettingsError(
                f"invalid tags: key {key!r} is not an AWS tag key (1-128 letters, digits, spaces and "
                "_ . : / = + - @, not starting with 'aws:')"
            )
        if len(item) > 256 or not _TAG_TEXT.match(item):
            raise SettingsError(
                f"invalid tags: the value of {key!r} is not an AWS tag value (at most 256 letters, digits, "
                "spaces and _ . : / = + - @)"
            )
        tags[key] = item
    return tags


def _boundary(value: Any) -> str:
    if not isinstance(value, str) or not _BOUNDARY_ARN.match(value):
        raise SettingsError(
            f"invalid permissions_boundary_arn {_show(value)}: use an IAM managed policy ARN such as "
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
        raise SettingsError(f"invalid vpc {_show(value)}: {how}")
    vpc_id, _, subnets = text.partition(":")
    if not config.VPC_ID.match(vpc_id):
        raise SettingsError(f"invalid vpc {_show(value)}: {vpc_id!r} is not a VPC id; {how}")
    subnet_ids = tuple(part.strip() for part in subnets.split(","))
    bad = [subnet for subnet in subnet_ids if not config.SUBNET_ID.match(subnet)]
    if bad:
        raise SettingsError(f"invalid vpc {_show(value)}: {bad[0]!r} is not a subnet id; {how}")
    if len(set(subnet_ids)) != len(subnet_ids) or len(subnet_ids) > MAX_SUBNETS:
        raise SettingsError(
            f"invalid vpc {_show(value)}: name 1 to {MAX_SUBNETS} different subnets "
            f"(SageMaker's limit); {how}"
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
            f"invalid kms {_show(value)}: {how}, e.g. "
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab (not an alias)"
        )
    if region and match["region"] != region:
        raise SettingsError(
            f"invalid kms {_show(value)}: the key is in {match['region']} but the stack deploys to "
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
        raise SettingsError(f"invalid access_logs {_show(value)}: {how}")
    return text


def _existing_bucket(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _BUCKET.match(text) or ".." in text:
        raise SettingsError(
            f"invalid artifact_bucket {_show(value)}: use the name of an existing S3 bucket of the "
            "stack's account and region (the stack adopts it instead of making one), or leave it unset"
        )
    return text


def _existing_repository(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or not 2 <= len(text) <= 256 or not config.REPOSITORY_NAME.match(text):
        raise SettingsError(
            f"invalid image_repository {_show(value)}: use the name of an existing ECR repository of "
            "the stack's account and region (the stack adopts it instead of making one), or leave it unset"
        )
    return text
