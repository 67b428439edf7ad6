"""The versioned hand-off between the deployed CDK stack and the runtime package.

`stacks/` (deploy time) makes its outputs from the table here (`STACK_OUTPUTS`), `export` reads
them back with it, and the orchestrator, the CLI and the emulator read the `StackConfig` file
written from them. Keeping both in one module
is what guarantees the two sides agree: a renamed output breaks a unit test, not a user.

No secret value is ever part of a StackConfig: it holds the secret's ARN only.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA_VERSION: Final = 3
#: Versions this package reads: an older file is a newer one without the optional fields (2 added
#: the image builder and base image, 3 the network and key fields).
READABLE_SCHEMA_VERSIONS: Final = frozenset({1, 2, 3})
DEFAULT_CONFIG_FILE: Final = "sagemaker-stack.json"
#: The CloudFormation stack's name unless cdk.json or `-c stack_name=...` says otherwise.
DEFAULT_STACK_NAME: Final = "sagemaker-stack"


class OutputName:
    """CloudFormation output keys of the stack (the CDK construct ids of its CfnOutputs)."""

    EXECUTION_ROLE_ARN: Final = "ExecutionRoleArn"
    BUCKET_NAME: Final = "ArtifactBucketName"
    ARTIFACT_PATH: Final = "ArtifactPath"
    REGISTRY_URI: Final = "RegistryUri"
    REPOSITORY_NAME: Final = "RepositoryName"
    SECRET_ARN: Final = "SecretArn"
    SCHEDULER_ROLE_ARN: Final = "SchedulerRoleArn"
    RESOURCE_PREFIX: Final = "ResourcePrefix"
    RETAIN_DATA: Final = "RetainData"
    REGION: Final = "Region"
    ACCOUNT: Final = "Account"
    IMAGE_BUILDER_PROJECT: Final = "ImageBuilderProject"
    VPC_ID: Final = "VpcId"
    SUBNET_IDS: Final = "SubnetIds"
    SECURITY_GROUP_ID: Final = "SecurityGroupId"
    NAT: Final = "Nat"
    KMS_KEY_ARN: Final = "KmsKeyArn"
    ACCESS_LOGS_BUCKET: Final = "AccessLogsBucketName"
    STACK_CONFIG_JSON: Final = "StackConfigJson"


class SecretKey:
    """Keys of the JSON object in the stack's secret: `register` writes them, every step reads them."""

    SERVER_URL: Final = "server_url"
    API_KEY: Final = "api_key"


@dataclass(frozen=True)
class StackOutput:
    """One CloudFormation output of the stack: the StackConfig field it carries, and why it is there.

    The construct (`sagemaker_stack_cdk.construct`) makes one output per row it has a value for, and
    `sagemaker-stack export` (`ops/outputs.py`) reads the same rows back into a StackConfig.
    """

    name: str
    field: str
    description: str
    #: False for the outputs a stack has only with some settings.
    required: bool = True


#: Every output of the stack, the one table both sides read (`StackConfigJson` repeats them as one
#: JSON object and is not a row). Optional rows exist only with some settings (`image_builder=none`
#: has no project, `vpc=none` no subnets, `kms=none` no key, say).
STACK_OUTPUTS: Final = (
    StackOutput(
        OutputName.EXECUTION_ROLE_ARN, "execution_role_arn", "Role SageMaker assumes for pipeline steps"
    ),
    StackOutput(OutputName.BUCKET_NAME, "bucket_name", "Artifact bucket"),
    StackOutput(OutputName.ARTIFACT_PATH, "artifact_path", "Path of ZenML's S3 artifact store"),
    StackOutput(OutputName.REGISTRY_URI, "registry_uri", "ECR registry host (without the repository)"),
    StackOutput(OutputName.REPOSITORY_NAME, "repository_name", "ECR repository for pipeline images"),
    StackOutput(OutputName.SECRET_ARN, "secret_arn", "ARN of the ZenML credentials secret (never its value)"),
    StackOutput(OutputName.SCHEDULER_ROLE_ARN, "scheduler_role_arn", "Role EventBridge Scheduler assumes"),
    StackOutput(OutputName.RESOURCE_PREFIX, "resource_prefix", "Prefix of every resource name"),
    StackOutput(OutputName.RETAIN_DATA, "retain_data", "Whether bucket and repository survive cdk destroy"),
    StackOutput(OutputName.REGION, "region", "Region of the stack"),
    StackOutput(OutputName.ACCOUNT, "account", "Account of the stack"),
    StackOutput(
        OutputName.IMAGE_BUILDER_PROJECT,
        "image_builder_project",
        "CodeBuild project that builds step images (only with image_builder=codebuild)",
        required=False,
    ),
    StackOutput(OutputName.VPC_ID, "vpc_id", "VPC the jobs run in (only with vpc)", required=False),
    StackOutput(
        OutputName.SUBNET_IDS,
        "subnet_ids",
        "Private subnets of the jobs, comma-separated (only with vpc)",
        required=False,
    ),
    StackOutput(
        OutputName.SECURITY_GROUP_ID,
        "security_group_id",
        "Security group of the jobs (only with vpc)",
        required=False,
    ),
    StackOutput(
        OutputName.NAT,
        "nat",
        "Whether the private subnets reach the internet through a NAT (only with vpc)",
        required=False,
    ),
    StackOutput(
        OutputName.KMS_KEY_ARN,
        "kms_key_arn",
        "Customer managed key of the stack's data (only with kms)",
        required=False,
    ),
    StackOutput(
        OutputName.ACCESS_LOGS_BUCKET,
        "access_logs_bucket",
        "Bucket of the artifact bucket's access logs (only with access_logs=true)",
        required=False,
    ),
)
#: The id of the construct whose outputs keep the plain names of the table (the app's own, and
#: what stacks deployed before the construct library have): CDK leaves this id out of logical ids.
DEFAULT_CONSTRUCT_ID: Final = "Default"


def output_key(output_prefix: str, name: str) -> str:
    """The output key of one construct's row `name`: its output prefix ('' for the default) + the name.

    Several constructs share a stack this way (`TeamAExecutionRoleArn`, `TeamBExecutionRoleArn`);
    `export --construct` finds a construct's rows again by its prefix.
    """
    return f"{output_prefix}{name}"


#: Outputs every deployed stack must have.
REQUIRED_OUTPUTS: Final = tuple(output.name for output in STACK_OUTPUTS if output.required)
#: Outputs a stack has only with some settings.
OPTIONAL_OUTPUTS: Final = tuple(output.name for output in STACK_OUTPUTS if not output.required)
#: Output key -> StackConfig field.
OUTPUT_FIELDS: Final = {output.name: output.field for output in STACK_OUTPUTS}

#: StackConfig fields no stack output carries: the commands that make them write them in the file.
#: `base_image` is written by `sagemaker-stack image build`, which builds and pushes it.
LOCAL_FIELDS: Final = frozenset({"base_image"})

#: The build environment of every image build, the stack's and ZenML's: an AWS-managed image
#: with Docker, which needs privileged mode (the project's default and what each build asks for).
CODEBUILD_IMAGE: Final = "aws/codebuild/standard:7.0"

#: The folder inside the bucket that ZenML's S3 artifact store uses.
ARTIFACT_FOLDER: Final = "zenml"
#: Where ZenML's `aws` image builder uploads build contexts, under the artifact store's path
#: (`zenml.integrations.aws.image_builders`); `image build` puts the base image's there too.
BUILD_CONTEXT_FOLDER: Final = "code-build-contexts"

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGISTRY = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
#: An ECR repository name (the stack's settings check an adopted repository's name with it).
REPOSITORY_NAME: Final = _REPOSITORY
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
#: botocore's codebuild model: ProjectName pattern [A-Za-z0-9][A-Za-z0-9\-_]{1,254}.
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$")
#: EC2 ids: a type prefix and 8 (older resources) or 17 lowercase hex digits.
VPC_ID: Final = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID: Final = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID: Final = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_KEY_ID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KMS_ARN = r"arn:aws(?:-[a-z]+)*:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
#: A KMS key's ARN: what the stack exports and the roles' grants name (an alias names no key).
KMS_KEY_ARN: Final = re.compile(rf"^{_KMS_ARN}key/{_KEY_ID}$")
#: Every way SageMaker's KmsKeyId members name a key: key id, key ARN, alias, alias ARN.
KMS_KEY_REFERENCE: Final = re.compile(
    rf"^(?:{_KEY_ID}|alias/[\w/.+=@-]{{1,250}}|{_KMS_ARN}(?:key/{_KEY_ID}|alias/[\w/.+=@-]{{1,250}}))$"
)
_ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})$"
)


#: The tag the orchestrator puts on every SageMaker pipeline it creates (the ZenML pipeline's name):
#: with the stack's name prefix, how `down` tells the pipelines it created from anyone else's.
ZENML_PIPELINE_TAG: Final = "zenml-pipeline"
#: The resource prefix of a stack deployed without one (the CDK app's default).
DEFAULT_RESOURCE_PREFIX: Final = "zenml-sagemaker"


def artifact_bucket_name(resource_prefix: str, account: str, region: str) -> str:
    """The bucket a stack makes: one per account and region, so two regions never collide.

    Fixed, so that `up` finds the bucket a destroyed stack retained and the new stack adopts it.
    """
    return f"{resource_prefix}-artifacts-{account}-{region}"


def image_repository_name(resource_prefix: str) -> str:
    """The ECR repository a stack makes (fixed for the same reason as the bucket's name)."""
    return f"{resource_prefix}-zenml"


def schedule_group_name(resource_prefix: str) -> str:
    """The EventBridge Scheduler group of a stack (the stack's template and the runtime agree here)."""
    return f"{resource_prefix}-schedules"


def pipeline_name_prefix(resource_prefix: str) -> str:
    """What every SageMaker pipeline of a stack starts with: the scheduler role's scope."""
    return f"{resource_prefix}-"


def image_builder_project_name(resource_prefix: str) -> str:
    """The stack's CodeBuild project, which builds every step image."""
    return f"{resource_prefix}-image-builder"


def codebuild_log_group(project_name: str) -> str:
    """Where CodeBuild writes a project's build logs (its default group, which the stack makes)."""
    return f"/aws/codebuild/{project_name}"


def build_context_prefix() -> str:
    """The key prefix of build contexts in the bucket: all the image builder may read there."""
    return f"{ARTIFACT_FOLDER}/{BUILD_CONTEXT_FOLDER}/"


def base_image_tag(variant: str, digest: str) -> str:
    """The tag of the stack's base image: its variant (cpu, cuda) and its build context's digest.

    A tag per content means a changed recipe or package is a new image, never a stale one.
    """
    return f"sagemaker-stack-{variant}-{digest[:16]}"


class ConfigError(ValueError):
    """A StackConfig file is missing, unreadable or does not describe a deployed stack."""


class StackConfig(BaseModel):
    """Everything the runtime needs to know about one deployed stack, and nothing secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    stack_name: str = Field(min_length=1, max_length=128)
    region: str
    account: str = Field(pattern=r"^\d{12}$")
    resource_prefix: str
    execution_role_arn: str
    bucket_name: str
    artifact_path: str
    registry_uri: str
    repository_name: str
    secret_arn: str
    scheduler_role_arn: str | None = None
    retain_data: bool = True
    endpoint_url: str | None = None
    #: The CodeBuild project that builds step images; None when deployed with image_builder=none.
    image_builder_project: str | None = None
    #: The stack's base image (`<registry>/<repository>:<tag>`), once `image build` pushed it.
    base_image: str | None = None
    #: With a VPC (`vpc=create` or an existing one): the private subnets and the security group
    #: of every job, and whether those subnets reach the internet through a NAT gateway.
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] | None = None
    security_group_id: str | None = None
    nat: bool = False
    #: With `kms`: the customer managed key of the bucket, secret, repository, logs and jobs.
    kms_key_arn: str | None = None
    #: With `access_logs=true`: the bucket the stack made for the artifact bucket's access logs.
    access_logs_bucket: str | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value not in READABLE_SCHEMA_VERSIONS:
            raise ValueError(
                f"schema_version {value} is not supported by this sagemaker-stack "
                f"(it reads versions {sorted(READABLE_SCHEMA_VERSIONS)}); re-run `sagemaker-stack export`"
            )
        return SCHEMA_VERSION

    @field_validator("image_builder_project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        return None if value is None else _check(_PROJECT, value, "a CodeBuild project name")

    @field_validator("base_image")
    @classmethod
    def _base_image(cls, value: str | None) -> str | None:
        return None if value is None else _check(_ECR_IMAGE, value, "an ECR image URI with a tag or digest")

    @field_validator("subnet_ids", mode="before")
    @classmethod
    def _subnets(cls, value: Any) -> Any:
        """A stack output holds them comma-separated; the JSON output and the file as a list."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            if not value:
                return None
            for subnet in value:
                _check(SUBNET_ID, str(subnet), "a subnet id")
        return value

    @field_validator("vpc_id")
    @classmethod
    def _vpc(cls, value: str | None) -> str | None:
        return None if value is None else _check(VPC_ID, value, "a VPC id")

    @field_validator("security_group_id")
    @classmethod
    def _security_group(cls, value: str | None) -> str | None:
        return None if value is None else _check(SECURITY_GROUP_ID, value, "a security group id")

    @field_validator("kms_key_arn")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else _check(KMS_KEY_ARN, value, "a KMS key ARN")

    @field_validator("access_logs_bucket")
    @classmethod
    def _logs_bucket(cls, value: str | None) -> str | None:
        return None if value is None else _check(_BUCKET, value, "an S3 bucket name")

    @model_validator(mode="after")
    def _network_and_key(self) -> StackConfig:
        if (self.subnet_ids is None) != (self.security_group_id is None):
            raise ValueError("subnet_ids and security_group_id come together (a stack with a VPC has both)")
        match = KMS_KEY_ARN.match(self.kms_key_arn) if self.kms_key_arn else None
        if match and match["region"] != self.region:
            raise ValueError(
                f"kms_key_arn is a key in {match['region']}, not the stack's region {self.region}"
            )
        return self

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _check(_REGION, value, "an AWS region such as us-east-1")

    @field_validator("resource_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _check(_PREFIX, value, "lowercase letters, digits and '-', at most 24 characters")

    @field_validator("execution_role_arn", "scheduler_role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        return None if value is None else _check(_ROLE_ARN, value, "an IAM role ARN")

    @field_validator("secret_arn")
    @classmethod
    def _secret(cls, value: str) -> str:
        return _check(_SECRET_ARN, value, "a Secrets Manager secret ARN")

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return _check(_BUCKET, value, "an S3 bucket name")

    @field_validator("artifact_path")
    @classmethod
    def _artifact_path(cls, value: str) -> str:
        if not value.startswith("s3://"):
            raise ValueError(f"{value!r} is not an s3:// path")
        return value.rstrip("/")

    @field_validator("registry_uri")
    @classmethod
    def _registry(cls, value: str) -> str:
        return _check(
            _REGISTRY, value, "an ECR registry host such as 123456789012.dkr.ecr.us-east-1.amazonaws.com"
        )

    @field_validator("repository_name")
    @classmethod
    def _repository(cls, value: str) -> str:
        return _check(_REPOSITORY, value, "a lowercase ECR repository name")

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def repository_uri(self) -> str:
        """Full image repository URI (registry host plus repository name)."""
        return f"{self.registry_uri}/{self.repository_name}"

    @property
    def schedule_group_name(self) -> str:
        """The EventBridge Scheduler group that holds this stack's schedules."""
        return schedule_group_name(self.resource_prefix)

    @property
    def pipeline_name_prefix(self) -> str:
        """SageMaker pipelines made for this stack start with this (the scheduler role's scope)."""
        return pipeline_name_prefix(self.resource_prefix)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> StackConfig:
        """Validate `data`, turning pydantic's report into one readable ConfigError."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in error.errors()
            )
            raise ConfigError(f"{source} is not a valid sagemaker-stack config: {problems}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StackConfig:
        """Read a config file written by `save` (or by `sagemaker-stack export`)."""
        file = Path(path)
        data = read_json_file(
            file,
            missing=f"no stack config at {file}: deploy the stack and run `sagemaker-stack export` "
            "(or pass --config with the file's path)",
            what="stack config",
        )
        if not isinstance(data, dict):
            raise ConfigError(f"{file} does not hold a JSON object")
        return cls.from_dict(data, source=str(file))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically with mode 0600: a reader never sees half a file, others none at all."""
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return file


def read_json_file(file: Path, *, missing: str, what: str, error: type[ConfigError] = ConfigError) -> Any:
    """The JSON in `file`; `error(missing)` when there is no such file, one line when unreadable."""
    if not file.is_file():
        raise error(missing)
    try:
        return json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as problem:
        raise error(f"cannot read {what} {file}: {problem}") from None


def _check(pattern: re.Pattern[str], value: str, allowed: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{value!r} is not {allowed}")
    return value
