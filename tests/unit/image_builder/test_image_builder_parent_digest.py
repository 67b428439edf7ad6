"""A build's checksum holds its ECR parent image's digest, read from ECR: no local Docker needed.

ZenML asked a local Docker for the parent's digest; with none it warned "Unable to fetch parent
image digest" on every run and left the digest out, so a new push of the parent could go unseen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from zenml.config import DockerSettings
from zenml.config.build_configuration import BuildConfiguration

from sagemaker_stack import aws
from sagemaker_stack.image_builder.parent_digest import EcrParentBuild, ecr_digest

REGION = "us-east-1"
REPOSITORY = "zenml-sagemaker-zenml"
PARENT = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:base"
#: What ZenML's checksum reads of a stack (no stack requirements, a container registry).
STACK: Any = SimpleNamespace(requirements=lambda **_: set(), container_registry=object(), name="s")


@pytest.fixture
def ecr(no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws._session.cache_clear()
    with mock_aws():
        client = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName=REPOSITORY)
        yield client
    aws._session.cache_clear()


def _push(ecr: Any, layer: str) -> str:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": layer},
        "layers": [{"digest": layer, "size": 1}],  # moto's digest is of the layers
    }
    image = ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag="base")
    return str(image["image"]["imageId"]["imageDigest"])


def _build(parent: str) -> EcrParentBuild:
    plain = BuildConfiguration(key="orchestrator", settings=DockerSettings(parent_image=parent))
    return EcrParentBuild.of(plain, endpoint_url=None)


def test_the_digest_comes_from_ecr(ecr: Any) -> None:
    digest = _push(ecr, "sha256:" + "1" * 64)
    assert ecr_digest(PARENT) == digest
    pinned = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}@sha256:{'2' * 64}"
    assert ecr_digest(pinned) == "sha256:" + "2" * 64
    assert ecr_digest("python:3.11-slim") is None


def test_a_new_push_of_the_parent_is_a_new_checksum_and_nothing_is_warned(
    ecr: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _push(ecr, "sha256:" + "1" * 64)
    first = _build(PARENT).compute_settings_checksum(STACK)
    assert _build(PARENT).compute_settings_checksum(STACK) == first
    _push(ecr, "sha256:" + "3" * 64)
    assert _build(PARENT).compute_settings_checksum(STACK) != first
    assert not [record for record in caplog.records if "parent image digest" in record.getMessage()]
