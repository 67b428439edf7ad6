"""Helpers for the CodeBuild tests: a zipped source in S3, a project, a build waited for."""

from __future__ import annotations

import io
import secrets
import time
import zipfile
from typing import Any

from sagemaker_stack.local import Emulator

ROLE_ARN = "arn:aws:iam::123456789012:role/codebuild-test"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class Builds:
    """Projects and builds through boto3 against the emulator, as a client on AWS would."""

    def __init__(self, server: Emulator, bucket: str = "build-contexts") -> None:
        self.codebuild = server.client("codebuild")
        self.s3 = server.client("s3")
        self.logs = server.client("logs")
        self.bucket = bucket
        self._count = 0

    def upload(self, files: dict[str, str], key: str = "context/source.zip") -> str:
        """`bucket/key` of a zip of `files`, as StartBuild's sourceLocationOverride takes it."""
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=zipped(files))
        return f"{self.bucket}/{key}"

    def project(self, variables: dict[str, str] | None = None, **settings: Any) -> str:
        self._count += 1
        name = f"test-project-{self._count}"
        environment = {
            **ENVIRONMENT,
            "environmentVariables": [
                {"name": key, "value": value} for key, value in (variables or {}).items()
            ],
        }
        self.codebuild.create_project(
            name=name,
            source=settings.pop("source", {"type": "NO_SOURCE", "buildspec": "version: 0.2"}),
            artifacts={"type": "NO_ARTIFACTS"},
            environment=environment,
            serviceRole=ROLE_ARN,
            **settings,
        )
        return name

    def start(self, project: str, **overrides: Any) -> dict[str, Any]:
        return dict(self.codebuild.start_build(projectName=project, **overrides)["build"])

    def get(self, build_id: str) -> dict[str, Any]:
        return dict(self.codebuild.batch_get_builds(ids=[build_id])["builds"][0])

    def wait(self, build_id: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            build = self.get(build_id)
            if build["buildStatus"] != "IN_PROGRESS":
                return build
            time.sleep(0.2)
        raise AssertionError(f"build {build_id} did not end within {timeout} s")

    def run(self, project: str, **overrides: Any) -> dict[str, Any]:
        return self.wait(self.start(project, **overrides)["id"])

    def log(self, build: dict[str, Any]) -> list[str]:
        """The build's log lines, read from CloudWatch Logs under the names the build gives."""
        events = self.logs.get_log_events(
            logGroupName=build["logs"]["groupName"],
            logStreamName=build["logs"]["streamName"],
            startFromHead=True,
        )["events"]
        return [event["message"] for event in events]

    def wait_for_line(self, build_id: str, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.log(self.get(build_id))):
                return
            time.sleep(0.2)
        raise AssertionError(f"build {build_id} did not log {text!r} within {timeout} s")


def phases(build: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(phaseType, phaseStatus) in order; COMPLETED has no status."""
    return [(phase["phaseType"], phase.get("phaseStatus")) for phase in build["phases"]]


def phase(build: dict[str, Any], phase_type: str) -> dict[str, Any]:
    return next(item for item in build["phases"] if item["phaseType"] == phase_type)


def sleep_command(seconds: int) -> str:
    """A `sleep` of about `seconds` whose command line no other process has: `running` looks at
    every process on the machine, and another test suite beside this one runs the same tests
    (a fixed `sleep 417` of theirs read as one this build failed to kill)."""
    return f"sleep {seconds}.{secrets.randbelow(10**6):06d}"


def running(command_line: str) -> bool:
    """Whether a process with exactly this command line still runs (to see a build killed it all)."""
    import pathlib

    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b" ".join(part for part in arguments if part).decode(errors="replace") == command_line:
            return True
    return False
