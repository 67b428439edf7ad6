"""ZenML's `AWSImageBuilder`, with the failing lines of a failed build, the registry's region and
the privileged mode Docker needs.

ZenML's builder (zenml.integrations.aws.image_builders) uploads the build context, starts the
build on the configured CodeBuild project and polls it; when the build fails it raises "The Code
Build run to build the Docker image has failed" with a console link. Here the same build runs, and
on failure the error also holds the failed phase, the failing command and its last output lines,
read back with `build_log` from the log the build wrote. CodeBuild is called in the region of the
container registry the image is pushed to (the stack's region), not the client's default region,
and with privileged mode, which Docker needs in CodeBuild's images (ZenML turns it off). With a
linked AWS service connector its credentials make these calls too, as they do ZenML's. Two runs
that build one image at once both upload its context: the second copy no longer fails them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zenml.integrations.aws.image_builders.aws_image_builder import AWSImageBuilder
from zenml.utils.archivable import ArchiveType

from sagemaker_stack import aws
from sagemaker_stack.content_uploads import once_more_if_raced
from sagemaker_stack.image_builder import build_log
from sagemaker_stack.service_connector import connector_session

if TYPE_CHECKING:
    from zenml.config.docker_settings import DockerBuildOptions
    from zenml.container_registries import BaseContainerRegistry
    from zenml.image_builders import BuildContext


class _RecordingClient:
    """A CodeBuild client that remembers the builds it started (ZenML's builder keeps no handle)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.started: list[dict[str, Any]] = []

    def start_build(self, **request: Any) -> Any:
        # ZenML asks for privilegedModeOverride=False, but Docker in CodeBuild's own images needs
        # privileged mode (the stack's project has it): without it no `docker build` can run.
        request["privilegedModeOverride"] = True
        response = self._client.start_build(**request)
        self.started.append(response["build"])
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class CodeBuildImageBuilder(AWSImageBuilder):
    """Builds and pushes an image on CodeBuild; a failed build's error names what failed."""

    def build(
        self,
        image_name: str,
        build_context: BuildContext,
        docker_build_options: DockerBuildOptions | None = None,
        container_registry: BaseContainerRegistry | None = None,
    ) -> str:
        """ZenML's build, in the registry's region, with the failing lines on failure."""
        region = _registry_region(container_registry)
        session = connector_session(self)
        client = _RecordingClient(
            aws.client("codebuild", region=region, session=session) if region else self.code_build_client
        )
        self._code_build_client = client
        try:
            return super().build(image_name, build_context, docker_build_options, container_registry)
        except RuntimeError as error:
            if not client.started:
                raise
            build_id = str(client.started[-1]["id"])
            build = client.batch_get_builds(ids=[build_id])["builds"][0]
            lines = list(build_log.log_events(aws.client("logs", region=region, session=session), build))
            raise RuntimeError(f"{error}\n{build_log.failure_summary(build, lines)}") from None
        finally:
            self._code_build_client = None

    @staticmethod
    def _upload_build_context(
        build_context: BuildContext,
        parent_path_directory_name: str,
        archive_type: ArchiveType = ArchiveType.TAR_GZ,
    ) -> str:
        """ZenML's upload of the context (named after its hash), safe for two runs at once."""
        return once_more_if_raced(
            lambda: AWSImageBuilder._upload_build_context(
                build_context, parent_path_directory_name, archive_type
            )
        )


def _registry_region(container_registry: BaseContainerRegistry | None) -> str | None:
    """The region of an ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`), else None."""
    if container_registry is None:
        return None
    host = str(container_registry.config.uri).split("/", 1)[0]
    parts = host.split(".")
    if len(parts) >= 6 and parts[1:3] == ["dkr", "ecr"]:
        return parts[3]
    return None
