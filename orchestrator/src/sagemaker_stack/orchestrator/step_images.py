"""Which step images SageMaker can pull: ECR images in the job's own region, nothing else.

SageMaker processing and training jobs pull their image from Amazon ECR only (a Docker Hub name
such as `python:3.11-slim` is refused when the job starts), and from a repository in the job's
region. Checked here for every step before any AWS call, so that a pipeline that could never start
says so at once, naming each step and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sagemaker_stack import aws

_FIX: Final = (
    "let ZenML build it on the stack's image builder (no DockerSettings, or DockerSettings without "
    "skip_build), or push it to the stack's ECR repository and name that URI"
)


def image_problems(images: Mapping[str, str], region: str) -> list[str]:
    """One sentence per step whose image (ZenML step name -> image) SageMaker could not pull."""
    problems = []
    for step, image in sorted(images.items()):
        found = aws.ecr_image(image)
        if found is None:
            problems.append(
                f"step {step!r}: image {image!r} is not in Amazon ECR, and SageMaker pulls step images "
                f"from ECR only: {_FIX}"
            )
        elif found.region != region:
            problems.append(
                f"step {step!r}: image {image!r} is in ECR in {found.region}, but SageMaker "
                f"pulls images only from the job's own region ({region}): {_FIX}"
            )
    return problems
