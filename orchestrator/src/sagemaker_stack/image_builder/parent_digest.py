"""ZenML's build checksum with the parent image's digest read from ECR, not from a local Docker.

ZenML adds the parent image's repository digest to a build's checksum
(`BuildConfiguration.compute_settings_checksum`, zenml/config/build_configuration.py), so that a
new push of the parent makes a new build instead of reusing an old one. It asks the local
container engine (Docker or Podman) for that digest; this product needs neither, so every run
warned "Unable to fetch parent image digest ..." (once per build to prepare) and left the digest
out of the checksum: a build could then be reused over a changed parent image.

For a parent image in ECR (the stack's base image always is) the digest is one DescribeImages
call away, made with the credentials and endpoint of every other call: the same answer as
Docker's, without Docker, on AWS and in the emulator alike. The checksum is then ZenML's own for
the settings without the parent, plus the parent's reference and digest. Parent images elsewhere,
or a digest ECR does not give (no permission, no such image), keep ZenML's behaviour and warning.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError
from pydantic import PrivateAttr
from zenml.config.build_configuration import BuildConfiguration

from sagemaker_stack import aws

if TYPE_CHECKING:
    from zenml.code_repositories import BaseCodeRepository
    from zenml.stack import Stack


def ecr_digest(image: str, endpoint_url: str | None = None, session: Any = None) -> str | None:
    """The manifest digest (`sha256:...`) ECR holds for `image`, None when ECR cannot say.

    `session`: a linked service connector's boto3 session (None: boto3's default chain).
    """
    location = aws.ecr_image(image)
    if location is None:
        return None
    if location.digest:
        return location.digest
    ecr = aws.client("ecr", region=location.region, endpoint_url=endpoint_url, session=session)
    try:
        found = ecr.describe_images(
            registryId=location.account,
            repositoryName=location.repository,
            imageIds=[{"imageTag": location.tag}],
        )
    except (aws.ClientError, BotoCoreError):
        return None
    details = found.get("imageDetails") or [{}]
    digest = details[0].get("imageDigest")
    return str(digest) if digest else None


class EcrParentBuild(BuildConfiguration):
    """A ZenML build whose checksum includes its ECR parent image's digest, read from ECR."""

    _endpoint_url: str | None = PrivateAttr(default=None)
    _session: Any = PrivateAttr(default=None)

    @classmethod
    def of(cls, build: BuildConfiguration, endpoint_url: str | None, session: Any = None) -> EcrParentBuild:
        """`build` (any BuildConfiguration) with ECR as the source of its parent's digest.

        `session`: the boto3 session of the component's linked service connector, if any.
        """
        made = cls(**dict(build))
        made._endpoint_url = endpoint_url
        made._session = session
        return made

    def compute_settings_checksum(
        self, stack: Stack, code_repository: BaseCodeRepository | None = None
    ) -> str:
        """ZenML's checksum, with the parent image's digest from ECR instead of a local engine."""
        parent = self.settings.parent_image
        digest = (
            ecr_digest(parent, self._endpoint_url, self._session)
            if parent and not self.settings.skip_build
            else None
        )
        if parent is None or digest is None:
            return super().compute_settings_checksum(stack, code_repository)
        without_parent: Any = self.model_copy(
            update={"settings": self.settings.model_copy(update={"parent_image": None})}
        )
        checksum = hashlib.md5(usedforsecurity=False)
        checksum.update(without_parent.compute_settings_checksum(stack, code_repository).encode())
        checksum.update(parent.encode())
        checksum.update(digest.encode())
        return checksum.hexdigest()
