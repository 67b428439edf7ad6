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
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="module")
def deployed(root: Path) -> Iterator[Deployed]:
    with deployed_with_up(root, STACK) as stack:
        assert "base image" in stack.up_output
        yield stack


@pytest.fixture
def zenml_state(root: Path) -> list[Path]:
    """Every file of the ZenML server (its database) and of the client (deployed_with_up's folders)."""
    return [path for folder in ("zenml", "client") for path in (root / folder).rglob("*") if path.is_file()]


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


#: What a run printed before: botocore's discovery, ZenML asking a Docker for the parent's digest.
NOISE = ("Found credentials", "Found endpoint", "parent image digest", "Traceback", "without an expiration")


def _noise(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if any(n in line for n in NOISE)]


def test_a_run_prints_only_lines_that_help(deployed: Deployed) -> None:
    done, result = _pipeline(deployed, "requirement")  # builds nothing: the test before built it
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert result["status"] == "completed"
    assert _noise(done) == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("bad-setting", "volume_size_in_gb = 0"),
        ("bad-cron", "invalid cron expression '61 * * * *'"),
        ("secret-env", "environment variable SERVICE_API_TOKEN looks like a credential"),
    ],
)
def test_a_mistake_ends_the_run_with_one_message(deployed: Deployed, mode: str, message: str) -> None:
    done, _ = _pipeline(deployed, mode)
    assert done.returncode != 0
    assert _noise(done) == []
    assert "During handling of the above exception" not in done.stdout + done.stderr
    last = done.stderr.strip().splitlines()
    error = next(i for i, line in enumerate(last) if line.startswith("Error: "))
    assert message in "\n".join(last[error:]), done.stderr[-3000:]
    assert all(line.startswith(("Error: ", "  - ")) for line in last[error:]), done.stderr[-3000:]


def test_a_refused_credential_is_stored_nowhere_in_zenml(deployed: Deployed, zenml_state: list[Path]) -> None:
    from tests.e2e.orchestrator.e2e_image_pipelines import SECRET_VALUE

    assert zenml_state  # the server's database is there
    assert [path for path in zenml_state if SECRET_VALUE.encode() in path.read_bytes()] == []


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
