"""`ZenmlSageMaker`: the one construct a user adds to any Stack, and the outputs `export` reads.

It composes the constructs of this package from typed props and emits, into the stack that holds
it, one CloudFormation output per row of `sagemaker_stack.config.STACK_OUTPUTS` (a light,
pydantic-only module of the runtime package), so a renamed output fails a unit test instead of a
user's `sagemaker-stack export`. Several constructs share a stack by their output prefixes
(`config.output_key`); the one with the id `config.DEFAULT_CONSTRUCT_ID` keeps the plain names
(and, as CDK hides that id from logical ids, the resources of the app's stack before the library).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, CfnOutput, Fn, Stack, Tags, Token
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from sagemaker_stack import config
from sagemaker_stack.config import ARTIFACT_FOLDER, OutputName
from sagemaker_stack_cdk import nag
from sagemaker_stack_cdk.access_logs import AccessLogs
from sagemaker_stack_cdk.artifact_store import ArtifactStore
from sagemaker_stack_cdk.credentials import ZenmlCredentials
from sagemaker_stack_cdk.encryption import Encryption
from sagemaker_stack_cdk.execution_role import ExecutionRole
from sagemaker_stack_cdk.image_builder import ImageBuilder
from sagemaker_stack_cdk.image_registry import ImageRegistry
from sagemaker_stack_cdk.network import Network
from sagemaker_stack_cdk.props import ZenmlSageMakerProps
from sagemaker_stack_cdk.rules import SettingsError
from sagemaker_stack_cdk.scheduler_role import SchedulerRole

#: Tag put on every resource so that a stack's resources can be found (and told apart) by tag.
STACK_TAG_KEY = "sagemaker-stack:stack"
#: CDK feature flags the construct needs whatever the user's cdk.json says: S3 delivers server
#: access logs to a bucket with ACLs disabled (BucketOwnerEnforced, as all of ours) only through
#: a bucket policy. Set on the construct, so they reach its resources only.
FEATURE_FLAGS: Mapping[str, bool] = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


class ZenmlSageMaker(Construct):
    """Everything ZenML needs to run pipelines on SageMaker Pipelines, in the stack you add it to.

    Add it as often as you like with different `resource_prefix`es (and ids); `sagemaker-stack
    export --stack-name <stack> --construct <id or prefix>` then writes the config of one. The
    stack may be environment-agnostic: account and region are those `cdk deploy` runs with.

    Attributes (typed, for your own wiring): `execution_role`, `scheduler_role`, `bucket`,
    `repository`, `secret`, `image_builder_project` (None with image_builder="none"), `key`
    (None without one), `vpc_id`, `subnet_ids` and `security_group` (None without a VPC), and
    `output_prefix`, the start of this construct's output keys.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ZenmlSageMakerProps | None = None) -> None:
        super().__init__(scope, construct_id)
        props = props if props is not None else ZenmlSageMakerProps()
        for flag, enabled in FEATURE_FLAGS.items():
            self.node.set_context(flag, enabled)
        self.props = props
        stack = Stack.of(self)
        self.output_prefix = _output_prefix(construct_id, props)
        self._refuse_clashes(stack)
        self._check_key_region(stack, props.key)
        self.encryption = Encryption(self, "Encryption", props=props) if props.encrypts else None
        key = self.encryption.key if self.encryption else None
        self.network = Network(self, "Network", props=props, key=key) if props.has_vpc else None
        # What the construct adopts instead of making: a bucket or repository it does not own,
        # whose logging it cannot set either.
        adopted_bucket = props.artifact_bucket
        self.access_logs = (
            AccessLogs(self, "AccessLogs", access_logs=props.access_logs)
            if props.access_logs is not False and adopted_bucket is None
            else None
        )
        self.artifact_store = ArtifactStore(
            self,
            "ArtifactStore",
            bucket_name=props.bucket_name(stack.account, stack.region),
            retain_data=props.retain_data,
            key=key,
            logs_bucket=self.access_logs.bucket if self.access_logs else None,
            bucket=adopted_bucket,
        )
        self.image_registry = ImageRegistry(
            self,
            "ImageRegistry",
            repository_name=props.repository_name,
            retain_data=props.retain_data,
            key=key,
            repository=props.image_repository,
        )
        self.credentials = ZenmlCredentials(self, "ZenmlCredentials", secret_name=props.secret_name, key=key)
        self.execution_role_construct = ExecutionRole(
            self,
            "ExecutionRole",
            role_name=props.execution_role_name(stack.region),
            bucket=self.artifact_store.bucket,
            repository=self.image_registry.repository,
            secret=self.credentials.secret,
            images_pushed_by_builder=props.builds_images,
            pipeline_name_prefix=props.pipeline_name_prefix,
            encryption=self.encryption,
        )
        self.image_builder_construct = (
            ImageBuilder(
                self,
                "ImageBuilder",
                project_name=props.image_builder_project_name,
                role_name=props.image_builder_role_name(stack.region),
                bucket=self.artifact_store.bucket,
                repository=self.image_registry.repository,
                encryption=self.encryption,
                network=self.network,
            )
            if props.builds_images
            else None
        )
        if self.encryption is not None:
            self.encryption.allow_log_groups(*self._log_group_names())
        self.scheduler_role_construct = SchedulerRole(
            self,
            "SchedulerRole",
            role_name=props.scheduler_role_name(stack.region),
            pipeline_name_prefix=props.pipeline_name_prefix,
        )
        if props.permissions_boundary is not None:
            iam.PermissionsBoundary.of(self).apply(props.permissions_boundary)
        for tag, text in props.tags.items():
            Tags.of(self).add(tag, text)
        Tags.of(self).add(STACK_TAG_KEY, stack.stack_name)
        self._add_outputs(stack)
        if props.acknowledge_findings:
            nag.suppress_findings(self)

    # The typed outputs a user wires into the rest of their app.
    @property
    def execution_role(self) -> iam.IRole:
        """The role SageMaker assumes for every pipeline step."""
        return self.execution_role_construct.role

    @property
    def scheduler_role(self) -> iam.IRole:
        """The role EventBridge Scheduler assumes to start this construct's pipelines."""
        return self.scheduler_role_construct.role

    @property
    def bucket(self) -> s3.IBucket:
        """The artifact bucket (the construct's, or the adopted one)."""
        return self.artifact_store.bucket

    @property
    def repository(self) -> ecr.IRepository:
        """The image repository (the construct's, or the adopted one)."""
        return self.image_registry.repository

    @property
    def secret(self) -> secretsmanager.ISecret:
        """The ZenML credentials secret (`sagemaker-stack register` writes its value)."""
        return self.credentials.secret

    @property
    def image_builder_project(self) -> codebuild.IProject | None:
        """The CodeBuild project that builds step images (None with image_builder="none")."""
        return self.image_builder_construct.project if self.image_builder_construct else None

    @property
    def key(self) -> kms.IKey | None:
        """The key of the construct's data (None without one)."""
        return self.encryption.key if self.encryption else None

    @property
    def vpc_id(self) -> str | None:
        return self.network.vpc_id if self.network else None

    @property
    def subnet_ids(self) -> list[str] | None:
        """The subnets the jobs run in (None without a VPC)."""
        return self.network.subnet_ids if self.network else None

    @property
    def security_group(self) -> ec2.CfnSecurityGroup | None:
        """The jobs' security group (None without a VPC)."""
        return self.network.jobs_security_group if self.network else None

    def _refuse_clashes(self, stack: Stack) -> None:
        """Two constructs of one prefix in one app would make resources of one name; of one output
        prefix in one stack, outputs of one key: both fail only at deploy, so refuse them now."""
        for other in self.node.root.node.find_all():
            if other is self or not isinstance(other, ZenmlSageMaker):
                continue
            same_place = Stack.of(other) is stack or (
                (Stack.of(other).account, Stack.of(other).region) == (stack.account, stack.region)
            )
            if other.props.resource_prefix == self.props.resource_prefix and same_place:
                raise SettingsError(
                    f"invalid resource_prefix {self.props.resource_prefix!r} of {self.node.path}: "
                    f"{other.node.path} has it too, and their resources would get the same names; "
                    "give each ZenmlSageMaker its own resource_prefix"
                )
            if Stack.of(other) is stack and other.output_prefix == self.output_prefix:
                raise SettingsError(
                    f"invalid output_prefix {self.output_prefix!r} of {self.node.path}: {other.node.path} "
                    "has it too, and their outputs would get the same keys; give each its own id or "
                    "output_prefix"
                )

    @staticmethod
    def _check_key_region(stack: Stack, key: kms.IKey | None) -> None:
        """A key encrypts resources of its own region only (checked where both are known)."""
        if key is None:
            return
        region = key.env.region
        if Token.is_unresolved(region) or Token.is_unresolved(stack.region) or region == stack.region:
            return
        raise SettingsError(
            f"invalid key: it is in {region} but the stack deploys to {stack.region}, and a key can "
            "only encrypt resources of its own region; give a key of the stack's region or create_key=True"
        )

    def _log_group_names(self) -> list[str]:
        """The log groups the construct makes (encrypted with its key, if it has one)."""
        names = []
        if self.image_builder_construct is not None:
            names.append(config.codebuild_log_group(self.props.image_builder_project_name))
        if self.network is not None and self.network.flow_log_group is not None:
            names.append(self.props.flow_log_group_name)
        return names

    def _add_outputs(self, stack: Stack) -> None:
        """One output per row of `config.STACK_OUTPUTS` the construct has, plus all of them as one
        JSON object, in the stack (outputs live there) under this construct's output prefix.

        Only names and ARNs: the secret's value is never referenced here.
        """
        bucket = self.bucket
        values: dict[str, Any] = {
            "stack_name": stack.stack_name,
            "region": Aws.REGION,
            "account": Aws.ACCOUNT_ID,
            "resource_prefix": self.props.resource_prefix,
            "execution_role_arn": self.execution_role.role_arn,
            "bucket_name": bucket.bucket_name,
            "artifact_path": f"s3://{bucket.bucket_name}/{ARTIFACT_FOLDER}",
            "registry_uri": f"{Aws.ACCOUNT_ID}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}",
            "repository_name": self.repository.repository_name,
            "secret_arn": self.secret.secret_arn,
            "scheduler_role_arn": self.scheduler_role.role_arn,
            "retain_data": self.props.retain_data,
        }
        if self.image_builder_construct is not None:
            values["image_builder_project"] = self.image_builder_construct.project.project_name
        if self.network is not None:
            values["vpc_id"] = self.network.vpc_id
            values["subnet_ids"] = self.network.subnet_ids
            values["security_group_id"] = self.network.jobs_security_group.attr_group_id
            values["nat"] = self.props.nat
        if self.encryption is not None:
            values["kms_key_arn"] = self.encryption.key_arn
        if self.access_logs is not None and self.access_logs.owned:
            values["access_logs_bucket"] = self.access_logs.bucket.bucket_name
        for output in config.STACK_OUTPUTS:
            if output.field not in values:
                continue
            value = values[output.field]
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = Fn.join(",", value)
            self._output(stack, output.name, value, output.description)
        self._output(
            stack,
            OutputName.STACK_CONFIG_JSON,
            stack.to_json_string(values),
            "All of the above as one JSON object of StackConfig fields",
        )

    def _output(self, stack: Stack, name: str, value: str, description: str) -> None:
        key = config.output_key(self.output_prefix, name)
        where = f" ({self.node.path})" if self.output_prefix else ""
        CfnOutput(stack, key, value=value, description=description + where)


def _output_prefix(construct_id: str, props: ZenmlSageMakerProps) -> str:
    """The prop if given; else the id in letters and digits ('' for the default construct)."""
    if props.output_prefix is not None:
        return props.output_prefix
    if construct_id == config.DEFAULT_CONSTRUCT_ID:
        return ""
    prefix = _NOT_ALPHANUMERIC.sub("", construct_id)
    if not prefix or not prefix[0].isalpha():
        raise SettingsError(
            f"invalid construct id {construct_id!r}: its letters and digits start the construct's output "
            "keys, so it needs a letter first; choose another id or set output_prefix"
        )
    return prefix[:64]
