"""The image a SageMaker job names, found as SageMaker finds it: in ECR, or the job fails.

SageMaker runs processing and training jobs only from Amazon ECR images in the job's region. A
name outside ECR or in another region is rejected when the job is created; a repository or tag
that ECR does not hold fails the job when the image is pulled. The failure reasons below are the
ones SageMaker gives. A found image's manifest names its config digest, the id of the image in
the emulator's image store: that image's Python environment is what the job runs in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sagemaker_stack.local.images.reference import ReferenceError, parse_reference
from sagemaker_stack.local.images.registry import config_digest
from sagemaker_stack.local.images.store import Image, ImageStore, StoreError


class RepositoryMissing(LookupError):
    """ECR has no such repository."""


#: (account, region, repository, tag or digest) -> the manifest ECR holds, or None if it holds none.
ManifestLookup = Callable[[str, str, str, str], str | None]


@dataclass(frozen=True)
class ImagePullError(Exception):
    reason: str  # the job's / step's FailureReason
    job_created: bool  # False: SageMaker refuses the job at creation, so no job exists


def pull(
    step_type: str, uri: str, *, role: str, region: str, lookup: ManifestLookup, store: ImageStore
) -> Image:
    """The image a job of `step_type` ("Processing"/"Training") runs, or ImagePullError."""
    training = step_type == "Training"
    invalid = (
        "ClientError: Invalid training image. Please provide a valid Amazon Elastic Container Registry "
        "path of the Docker image to run."
        if training
        else f"ClientError: Invalid image URI {uri}. Please provide a valid Amazon Elastic Container "
        "Registry path of the Docker image to run"
    )
    try:
        reference = parse_reference(uri)
    except ReferenceError:
        raise ImagePullError(invalid, job_created=False) from None
    if reference.ecr is None:
        raise ImagePullError(invalid, job_created=False)
    account, image_region = reference.ecr
    if image_region != region:
        raise ImagePullError(
            f"ClientError: Invalid region {image_region} in image URI {uri}. Please provide an image URI "
            f"in region {region}.",
            job_created=False,
        )
    try:
        found = lookup(account, region, reference.repository, reference.digest or reference.tag or "latest")
    except RepositoryMissing:
        if training:
            raise ImagePullError(
                f"ClientError: Cannot find repository: {reference.repository} in registry ID: {account} "
                f"Please check if your ECR repository exists and role {role} has proper pull permissions "
                "for SageMaker: ecr:BatchCheckLayerAvailability, ecr:BatchGetImage, "
                "ecr:GetDownloadUrlForLayer",
                job_created=False,
            ) from None
        raise ImagePullError(
            f"ClientError: API error (404): repository {reference.registry}/{reference.repository} not "
            f"found: name unknown: The repository with name '{reference.repository}' does not exist in the "
            f"registry with id '{account}'",
            job_created=True,
        ) from None
    if found is None:
        raise ImagePullError(
            "ClientError: Cannot pull algorithm container. Either the image does not exist or its "
            "permissions are incorrect."
            if training
            else f"ClientError: API error (404): manifest for {uri} not found: manifest unknown: "
            "Requested image not found",
            job_created=True,
        )
    try:
        return store.image(config_digest(found))
    except (StoreError, KeyError, ValueError):
        raise ImagePullError(
            f"ClientError: the emulator cannot run {uri}: ECR holds it, but its config is not in the "
            f"emulator's image store {store.root} (push images with the emulator's docker)",
            job_created=True,
        ) from None
