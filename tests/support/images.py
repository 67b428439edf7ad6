"""Step images for tests: built and pushed to the emulated ECR with the emulator's `docker` stand-in.

Every step the emulator runs needs an image in its ECR, as on AWS. `step_image(emulator)` gives
the URI of a minimal `FROM python:3.11-slim` image (the emulator's own Python), built once per
image store (later builds are the store's cache hits) and pushed again after a reset.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sagemaker_stack.local import Emulator

ACCOUNT = "123456789012"  # moto's account
MINIMAL_DOCKERFILE = "FROM python:3.11-slim\n"
STEP_REPOSITORY = "emulator-steps"
STEP_TAG = "python-3.11"


def registry(region: str = "us-east-1") -> str:
    return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com"


def docker(
    emulator: Emulator, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the emulator's docker stand-in as a CodeBuild build would (output captured, not checked)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(emulator.env())
    environment["EMULATOR_IMAGE_STORE"] = str(emulator.image_store)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sagemaker_stack.local.images.docker_cli", *args],
        input=stdin,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def checked(result: subprocess.CompletedProcess[str]) -> str:
    if result.returncode != 0:
        raise AssertionError(
            f"docker {result.args[3:]} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def login(emulator: Emulator) -> None:
    """`aws ecr get-login-password | docker login --username AWS --password-stdin <registry>`."""
    token = emulator.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().split(":", 1)[1]
    checked(docker(emulator, "login", "--username", "AWS", "--password-stdin", registry(), stdin=password))


def build_and_push(
    emulator: Emulator,
    context: Path,
    repository: str,
    tag: str,
    dockerfile: str | None = None,
    build_args: dict[str, str] | None = None,
) -> str:
    """Build `context` (writing `dockerfile` into it if given), push it, return the image URI."""
    if dockerfile is not None:
        context.mkdir(parents=True, exist_ok=True)
        (context / "Dockerfile").write_text(dockerfile)
    ecr: Any = emulator.client("ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    uri = f"{registry(emulator.region)}/{repository}:{tag}"
    options = [
        item for key, value in (build_args or {}).items() for item in ("--build-arg", f"{key}={value}")
    ]
    checked(docker(emulator, "build", "-t", uri, *options, str(context)))
    login(emulator)
    checked(docker(emulator, "push", uri))
    return uri


def step_image(emulator: Emulator) -> str:
    """The minimal step image's URI, in the emulated ECR now."""
    context = emulator.state_dir / "test-contexts" / "minimal"
    return build_and_push(emulator, context, STEP_REPOSITORY, STEP_TAG, MINIMAL_DOCKERFILE)


STEP_IMAGE = f"{registry()}/{STEP_REPOSITORY}:{STEP_TAG}"
