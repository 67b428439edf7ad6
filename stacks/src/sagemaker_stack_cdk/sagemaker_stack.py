"""The stack: composes the constructs of this package and emits the outputs the runtime reads.

Output names come from `sagemaker_stack.config` (a light, pydantic-only module of the runtime
package) so that a renamed output fails a unit test instead of a user's `sagemaker-stack export`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, CfnOutput, Fn, Stack, Tags
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagemaker_stack import config
from sagemaker_stack.config import ARTIFACT_FOLDER, OutputName
from sagemaker_stack_cdk.access_logs import AccessLogs
from sagemaker_stack_cdk.artifact_store import ArtifactStore
from sagemaker_stack_cdk.credentials import ZenmlCredentials
from sagemaker_stack_cdk.encryption import Encryption
from sagemaker_stack_cdk.execution_role import ExecutionRole
from sagemaker_stack_cdk.image_builder import ImageBuilder
from sagemaker_stack_cdk.image_registry import ImageRegistry
from sagemaker_stack_cdk.network import Network
from sagemaker_stack_cdk.scheduler_role import SchedulerRole
from sagemaker_stack_cdk.settings import Settings

#: Tag put on every resource so that a stack's resources can be found (and told apart) by tag.
STACK_TAG_KEY = "sagemaker-stack:stack"
#: CDK feature flags this stack needs whatever cdk.json says: S3 delivers server access logs to
#: a bucket with ACLs disabled (BucketOwnerEnforced, as all of ours) only through a bucket policy.
FEATURE_FLAGS: Mapping[str, bool] = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}


class SageMakerStack(Stack):
    """Everything ZenML needs to run pipelines on SageMaker Pipelines in one account and region.

    The stack is environment-agnostic: account and region are those of the credentials `cdk
    deploy` runs with, so the same template serves any account, region and the local emulator.
    """

    def __init__(self, scope: Construct, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            scope,
            settings.stack_name,
            description="ZenML on Amazon SageMaker Pipelines: execution role, artifact bucket, "
            "image repository, credentials secret, scheduler role and image builder (sagemaker-stack)",
            **kwargs,
        )
        for flag, enabled in FEATURE_FLAGS.items():
            self.node.set_context(flag, enabled)
        self.settings = settings
        self.encryption = Encryption(self, "Encryption", settings=settings) if settings.encrypts else None
        key = self.encryption.key if self.encryption else None
        self.network = Network(self, "Network", settings=settings, key=key) if settings.has_vpc else None
        # What the stack adopts instead of making (settings artifact_bucket / image_repository):
        # a bucket or repository it does not own, whose logging it cannot set either.
        adopted_bucket = (
            s3.Bucket.from_bucket_name(self, "AdoptedBucket", settings.artifact_bucket)
            if settings.artifact_bucket
            else None
        )
        adopted_repository = (
            ecr.Repository.from_repository_name(self, "AdoptedRepository", settings.image_repository)
            if settings.image_repository
            else None
        )
        self.access_logs = (
            AccessLogs(self, "AccessLogs", access_logs=settings.access_logs)
            if settings.access_logs and adopted_bucket is None
            else None
        )
        self.artifact_store = ArtifactStore(
            self,
            "ArtifactStore",
            bucket_name=settings.bucket_name(self.account, self.region),
            retain_data=settings.retain_data,
            key=key,
            logs_bucket=self.access_logs.bucket if self.access_logs else None,
            bucket=adopted_bucket,
        )
        self.image_registry = ImageRegistry(
            self,
            "ImageRegistry",
            repository_name=settings.repository_name,
            retain_data=settings.retain_data,
            key=key,
            repository=adopted_repository,
        )
        self.credentials = ZenmlCredentials(
            self, "ZenmlCredentials", secret_name=settings.secret_name, key=key
        )
        self.execution_role = ExecutionRole(
            self,
            "ExecutionRole",
            role_name=settings.execution_role_name(self.region),
            bucket=self.artifact_store.bucket,
            repository=self.image_registry.repository,
            secret=self.credentials.secret,
            images_pushed_by_builder=settings.builds_images,
            pipeline_name_prefix=settings.pipeline_name_prefix,
            encryption=self.encryption,
        )
        self.image_builder = (
            ImageBuilder(
                self,
                "ImageBuilder",
                project_name=settings.image_builder_project_name,
                role_name=settings.image_builder_role_name(self.region),
                bucket=self.artifact_store.bucket,
                repository=self.image_registry.repository,
                encryption=self.encryption,
                network=self.network,
            )
            if settings.builds_images
            else None
        )
        if self.encryption is not None:
            self.encryption.allow_log_groups(*self._log_group_names())
        self.scheduler_role = SchedulerRole(
            self,
            "SchedulerRole",
            role_name=settings.scheduler_role_name(self.region),
            pipeline_name_prefix=settings.pipeline_name_prefix,
        )
        if settings.permissions_boundary_arn:
            boundary = iam.ManagedPolicy.from_managed_policy_arn(
                self, "PermissionsBoundary", settings.permissions_boundary_arn
            )
            iam.PermissionsBoundary.of(self).apply(boundary)
        for tag, text in settings.tags.items():
            Tags.of(self).add(tag, text)
        Tags.of(self).add(STACK_TAG_KEY, self.stack_name)
        self._add_outputs()

    def _log_group_names(self) -> list[str]:
        """The log groups the stack makes (encrypted with its key, if it has one)."""
        names = []
        if self.image_builder is not None:
            names.append(config.codebuild_log_group(self.settings.image_builder_project_name))
        if self.network is not None and self.network.flow_log_group is not None:
            names.append(self.settings.flow_log_group_name)
        return names

    def _add_outputs(self) -> None:
        """One output per row of `config.STACK_OUTPUTS` the stack has, plus all of them as one JSON object.

        Only names and ARNs: the secret's value is never referenced here.
        """
        bucket = self.artifact_store.bucket
        values: dict[str, Any] = {
            "stack_name": self.stack_name,
            "region": Aws.REGION,
            "account": Aws.ACCOUNT_ID,
            "resource_prefix": self.settings.resource_prefix,
            "execution_role_arn": self.execution_role.role.role_arn,
            "bucket_name": bucket.bucket_name,
            "artifact_path": f"s3://{bucket.bucket_name}/{ARTIFACT_FOLDER}",
            "registry_uri": f"{Aws.ACCOUNT_ID}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}",
            "repository_name": self.image_registry.repository.repository_name,
            "secret_arn": self.credentials.secret.secret_arn,
            "scheduler_role_arn": self.scheduler_role.role.role_arn,
            "retain_data": self.settings.retain_data,
        }
        if self.image_builder is not None:
            values["image_builder_project"] = self.image_builder.project.project_name
        if self.network is not None:
            values["vpc_id"] = self.network.vpc_id
            values["subnet_ids"] = self.network.subnet_ids
            values["security_group_id"] = self.network.jobs_security_group.attr_group_id
            values["nat"] = self.settings.nat
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
            CfnOutput(self, output.name, value=value, description=output.description)
        CfnOutput(
            self,
            OutputName.STACK_CONFIG_JSON,
            value=self.to_json_string(values),
            description="All of the above as one JSON object of StackConfig fields",
        )
