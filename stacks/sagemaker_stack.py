"""The stack: composes the constructs of this package and emits the outputs the runtime reads.

Output names come from `sagemaker_stack.config` (a light, pydantic-only module of the runtime
package) so that a renamed output fails a unit test instead of a user's `sagemaker-stack export`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Aws, CfnOutput, Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagemaker_stack.config import ARTIFACT_FOLDER, OutputName
from stacks import nag
from stacks.artifact_store import ArtifactStore
from stacks.credentials import ZenmlCredentials
from stacks.execution_role import ExecutionRole
from stacks.image_builder import ImageBuilder
from stacks.image_registry import ImageRegistry
from stacks.scheduler_role import SchedulerRole
from stacks.settings import Settings

#: Tag put on every resource so that a stack's resources can be found (and told apart) by tag.
STACK_TAG_KEY = "sagemaker-stack:stack"


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
        self.settings = settings
        self.artifact_store = ArtifactStore(
            self,
            "ArtifactStore",
            bucket_name=settings.bucket_name(self.account, self.region),
            retain_data=settings.retain_data,
        )
        self.image_registry = ImageRegistry(
            self, "ImageRegistry", repository_name=settings.repository_name, retain_data=settings.retain_data
        )
        self.credentials = ZenmlCredentials(self, "ZenmlCredentials", secret_name=settings.secret_name)
        self.execution_role = ExecutionRole(
            self,
            "ExecutionRole",
            role_name=settings.execution_role_name(self.region),
            bucket=self.artifact_store.bucket,
            repository=self.image_registry.repository,
            secret=self.credentials.secret,
            images_pushed_by_builder=settings.builds_images,
        )
        self.image_builder = (
            ImageBuilder(
                self,
                "ImageBuilder",
                project_name=settings.image_builder_project_name,
                role_name=settings.image_builder_role_name(self.region),
                bucket=self.artifact_store.bucket,
                repository=self.image_registry.repository,
            )
            if settings.builds_images
            else None
        )
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
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
        Tags.of(self).add(STACK_TAG_KEY, self.stack_name)
        self._add_outputs()

    def _add_outputs(self) -> None:
        """One output per StackConfig field the stack has, plus all of them as one JSON object.

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
        described = {
            OutputName.EXECUTION_ROLE_ARN: (
                "execution_role_arn",
                "Role SageMaker assumes for pipeline steps",
            ),
            OutputName.BUCKET_NAME: ("bucket_name", "Artifact bucket"),
            OutputName.ARTIFACT_PATH: ("artifact_path", "Path of ZenML's S3 artifact store"),
            OutputName.REGISTRY_URI: ("registry_uri", "ECR registry host (without the repository)"),
            OutputName.REPOSITORY_NAME: ("repository_name", "ECR repository for pipeline images"),
            OutputName.SECRET_ARN: ("secret_arn", "ARN of the ZenML credentials secret (never its value)"),
            OutputName.SCHEDULER_ROLE_ARN: ("scheduler_role_arn", "Role EventBridge Scheduler assumes"),
            OutputName.RESOURCE_PREFIX: ("resource_prefix", "Prefix of every resource name"),
            OutputName.RETAIN_DATA: ("retain_data", "Whether bucket and repository survive cdk destroy"),
            OutputName.REGION: ("region", "Region of the stack"),
            OutputName.ACCOUNT: ("account", "Account of the stack"),
            OutputName.IMAGE_BUILDER_PROJECT: (
                "image_builder_project",
                "CodeBuild project that builds step images (only with image_builder=codebuild)",
            ),
        }
        for output_name, (field, description) in described.items():
            if field not in values:
                continue
            value = values[field]
            if isinstance(value, bool):
                value = "true" if value else "false"
            CfnOutput(self, output_name, value=value, description=description)
        CfnOutput(
            self,
            OutputName.STACK_CONFIG_JSON,
            value=self.to_json_string(values),
            description="All of the above as one JSON object of StackConfig fields",
        )


def build_app(
    context: Mapping[str, Any] | None = None, *, suppress_findings: bool = True, **app_kwargs: Any
) -> tuple[App, SageMakerStack]:
    """The app with its one stack and the cdk-nag checks, from validated settings.

    `context=None` reads the context the cdk CLI hands the app; tests pass a dict instead.
    Raises `stacks.settings.SettingsError` (one line for the user) for a bad or unknown setting.
    `suppress_findings=False` leaves out nag.py's suppressions (tests use it to see the checks bite).
    """
    app = App(context=dict(context), **app_kwargs) if context is not None else App(**app_kwargs)
    settings = Settings.from_context(app.node.get_all_context())
    stack = SageMakerStack(app, settings)
    if suppress_findings:
        nag.suppress_findings(stack)
    nag.apply_checks(app)
    return app, stack
