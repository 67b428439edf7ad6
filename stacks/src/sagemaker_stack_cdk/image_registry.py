"""The ECR repository for the pipeline images ZenML builds (or that users push)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from constructs import Construct

#: Untagged images are leftovers of re-tagged builds; nothing refers to them after this long.
UNTAGGED_IMAGE_DAYS = 14

#: What pulling an image from the repository takes (ECR's own list for `docker pull`); the roles
#: grant these, and the push actions, one by one so the template says exactly what each may do.
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
#: What pushing takes on top of pulling (`docker push` checks layers with the pull actions).
PUSH_ACTIONS = ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage")
#: A registry login token: a registry-wide action that AWS grants only on "*".
LOGIN_ACTION = "ecr:GetAuthorizationToken"


class ImageRegistry(Construct):
    """Private repository with an explicit lowercase name, scan on push and a lifecycle rule.

    The name is explicit because the local emulator (moto) needs one and because ZenML's
    container registry points at `<registry>/<name>`. With `retain_data=false` the repository is
    removed with the stack even when it holds images, through ECR's own `EmptyOnDelete` property
    (no Lambda, so it works on the emulator too).

    Tags stay mutable: ZenML pushes every build of a pipeline as `<pipeline>-orchestrator` again
    (and the base image's tag is its content digest, pushed again only when it changed), so an
    immutable repository would fail every rebuild.

    With a `key` the images are encrypted with it (ECR creates its own grant on the key when the
    repository is made; pushing and pulling need no KMS permission). A repository's encryption is
    fixed when it is created: adding or changing `kms` on a deployed stack replaces it.

    Given an existing `repository` (a user's, or the one an earlier stack retained), the construct
    makes none and uses that one as it is, never changing, emptying or deleting it (`owned`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        retain_data: bool,
        key: kms.IKey | None = None,
        repository: ecr.IRepository | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.owned = repository is None
        if repository is not None:
            self.repository: ecr.IRepository = repository
            return
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.MUTABLE,
            encryption=ecr.RepositoryEncryption.KMS if key else None,
            encryption_key=key,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"Expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY,
            empty_on_delete=not retain_data,
        )
