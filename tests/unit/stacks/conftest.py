"""Synthesized stacks shared by the stack tests: synthesizing costs seconds, so do it once each.

Every app starts from the context in the repository's `cdk.json`, exactly what `cdk synth`
would hand `app.py`, with a test's overrides on top.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

REPO_ROOT = Path(__file__).resolve().parents[3]
# `app` is the repository's CDK app (app.py at the root, not an installed distribution); `cdk`
# runs it from there. Make it importable here the same way (a no-op when pytest's `pythonpath`
# setting already does it).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app import SageMakerStack, build_app  # noqa: E402

BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/TeamBoundary"
#: A stack that differs from the default in every setting.
CUSTOM_CONTEXT: Mapping[str, Any] = {
    "stack_name": "ml-team-stack",
    "resource_prefix": "mlteam",
    "retain_data": "false",
    "tags": json.dumps({"team": "ml", "cost-center": "42"}),
    "permissions_boundary_arn": BOUNDARY_ARN,
    "image_builder": "none",
}


@dataclass(frozen=True)
class Synthesized:
    stack: SageMakerStack
    template: Template
    outdir: Path

    @property
    def json(self) -> Any:
        return self.template.to_json()


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])


SynthFactory = Callable[..., Synthesized]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthFactory:
    """Build and synthesize an app from cdk.json's context plus `overrides`."""

    def _synth(overrides: Mapping[str, Any] | None = None, **build_kwargs: Any) -> Synthesized:
        outdir = tmp_path_factory.mktemp("cdk.out")
        context = {**cdk_json_context(), **(overrides or {})}
        _app, stack = build_app(context, outdir=str(outdir), **build_kwargs)
        return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir)

    return _synth


@pytest.fixture(scope="session")
def custom_context() -> Mapping[str, Any]:
    """Settings that differ from the defaults in every key (what `custom_stack` is built from)."""
    return CUSTOM_CONTEXT


@pytest.fixture(scope="session")
def default_stack(synth: SynthFactory) -> Iterator[Synthesized]:
    yield synth()


@pytest.fixture(scope="session")
def custom_stack(synth: SynthFactory) -> Iterator[Synthesized]:
    yield synth(CUSTOM_CONTEXT)


@pytest.fixture(scope="session")
def custom_builder_stack(synth: SynthFactory) -> Iterator[Synthesized]:
    """The custom stack with its image builder: tags and boundary must reach that too."""
    yield synth({**CUSTOM_CONTEXT, "image_builder": "codebuild"})


EXISTING_VPC = "vpc-0123456789abcdef0"
EXISTING_SUBNETS = ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")
EXISTING_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#: The private stack of the issue: its own VPC (no NAT), key and access logs bucket.
PRIVATE_CONTEXT: Mapping[str, Any] = {"vpc": "create", "kms": "create", "access_logs": "true"}
#: Its own VPC with a NAT gateway: the image builder runs in the VPC too.
NAT_CONTEXT: Mapping[str, Any] = {"vpc": "create", "nat": "true", "retain_data": "false"}
#: What a platform team hands over: a VPC, its subnets (with a NAT), a key and a logs bucket.
EXISTING_CONTEXT: Mapping[str, Any] = {
    "vpc": f"{EXISTING_VPC}:{','.join(EXISTING_SUBNETS)}",
    "nat": "true",
    "kms": EXISTING_KEY,
    "access_logs": "team-access-logs",
}


@pytest.fixture(scope="session")
def private_stack(synth: SynthFactory) -> Iterator[Synthesized]:
    yield synth(PRIVATE_CONTEXT)


@pytest.fixture(scope="session")
def nat_stack(synth: SynthFactory) -> Iterator[Synthesized]:
    yield synth(NAT_CONTEXT)


@pytest.fixture(scope="session")
def existing_stack(synth: SynthFactory) -> Iterator[Synthesized]:
    yield synth(EXISTING_CONTEXT)
