"""Which step images SageMaker can pull: ECR images in the job's own region, nothing else.

SageMaker processing and training jobs pull their image from Amazon ECR only (a Docker Hub name
such as `python:3.11-slim` is refused when the job starts), and from a repository in the job's
region. Checked here for every step before any AWS call, so that a pipeline that could never start
says so at once, naming each step and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

_ECR_IMAGE: Final = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+)(:(?P<tag>[\w.-]{1,128})|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

_FIX: Final = (
    "let ZenML build it on the stack's image builder (no DockerSettings, or DockerSettings without "
    "skip_build), or push it to the stack's ECR repository and name that URI"
)


@dataclass(frozen=True)
class EcrImage:
    """An image reference in Amazon ECR, split as DescribeImages takes it."""

    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None


def ecr_image(image: str) -> EcrImage | None:
    """The parts of an ECR image reference (no tag means `latest`), None for any other registry."""
    found = _ECR_IMAGE.match(image)
    if found is None:
        return None
    tag, digest = found.group("tag"), found.group("digest")
    return EcrImage(
        account=found.group("account"),
        region=found.group("region"),
        repository=found.group("repository"),
        tag=tag or (None if digest else "latest"),
        digest=digest,
    )


def image_problems(images: Mapping[str, str], region: str) -> list[str]:
    """One sentence per step whose image (ZenML step name -> image) SageMaker could not pull."""
    problems = []
    for step, image in sorted(images.items()):
        found = _ECR_IMAGE.match(image)
        if found is None:
            problems.append(
                f"step {step!r}: image {image!r} is not in Amazon ECR, and SageMaker pulls step images "
                f"from ECR only: {_FIX}"
            )
        elif found.group("region") != region:
            problems.append(
                f"step {step!r}: image {image!r} is in ECR in {found.group('region')}, but SageMaker "
                f"pulls images only from the job's own region ({region}): {_FIX}"
            )
    return problems
