"""cdk-nag: the AwsSolutions checks run on every synth, and every acknowledged finding with its reason.

cdk-nag 3 is a CDK policy-validation plugin: it runs when the app synthesizes, and a finding that
is not acknowledged (`Validations.of(construct).acknowledge(...)`) interrupts synthesis with a
report. An acknowledgment is a design decision, so each one here says why, is attached to one
construct, and names the exact finding (for IAM4/IAM5 the exact policy or resource, in brackets).

checkov (which scans the synthesized template; a test runs it) reads its accepted findings from
the template itself: `explain_checkov_findings` writes each, with its reason, into the resource's
`Metadata.checkov.skip`, so that anyone who scans the template sees why, not only our tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from sagemaker_stack import config

if TYPE_CHECKING:
    from sagemaker_stack_cdk.access_logs import AccessLogs
    from sagemaker_stack_cdk.artifact_store import ArtifactStore
    from sagemaker_stack_cdk.credentials import ZenmlCredentials
    from sagemaker_stack_cdk.execution_role import ExecutionRole
    from sagemaker_stack_cdk.image_builder import ImageBuilder
    from sagemaker_stack_cdk.image_registry import ImageRegistry
    from sagemaker_stack_cdk.network import Network
    from sagemaker_stack_cdk.props import ZenmlSageMakerProps
    from sagemaker_stack_cdk.scheduler_role import SchedulerRole


class Parts(Protocol):
    """What the findings are about: the parts of a `ZenmlSageMaker` (which imports this module)."""

    @property
    def props(self) -> ZenmlSageMakerProps: ...
    @property
    def execution_role_construct(self) -> ExecutionRole: ...
    @property
    def scheduler_role_construct(self) -> SchedulerRole: ...
    @property
    def artifact_store(self) -> ArtifactStore: ...
    @property
    def image_registry(self) -> ImageRegistry: ...
    @property
    def credentials(self) -> ZenmlCredentials: ...
    @property
    def image_builder_construct(self) -> ImageBuilder | None: ...
    @property
    def access_logs(self) -> AccessLogs | None: ...
    @property
    def network(self) -> Network | None: ...


#: How cdk-nag 3 prefixes the ids of its findings (the pack name).
PACK = "AwsSolutions"


def apply_checks(app: App) -> None:
    """Run the AwsSolutions pack on the whole app when it synthesizes."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))


def _acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _bucket_arn(stack: Stack, bucket: s3.IBucket) -> str:
    """The bucket's ARN as cdk-nag writes it in a finding: the stack's own bucket by reference."""
    child = bucket.node.default_child
    if child is None:  # an adopted bucket: its ARN is a literal name
        return f"arn:<AWS::Partition>:s3:::{bucket.bucket_name}"
    return f"<{stack.get_logical_id(child)}.Arn>"  # type: ignore[arg-type]


def _explain(construct: IConstruct, check: str, reason: str) -> None:
    """Add a checkov finding, and why it is accepted, to the resource's template metadata."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource)
    explained = resource.get_metadata("checkov") or {"skip": []}
    explained["skip"].append({"id": check, "comment": reason})
    resource.add_metadata("checkov", explained)


def suppress_findings(parts: Parts) -> None:
    """The accepted findings of one construct (`ZenmlSageMaker` calls this: they travel with it)."""
    explain_checkov_findings(parts)
    settings = parts.props
    bucket_arn = _bucket_arn(Stack.of(parts.artifact_store), parts.artifact_store.bucket)

    _acknowledge(
        parts.execution_role_construct.role,
        f"{PACK}::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSageMakerFullAccess]",
        "The design requires AmazonSageMakerFullAccess: SageMaker processing and training jobs need "
        "its CloudWatch Logs, networking and job permissions, which AWS keeps current as the service "
        "changes. Access to this stack's own bucket, repository and secret is in the scoped policy.",
    )
    _acknowledge(
        parts.execution_role_construct.policy,
        f"{PACK}::AwsSolutions-IAM5[Resource::{bucket_arn}/*]",
        "Object-level S3 actions are granted on the objects of this stack's bucket only: ZenML "
        "writes artifacts, logs and code archives under keys it chooses at run time.",
    )
    _acknowledge(
        parts.execution_role_construct.policy,
        f"{PACK}::AwsSolutions-IAM5[Resource::*]",
        "Only ecr:GetAuthorizationToken is on '*': it is a registry-wide login action that AWS "
        "grants on no narrower resource; image pull and push are scoped to this stack's repository.",
    )
    _acknowledge(
        parts.scheduler_role_construct.policy,
        f"{PACK}::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
        f"<AWS::AccountId>:pipeline/{settings.pipeline_name_prefix}*]",
        "EventBridge Scheduler may start only pipelines named with this stack's prefix: the "
        "orchestrator creates them later, so their names are unknown at deploy time and the prefix "
        "is the narrowest scope there is. The only action is sagemaker:StartPipelineExecution.",
    )
    if parts.image_builder_construct is not None:
        _suppress_image_builder_findings(
            parts.image_builder_construct, bucket_arn, encrypted=settings.encrypts
        )
    if settings.access_logs is False and parts.artifact_store.owned:
        _acknowledge(
            parts.artifact_store.bucket,
            f"{PACK}::AwsSolutions-S1",
            "Server access logs are off by default (access_logs=false): they need a second bucket "
            "that outlives the stack. Deploy with -c access_logs=true (or a bucket name) to turn "
            "them on; requests are also auditable with CloudTrail S3 data events.",
        )
    _acknowledge(
        parts.credentials.secret,
        f"{PACK}::AwsSolutions-SMG4",
        "The secret holds a ZenML server URL and API key that `sagemaker-stack register` writes; "
        "Secrets Manager has no rotation function for ZenML API keys (the ZenML server issues "
        "them), so a key is rotated by registering a new one.",
    )


def _suppress_image_builder_findings(builder: ImageBuilder, bucket_arn: str, *, encrypted: bool) -> None:
    """The image builder's accepted findings.

    Its privileged mode (Docker builds need it) is no finding to acknowledge: cdk-nag 3's packs
    have no rule on it. The construct's docstring says why it is on.
    """
    _acknowledge(
        builder.policy,
        f"{PACK}::AwsSolutions-IAM5[Resource::{bucket_arn}/{config.build_context_prefix()}*]",
        "CodeBuild reads its source from the build-context prefix only: ZenML's image builder "
        "and `sagemaker-stack image build` upload each build context under a key they choose "
        "per build, so the prefix is the narrowest scope there is. The actions are read only.",
    )
    in_vpc = builder.in_vpc
    _acknowledge(
        builder.policy,
        f"{PACK}::AwsSolutions-IAM5[Resource::*]",
        "Only ecr:GetAuthorizationToken is on '*': a build logs in to the registry with it "
        "(`aws ecr get-login-password`), and AWS grants it on no narrower resource; image pull "
        "and push are scoped to this stack's repository."
        + (
            " With builds in the VPC, so are the network interface actions CodeBuild's VPC "
            "documentation lists (EC2 scopes them to no resource); the one that hands an "
            "interface to CodeBuild is limited to the stack's subnets."
            if in_vpc
            else ""
        ),
    )
    if in_vpc:
        _acknowledge(
            builder.policy,
            f"{PACK}::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
            "ec2:CreateNetworkInterfacePermission on the interfaces CodeBuild makes for a build, whose "
            "ids exist only once it runs; conditions limit it to the stack's subnets and to "
            "codebuild.amazonaws.com, as CodeBuild's VPC documentation writes it.",
        )
    if not encrypted:
        _acknowledge(
            builder.project,
            f"{PACK}::AwsSolutions-CB4",
            "No customer managed key by default (kms=none; -c kms=create adds one to the whole "
            "stack): the project keeps no artifacts, the images it builds go to ECR, which "
            "encrypts them at rest, and its encryption key is the AWS managed alias/aws/s3.",
        )


_NO_KEY = (
    "No customer managed key by default (kms=none): AWS managed encryption at rest, no key policy "
    "to keep in step with every reader. Deploy with -c kms=create (or a key ARN) to encrypt it with one."
)


def explain_checkov_findings(parts: Parts) -> None:
    """The checkov findings one construct accepts, with their reasons (each only where it applies)."""
    settings = parts.props
    if parts.image_registry.owned:
        _explain(
            parts.image_registry.repository,
            "CKV_AWS_51",
            "Tags stay mutable: ZenML pushes every build of a pipeline under the same tag "
            "(<pipeline>-orchestrator), so immutable tags would fail every rebuild. Images are pulled "
            "by the tag the step's definition names, from a repository only the stack's roles may push to.",
        )
    if not settings.encrypts:
        if parts.image_registry.owned:
            _explain(parts.image_registry.repository, "CKV_AWS_136", _NO_KEY)
        _explain(parts.credentials.secret, "CKV_AWS_149", _NO_KEY)
        if parts.image_builder_construct is not None:
            _explain(parts.image_builder_construct.log_group, "CKV_AWS_158", _NO_KEY)
        if parts.network is not None and parts.network.flow_log_group is not None:
            _explain(parts.network.flow_log_group, "CKV_AWS_158", _NO_KEY)
    if settings.access_logs is False and parts.artifact_store.owned:
        _explain(
            parts.artifact_store.bucket,
            "CKV_AWS_18",
            "Server access logs are off by default (access_logs=false): they need a second bucket "
            "that outlives the stack. Deploy with -c access_logs=true (or a bucket name).",
        )
    if parts.access_logs is not None and parts.access_logs.owned:
        _explain(
            parts.access_logs.bucket,
            "CKV_AWS_18",
            "This is the access logs bucket: logging it into itself would log every log delivery, "
            "without end; it is private, TLS-only, versioned and kept when the stack goes.",
        )
    if parts.image_builder_construct is not None and parts.image_builder_construct.in_vpc:
        _explain(
            parts.image_builder_construct.policy,
            "CKV_AWS_111",
            "The network interface actions CodeBuild needs to put a build into the VPC (CodeBuild's "
            "VPC documentation): EC2 scopes them to no resource; the one that hands an interface "
            "to CodeBuild is limited to the stack's subnets.",
        )
