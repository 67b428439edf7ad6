"""Any ZenML pipeline, unchanged, with no local Docker: images built on the stack's CodeBuild.

One emulator, one ZenML server and one stack deployed with `sagemaker-stack up` (which builds the
base image on the stack's CodeBuild project) for the module; then pipelines run as a user runs
them. The tests run in file order: the last one deletes an image.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.deployed import Deployed, deployed_with_up, run

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).with_name("e2e_image_pipelines.py")
STACK = "images-test"


def _builds(deployed: Deployed) -> list[dict[str, Any]]:
    codebuild = deployed.aws("codebuild")
    ids = codebuild.list_builds_for_project(projectName=deployed.config.image_builder_project)["ids"]
    return list(codebuild.batch_get_builds(ids=ids)["builds"]) if ids else []


def _pipelines(deployed: Deployed) -> set[str]:
    return {p["PipelineName"] for p in deployed.aws("sagemaker").list_pipelines()["PipelineSummaries"]}


def _pipeline(deployed: Deployed, mode: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = run(
        {**deployed.env, "SAGEMAKER_STACK_POLL_SECONDS": "1"},
        sys.executable,
        str(SCRIPT),
        mode,
        cwd=SCRIPT.parent,
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    try:
        result = json.loads(last)
    except ValueError:
        result = {}
    return done, result


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with deployed_with_up(tmp_path_factory.mktemp("images"), STACK) as stack:
        assert "base image" in stack.up_output
        yield stack


def test_up_built_the_base_image_on_the_stack_codebuild_project(deployed: Deployed) -> None:
    config = deployed.config
    assert config.image_builder_project and config.base_image
    assert config.base_image.startswith(f"{config.repository_uri}:sagemaker-stack-cpu-")
    tag = config.base_image.rsplit(":", 1)[1]
    ecr = deployed.aws("ecr")
    found = ecr.describe_images(repositoryName=config.repository_name, imageIds=[{"imageTag": tag}])
    assert found["imageDetails"][0]["imageDigest"].startswith("sha256:")
    assert [build["buildStatus"] for build in _builds(deployed)] == ["SUCCEEDED"]


def test_a_pipeline_with_no_docker_settings_builds_its_requirement_and_runs(deployed: Deployed) -> None:
    assert importlib.util.find_spec("pyjokes") is None  # only the built image has it
    done, result = _pipeline(deployed, "requirement")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert result["status"] == "completed"
    assert result["output"] == "pyjokes 0.8.3: "
    config = deployed.config
    images = deployed.aws("ecr").list_images(repositoryName=config.repository_name)["imageIds"]
    assert "image_requirement-orchestrator" in {image.get("imageTag") for image in images}
    builds = _builds(deployed)
    assert len(builds) == 2 and all(build["buildStatus"] == "SUCCEEDED" for build in builds)
    pipeline_build = max(builds, key=lambda build: build["startTime"])
    where = pipeline_build["logs"]
    events = deployed.aws("logs").get_log_events(
        logGroupName=where["groupName"], logStreamName=where["streamName"], startFromHead=True
    )["events"]
    log = "\n".join(event["message"] for event in events)
    assert "docker build" in log and "docker push" in log and "pyjokes" in log


def test_an_unchanged_second_run_builds_nothing(deployed: Deployed) -> None:
    before = len(_builds(deployed))
    done, result = _pipeline(deployed, "requirement")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert result["status"] == "completed"
    assert len(_builds(deployed)) == before


def test_an_image_outside_ecr_is_refused_before_any_call(deployed: Deployed) -> None:
    before = _pipelines(deployed)
    done, _ = _pipeline(deployed, "outside")
    assert done.returncode != 0
    assert "not in Amazon ECR" in done.stdout + done.stderr
    assert _pipelines(deployed) == before


def test_a_build_that_fails_fails_the_run_with_the_failing_line(deployed: Deployed) -> None:
    before = _pipelines(deployed)
    done, _ = _pipeline(deployed, "bad")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "failing command: docker build" in output
    assert "sagemaker-stack-no-such-package" in output
    assert _pipelines(deployed) == before  # no SageMaker call was made for it


def test_a_step_whose_image_is_gone_from_ecr_fails_with_sagemakers_reason(deployed: Deployed) -> None:
    config = deployed.config
    ecr = deployed.aws("ecr")
    images = ecr.list_images(repositoryName=config.repository_name)["imageIds"]
    ours = [image for image in images if image.get("imageTag") == "image_requirement-orchestrator"]
    digest = ours[0]["imageDigest"]
    ecr.batch_delete_image(repositoryName=config.repository_name, imageIds=[{"imageDigest": digest}])
    done, result = _pipeline(deployed, "requirement")  # ZenML reuses its build: the image is gone
    assert done.returncode != 0
    assert result.get("status") != "completed"
    sagemaker = deployed.aws("sagemaker")
    pipeline = next(name for name in _pipelines(deployed) if "image-requirement" in name)
    execution = sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"][0]
    arn = execution["PipelineExecutionArn"]
    assert (
        sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Failed"
    )
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    reason = steps[0]["FailureReason"]
    assert config.repository_name in reason and "image" in reason.lower()
