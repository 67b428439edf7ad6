"""A platform team's own CDK app (examples/cdk_user_app) with two `ZenmlSageMaker` constructs.

What a CDK user relies on, done as they do it, from a folder outside the repository: a virtual
environment of their own with the library installed from the clone by path (the example's
requirements.txt), their app synthesized with no cfn-lint error and deployed with the real `cdk`
CLI (`bootstrap`, `deploy`, `destroy`) to the emulator; `sagemaker-stack export --construct`
gives each construct's own resources; a pipeline runs on one of them. Team B adopts a bucket and a
repository of the user's with content in them: after `cdk destroy` both are still there with
that content. The tests run in file order on one deployment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from sagemaker_stack.config import StackConfig
from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.target import EMULATOR_ACCOUNT
from sagemaker_stack.ops.zenml_server import LocalZenMLServer
from tests.support.deployed import REPO, client_of, run, user_env

EXAMPLE = REPO / "examples" / "cdk_user_app"
ROUND_TRIP = Path(__file__).with_name("round_trip_client.py")
STACK = "PlatformStack"
USER_BUCKET = "platform-team-b-own-artifacts"
USER_REPOSITORY = "platform/team-b-images"
USER_OBJECT = ("datasets/train.csv", b"x,y\n1,2\n")
USER_TAG = "v1"
_IMAGE_CONFIG = b"{}"
USER_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(_IMAGE_CONFIG),
            "digest": "sha256:" + hashlib.sha256(_IMAGE_CONFIG).hexdigest(),
        },
        "layers": [],
    }
)


@dataclass
class UserApp:
    """The user's app folder and virtual environment, the emulator and ZenML server they use."""

    app_dir: Path
    bin: Path
    env: dict[str, str]
    seen: dict[str, Any] = field(default_factory=dict)

    def aws(self, service: str) -> Any:
        return client_of(self.env, service)

    def do(self, tool: str, *args: str) -> str:
        """`tool args...` from the user's environment, in their app folder; its stdout."""
        done = run(self.env, str(self.bin / tool), *args, cwd=self.app_dir)
        assert done.returncode == 0, f"{tool} {args}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return str(done.stdout)

    def cdk(self, *args: str) -> str:
        context = ["-c", f"team_b_bucket={USER_BUCKET}", "-c", f"team_b_repository={USER_REPOSITORY}"]
        return self.do("cdk", *args, *context, "--no-notices", "--no-color")

    def export(self, construct: str) -> StackConfig:
        path = self.app_dir / f"{construct}.json"
        self.do(
            "sagemaker-stack",
            *("export", "--stack-name", STACK, "--construct", construct, "--output", str(path)),
        )
        return StackConfig.load(path)


def _install(venv: Path, requirements: Path) -> None:
    """A fresh virtual environment with the example's requirements, the clone's versions pinned."""
    uv = str(Path(sys.executable).parent / "uv")
    pins = venv.parent / "constraints.txt"
    exported = run({**_plain_env(), "UV_FROZEN": "1"}, uv, "export", "--no-hashes", "--no-emit-workspace")
    assert exported.returncode == 0, exported.stderr
    pins.write_text(exported.stdout)
    python = str(venv / "bin" / "python")
    for command in (
        [uv, "venv", "--quiet", str(venv)],
        [uv, "pip", "install", "--quiet", "--python", python, "-r", str(requirements), "-c", str(pins)],
    ):
        done = run({**_plain_env(), "SAGEMAKER_STACK_CLONE": str(REPO)}, *command, cwd=requirements.parent)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _plain_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserApp]:
    root = tmp_path_factory.mktemp("user-cdk-app")
    assert not root.is_relative_to(REPO)
    app_dir = root / "platform-app"
    shutil.copytree(EXAMPLE, app_dir, ignore=shutil.ignore_patterns("cdk.out", "__pycache__"))
    venv = root / "venv"
    _install(venv, app_dir / "requirements.txt")
    with Emulator(state_dir=root / "emulator") as emulator, LocalZenMLServer(root=root / "zenml") as server:
        env = user_env(emulator, server, root / "client")
        env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
        env.update({"VIRTUAL_ENV": str(venv), "CDK_DISABLE_VERSION_CHECK": "1"})
        env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
        yield UserApp(app_dir=app_dir, bin=venv / "bin", env=env)


def test_the_users_app_synthesizes_lint_clean_and_deploys(user: UserApp) -> None:
    # What the user had before: a bucket with data in it and a repository with an image.
    s3, ecr = user.aws("s3"), user.aws("ecr")
    s3.create_bucket(Bucket=USER_BUCKET)
    s3.put_object(Bucket=USER_BUCKET, Key=USER_OBJECT[0], Body=USER_OBJECT[1])
    ecr.create_repository(repositoryName=USER_REPOSITORY)
    pushed = ecr.put_image(repositoryName=USER_REPOSITORY, imageManifest=USER_MANIFEST, imageTag=USER_TAG)
    user.seen["digest"] = pushed["image"]["imageId"]["imageDigest"]

    user.cdk("synth", "--quiet")
    template = json.loads((user.app_dir / "cdk.out" / f"{STACK}.template.json").read_text())
    matches = lint(json.dumps(template), config=ManualArgs(regions=[user.env["AWS_REGION"]]))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id[0] == "E"] == []
    user.seen["template"] = template
    kinds = [resource["Type"] for resource in template["Resources"].values()]
    assert kinds.count("AWS::S3::Bucket") == 1 and kinds.count("AWS::ECR::Repository") == 1  # team A's only

    user.cdk("bootstrap", f"aws://{EMULATOR_ACCOUNT}/{user.env['AWS_REGION']}")
    user.cdk("deploy", STACK, "--require-approval", "never", "--method=direct")
    stack = user.aws("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_export_gives_each_construct_its_own_resources_and_a_pipeline_runs_on_one(user: UserApp) -> None:
    team_a, team_b = user.export("TeamA"), user.export("team-b")  # by construct id or resource prefix
    for field_name in ("bucket_name", "repository_name", "execution_role_arn", "secret_arn"):
        assert getattr(team_a, field_name) != getattr(team_b, field_name), field_name
    assert (team_b.bucket_name, team_b.repository_name) == (USER_BUCKET, USER_REPOSITORY)
    assert team_a.resource_prefix == "team-a" and team_b.resource_prefix == "team-b"
    # Team A is in the user's VPC and uses the user's key, both made by the user's app.
    pages = user.aws("cloudformation").get_paginator("list_stack_resources").paginate(StackName=STACK)
    physical = {
        (r["ResourceType"], r["LogicalResourceId"]): r["PhysicalResourceId"]
        for page in pages
        for r in page["StackResourceSummaries"]
    }
    mine = {r["Type"]: name for name, r in user.seen["template"]["Resources"].items()}  # its one VPC and key
    assert team_a.vpc_id == physical["AWS::EC2::VPC", mine["AWS::EC2::VPC"]]
    key_id = physical["AWS::KMS::Key", mine["AWS::KMS::Key"]]
    assert team_a.kms_key_arn and team_a.kms_key_arn.endswith(key_id)
    assert team_b.vpc_id is None and team_b.kms_key_arn is None

    config = str(user.app_dir / "TeamA.json")
    user.do("sagemaker-stack", "image", "build", "--config", config, "--app-dir", str(REPO))
    user.do("sagemaker-stack", "register", "--config", config, "--set")
    done = run(
        {**user.env, "SAGEMAKER_STACK_POLL_SECONDS": "1"},
        str(user.bin / "python"),
        str(ROUND_TRIP),
        "run",
        cwd=user.app_dir,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, done.stdout[-4000:] + done.stderr[-4000:]
    assert json.loads(lines[-1])["status"] == "completed"
    s3 = user.aws("s3")
    assert s3.list_objects_v2(Bucket=team_a.bucket_name)["KeyCount"] > 0  # the run's artifacts
    team_b_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=USER_BUCKET).get("Contents", [])]
    assert team_b_keys == [USER_OBJECT[0]]  # nothing of team A's run went to team B


def test_cdk_destroy_leaves_the_users_bucket_and_repository_and_their_content(user: UserApp) -> None:
    user.cdk("destroy", STACK, "--force")
    summaries = user.aws("cloudformation").list_stacks()["StackSummaries"]
    statuses = [s["StackStatus"] for s in summaries if s["StackName"] == STACK]
    assert statuses and set(statuses) == {"DELETE_COMPLETE"}  # the stack is gone

    s3, ecr = user.aws("s3"), user.aws("ecr")
    assert s3.get_object(Bucket=USER_BUCKET, Key=USER_OBJECT[0])["Body"].read() == USER_OBJECT[1]
    images = ecr.batch_get_image(repositoryName=USER_REPOSITORY, imageIds=[{"imageTag": USER_TAG}])["images"]
    assert [image["imageId"]["imageDigest"] for image in images] == [user.seen["digest"]]
    assert json.loads(images[0]["imageManifest"]) == json.loads(USER_MANIFEST)
