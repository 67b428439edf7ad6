"""ZenML image builder flavor `sagemaker_stack_codebuild`: ZenML's `aws` image builder, made to say why.

Cheap to import (ZenML imports flavors to list and validate them): the configuration is ZenML's
own `AWSImageBuilderConfig` (`code_build_project`, `build_image`, `compute_type`, ...), so a stack
that uses ZenML's `aws` flavor can switch to this one, and back, with the same settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from zenml.integrations.aws.flavors.aws_image_builder_flavor import AWSImageBuilderFlavor

from sagemaker_stack.flavor import PackageFlavor

if TYPE_CHECKING:
    from zenml.integrations.aws.image_builders import AWSImageBuilder

IMAGE_BUILDER_FLAVOR: Final = "sagemaker_stack_codebuild"
#: What `zenml image-builder flavor register` takes (and `register` stores in the ZenML server).
IMAGE_BUILDER_FLAVOR_SOURCE: Final = "sagemaker_stack.image_builder.flavor.CodeBuildImageBuilderFlavor"


class CodeBuildImageBuilderFlavor(PackageFlavor, AWSImageBuilderFlavor):
    """Builds step images on the stack's CodeBuild project; a failed build says which line failed."""

    @property
    def name(self) -> str:
        """The flavor name used in `zenml image-builder register -f`."""
        return IMAGE_BUILDER_FLAVOR

    @property
    def display_name(self) -> str:
        """Shown in the dashboard."""
        return "AWS CodeBuild (sagemaker-stack)"

    @property
    def implementation_class(self) -> type[AWSImageBuilder]:
        """Imported only here: the implementation pulls in boto3."""
        from sagemaker_stack.image_builder.codebuild import CodeBuildImageBuilder

        return CodeBuildImageBuilder
