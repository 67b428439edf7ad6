"""Step images: built on the stack's base image unless a pipeline names its own, and refused
before any AWS call when SageMaker could not pull them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from zenml.config import DockerSettings
from zenml.config.build_configuration import BuildConfiguration

from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from sagemaker_stack.orchestrator.spec import InvalidPipelineError
from sagemaker_stack.orchestrator.step_images import image_problems
from tests.support.runtime_fakes import diamond, environments, fake_snapshot, make_config

BASE = (
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml-sagemaker-zenml:sagemaker-stack-cpu-0123456789abcdef"
)
DIGEST = "sha256:" + "a" * 64


def test_ecr_images_of_the_job_region_pass() -> None:
    images = {
        "tagged": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag",
        "pinned": f"210987654321.dkr.ecr.us-east-1.amazonaws.com/team/repo@{DIGEST}",
    }
    assert image_problems(images, "us-east-1") == []


def test_images_sagemaker_cannot_pull_are_named_with_what_to_do() -> None:
    problems = image_problems(
        {
            "docker_hub": "python:3.11-slim",
            "other_region": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag",
        },
        "us-east-1",
    )
    assert len(problems) == 2
    hub, region = problems
    assert "step 'docker_hub'" in hub and "not in Amazon ECR" in hub and "skip_build" in hub
    assert "step 'other_region'" in region and "eu-west-1" in region and "us-east-1" in region


def test_an_image_outside_ecr_is_refused_before_any_call(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)  # no responses: any call would fail the test
    monkeypatch.setattr(orchestrator_module.SagemakerPipelinesOrchestrator, "_client", lambda self, s: client)
    orchestrator = make_orchestrator()
    monkeypatch.setattr(orchestrator, "get_image", lambda snapshot, step_name=None: "python:3.11-slim")
    snapshot = fake_snapshot(diamond())
    with stubber, pytest.raises(InvalidPipelineError) as caught:
        orchestrator.submit_pipeline(
            snapshot=snapshot,
            stack=None,
            base_environment={},
            step_environments=environments(snapshot),
            placeholder_run=None,
        )
    message = str(caught.value)
    assert all(f"step {name!r}" in message for name in diamond())
    assert "not in Amazon ECR" in message


def _builds(orchestrator: Any, pipeline: DockerSettings, steps: dict[str, DockerSettings]) -> list[Any]:
    snapshot = fake_snapshot({name: [] for name in steps})
    snapshot.pipeline_configuration.docker_settings = pipeline
    for name, settings in steps.items():
        snapshot.step_configurations[name].config.docker_settings = settings
    return list(orchestrator.get_docker_builds(snapshot))


def test_builds_without_a_parent_image_build_on_the_stack_base_image(make_orchestrator: Any) -> None:
    orchestrator = make_orchestrator(make_config(base_image=BASE))
    plain = DockerSettings(requirements=["pyjokes"])
    own = DockerSettings(parent_image="123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    builds = _builds(orchestrator, plain, {"a": plain, "b": own})
    assert all(isinstance(build, BuildConfiguration) for build in builds)
    parents = {build.step_name: build.settings.parent_image for build in builds}
    assert parents == {None: BASE, "b": own.parent_image}
    assert all(build.settings.requirements == ["pyjokes"] for build in builds if build.step_name is None)


def test_a_dockerfile_of_its_own_is_left_alone(make_orchestrator: Any, tmp_path: Any) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\n")
    own = DockerSettings(dockerfile=str(dockerfile))
    builds = _builds(make_orchestrator(make_config(base_image=BASE)), own, {"a": own})
    assert [build.settings.parent_image for build in builds] == [None]


def test_a_build_with_no_base_image_and_no_parent_is_refused(make_orchestrator: Any) -> None:
    plain = DockerSettings()
    with pytest.raises(InvalidPipelineError, match="sagemaker-stack image build"):
        _builds(make_orchestrator(make_config()), plain, {"a": plain})
