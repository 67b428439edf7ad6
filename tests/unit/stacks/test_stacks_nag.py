"""cdk-nag runs on every synth: zero unacknowledged findings, and a new finding stops synthesis."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from app import SageMakerStack, build_app

ACKNOWLEDGED = {
    "AwsSolutions-SMG4",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSageMakerFullAccess]",
    "AwsSolutions-IAM5[Resource::*]",
}
#: Without access_logs: the artifact bucket has no server access logs.
NO_ACCESS_LOGS_ACKNOWLEDGED = {"AwsSolutions-S1"}
#: With image_builder=codebuild and kms=none: no customer managed key on the project; the
#: build-context prefix as object scope (bucket findings are matched by their shape below).
IMAGE_BUILDER_ACKNOWLEDGED = {"AwsSolutions-CB4"}
#: With builds in the VPC (nat=true): the network interfaces CodeBuild makes for a build.
BUILDS_IN_VPC_ACKNOWLEDGED = {
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]"
}


def _report(outdir: Path) -> Any:
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    return report


def _violations(report: dict[str, Any]) -> dict[str, list[str]]:
    return {
        v["ruleName"]: [c["constructPath"] for c in v["violatingConstructs"]] for v in report["violations"]
    }


def _failing_synth(app: App, outdir: Path) -> dict[str, list[str]]:
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = _report(outdir)
    assert report["conclusion"] == "failure"
    return _violations(report)


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., tuple[App, SageMakerStack]]:
    def _build(**kwargs: Any) -> tuple[App, SageMakerStack]:
        return build_app({"resource_prefix": "nagtest"}, outdir=str(tmp_path), **kwargs)

    return _build


@pytest.mark.parametrize(
    "fixture", ["default_stack", "custom_stack", "private_stack", "nat_stack", "existing_stack"]
)
def test_synth_passes_with_every_finding_acknowledged_with_a_reason(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    synthesized = request.getfixturevalue(fixture)
    report = _report(synthesized.outdir)
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    settings = synthesized.stack.settings
    prefix = settings.resource_prefix
    suppressed = {v["ruleName"]: v for v in report["suppressedViolations"]}
    bucket_rules = {name for name in suppressed if name.startswith("AwsSolutions-IAM5[Resource::<")}
    assert {name.split(".Arn>", 1)[1] for name in bucket_rules} == (
        {"/*]", "/zenml/code-build-contexts/*]"} if settings.builds_images else {"/*]"}
    )
    assert set(suppressed) == {
        *ACKNOWLEDGED,
        *(NO_ACCESS_LOGS_ACKNOWLEDGED if not settings.access_logs else ()),
        *(IMAGE_BUILDER_ACKNOWLEDGED if settings.builds_images and not settings.encrypts else ()),
        *(BUILDS_IN_VPC_ACKNOWLEDGED if settings.builds_in_vpc else ()),
        *bucket_rules,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        f"pipeline/{prefix}-*]",
    }
    for name, violation in suppressed.items():
        assert len(violation["reason"]) > 60, f"{name} needs a written reason"


def test_dropping_the_acknowledgments_reports_each_finding_as_an_error(
    build: Callable[..., tuple[App, SageMakerStack]], tmp_path: Path
) -> None:
    app, stack = build(suppress_findings=False)
    violations = _failing_synth(app, tmp_path)
    assert set(violations) >= ACKNOWLEDGED | NO_ACCESS_LOGS_ACKNOWLEDGED | IMAGE_BUILDER_ACKNOWLEDGED
    assert violations["AwsSolutions-IAM5[Resource::*]"] == [
        f"{stack.zenml.node.path}/ExecutionRole/StackResourcesPolicy/Resource",
        f"{stack.zenml.node.path}/ImageBuilder/BuildPolicy/Resource",
    ]
    assert (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:pipeline/nagtest-*]"
        in violations
    )


def test_an_unsafe_bucket_added_to_the_stack_stops_synthesis(
    build: Callable[..., tuple[App, SageMakerStack]], tmp_path: Path
) -> None:
    app, stack = build()
    s3.Bucket(
        stack,
        "Leaky",
        block_public_access=s3.BlockPublicAccess(block_public_policy=False, restrict_public_buckets=False),
    )
    violations = _failing_synth(app, tmp_path)
    assert violations["AwsSolutions-S10"] == [f"{stack.stack_name}/Leaky/Resource"]
    assert violations["AwsSolutions-S1"] == [f"{stack.stack_name}/Leaky/Resource"]
    # The stack's own, acknowledged findings stay acknowledged.
    assert all("ArtifactStore" not in path for paths in violations.values() for path in paths)


def test_acknowledgments_do_not_cover_a_widened_scheduler_role(
    build: Callable[..., tuple[App, SageMakerStack]], tmp_path: Path
) -> None:
    """`Resource::*` is accepted for the execution role's registry login, not anywhere else."""
    app, stack = build()
    stack.zenml.scheduler_role.add_to_principal_policy(
        iam.PolicyStatement(actions=["iam:PassRole"], resources=["*"])
    )
    violations = _failing_synth(app, tmp_path)
    assert "AwsSolutions-IAM5[Resource::*]" in violations
    assert all("SchedulerRole" in path for path in violations["AwsSolutions-IAM5[Resource::*]"])
