"""The rules every way of configuring the construct shares: names, limits and their messages.

`ZenmlSageMakerProps` (the library's typed props) and `Settings` (the app's CDK context) both
check a resource prefix, tags and the image builder here, so a bad value gets the same one-line
message whichever way it came, and both derive every resource name from the prefix here
(`ResourceNames`), so tests, docs and the construct agree.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Literal

from sagemaker_stack import config

#: Values of `image_builder`, the default first: the stack's CodeBuild project builds step images,
#: or the stack has no image builder (steps then run in images the user builds and pushes).
ImageBuilder = Literal["codebuild", "none"]
IMAGE_BUILDERS: Final[tuple[ImageBuilder, ...]] = ("codebuild", "none")

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

DEFAULT_RESOURCE_PREFIX: Final = config.DEFAULT_RESOURCE_PREFIX

# Lowercase words joined by single hyphens: valid in S3, ECR (no doubled or trailing separator),
# IAM, Secrets Manager and Scheduler names alike.
_PREFIX = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# S3 rejects bucket names that start with these.
_RESERVED_BUCKET_STARTS: Final = ("xn--", "sthree-", "amzn-s3-demo-")
#: SageMaker's VpcConfig takes at most 16 subnets (botocore: Subnets max 16).
MAX_SUBNETS: Final = 16
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$", re.UNICODE)


class SettingsError(ValueError):
    """A context value is invalid or unknown; the message is one line meant for the user."""


class ResourceNames:
    """The names of a construct's resources, all derived from its resource prefix (a mixin)."""

    resource_prefix: str
    image_builder: ImageBuilder

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


def show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def resource_prefix(value: Any) -> str:
    allowed = (
        f"use lowercase letters, digits and single '-' between them, starting with a letter, "
        f"at most {RESOURCE_PREFIX_MAX} characters (it starts the bucket name "
        f"'<prefix>{BUCKET_INFIX}<account>-<region>', which S3 limits to {BUCKET_NAME_MAX})"
    )
    if not isinstance(value, str) or not _PREFIX.match(value):
        raise SettingsError(f"invalid resource_prefix {show(value)}: {allowed}")
    if len(value) > RESOURCE_PREFIX_MAX:
        raise SettingsError(f"invalid resource_prefix {show(value)} ({len(value)} characters): {allowed}")
    if value.startswith(_RESERVED_BUCKET_STARTS) or f"{value}-".startswith(_RESERVED_BUCKET_STARTS):
        raise SettingsError(
            f"invalid resource_prefix {show(value)}: S3 bucket names may not start with "
            f"{', '.join(_RESERVED_BUCKET_STARTS)}; choose another prefix"
        )
    return value


def image_builder(value: Any) -> ImageBuilder:
    text = value.strip().lower() if isinstance(value, str) else value
    for kind in IMAGE_BUILDERS:
        if text == kind:
            return kind
    raise SettingsError(
        f"invalid image_builder {show(value)}: use codebuild (the stack builds step images on "
        "AWS CodeBuild) or none (no image builder: you build and push step images yourself)"
    )


def tags(value: Any) -> dict[str, str]:
    how = 'a JSON object of string keys and values, e.g. -c tags=\'{"team":"ml"}\''
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as error:
            raise SettingsError(f"invalid tags {show(value)}: not JSON ({error.msg}); use {how}") from None
    if not isinstance(parsed, dict):
        raise SettingsError(f"invalid tags {show(value)}: use {how}")
    tags: dict[str, str] = {}
    for key, item in parsed.items():
        if not isinstance(item, str):
            raise SettingsError(
                f"invalid tags: the value of {key!r} is {show(item)}, not a string; use {how}"
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


#: A construct's output key prefix: CloudFormation output keys are alphanumeric (255 at most).
OUTPUT_PREFIX = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]{0,63})?$")
