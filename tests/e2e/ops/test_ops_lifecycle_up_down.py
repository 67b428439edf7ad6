"""`sagemaker-stack up` then `down` against the emulator and a real ZenML server.

What a user relies on: one command leaves a deployed, registered stack; the other leaves no AWS
resource and no ZenML component behind. Both run as the user would run them (the CLI, the real
`cdk` CLI), only the endpoint differs from AWS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import boto3
import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.zenml_server import LocalZenMLServer
from tests.support.deployed import user_env
from tests.support.images import MINIMAL_DOCKERFILE, build_and_push

REPO = Path(__file__).resolve().parents[3]
STACK = "lifecycle-test"

#: Prints the ZenML stacks and components this client can see, as JSON.
_ZENML_INVENTORY = """
import json
from zenml.client import Client
c = Client()
print(json.dumps({
    "stacks": sorted(s.name for s in c.list_stacks(size=100).items),
    "components": sorted(f"{x.type.value}:{x.name}" for x in c.list_stack_components(size=100).items),
    "active": c.active_stack_model.name,
}))
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(state_dir=tmp_path_factory.mktemp("lifecycle-emulator")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def env(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("lifecycle")
    with LocalZenMLServer(root=root / "zenml") as server:
        yield user_env(emulator, server, root / "client")


def _cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "sagemaker-stack"), *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _inventory(env: Mapping[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _ZENML_INVENTORY], env=dict(env), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _aws(env: Mapping[str, str], service: str) -> object:
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _assert_only_our_lines(output: str) -> None:
    """ZenML's and botocore's info lines (which repeat ours) are not in what up and down print."""
    for chatter in ("Found credentials", "Deregistered stack", "Registered stack"):
        assert chatter not in output, output


def test_up_then_down_leaves_nothing_behind(env: dict[str, str], emulator: Emulator, tmp_path: Path) -> None:
    config_path = tmp_path / "stack.json"
    before = _inventory(env)

    up = _cli(
        env,
        "up",
        "--config",
        str(config_path),
        "--stack-name",
        STACK,
        "-c",
        "resource_prefix=lc-test",
        "-c",
        "retain_data=false",
    )
    assert up.returncode == 0, up.stdout + up.stderr
    assert "cdk deploy" in up.stdout and "register with ZenML" in up.stdout
    _assert_only_our_lines(up.stdout + up.stderr)
    config = StackConfig.load(config_path)
    assert config.stack_name == STACK and config.endpoint_url == env["AWS_ENDPOINT_URL"]
    assert oct(config_path.stat().st_mode & 0o777) == "0o600"

    # The stack really exists, and register put the ZenML server's URL (not a placeholder) in the secret.
    s3, ecr, secrets = _aws(env, "s3"), _aws(env, "ecr"), _aws(env, "secretsmanager")
    s3.head_bucket(Bucket=config.bucket_name)  # type: ignore[attr-defined]
    ecr.describe_repositories(repositoryNames=[config.repository_name])  # type: ignore[attr-defined]
    secret = json.loads(secrets.get_secret_value(SecretId=config.secret_arn)["SecretString"])  # type: ignore[attr-defined]
    assert secret["server_url"] == env["ZENML_STORE_URL"]
    assert secret["api_key"].startswith("ZENKEY_") and secret["api_key"] not in config_path.read_text()

    registered = _inventory(env)
    assert STACK in registered["stacks"]  # type: ignore[operator]
    assert registered["active"] == STACK
    assert len(registered["components"]) > len(before["components"])  # type: ignore[arg-type]

    # Something in the bucket, as a pipeline run would leave: `down` must still remove it all.
    s3.put_object(Bucket=config.bucket_name, Key="zenml/some-artifact", Body=b"data")  # type: ignore[attr-defined]

    # A schedule in the stack's group, as a scheduled ZenML pipeline leaves: `down` removes it.
    scheduler = _aws(env, "scheduler")
    pipeline_arn = (
        f"arn:aws:sagemaker:{config.region}:{config.account}:pipeline/{config.pipeline_name_prefix}p"
    )
    scheduler.create_schedule_group(Name=config.schedule_group_name)  # type: ignore[attr-defined]
    scheduler.create_schedule(  # type: ignore[attr-defined]
        Name="nightly",
        GroupName=config.schedule_group_name,
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": pipeline_arn,
            "RoleArn": str(config.scheduler_role_arn),
        },
    )

    # A run still executing: `down` refuses (and changes nothing) unless forced.
    sagemaker = _aws(env, "sagemaker")
    # A step image in the stack's own repository, as the stack's image builder would push it.
    context = emulator.state_dir / "test-contexts" / "minimal"
    image = build_and_push(emulator, context, config.repository_name, "step", MINIMAL_DOCKERFILE)
    execution_arn = _start_long_execution(sagemaker, config, image)
    refused = _cli(env, "down", "--config", str(config_path))
    assert refused.returncode != 0
    assert "still executing" in refused.stderr and execution_arn in refused.stderr
    assert config_path.exists() and STACK in _inventory(env)["stacks"]  # type: ignore[operator]
    sagemaker.stop_pipeline_execution(PipelineExecutionArn=execution_arn)  # type: ignore[attr-defined]

    down = _cli(env, "down", "--config", str(config_path))
    assert down.returncode == 0, down.stdout + down.stderr
    assert not config_path.exists()

    groups = scheduler.list_schedule_groups()["ScheduleGroups"]  # type: ignore[attr-defined]
    assert config.schedule_group_name not in [g["Name"] for g in groups]
    assert "deleted 1 schedule(s)" in down.stdout
    _assert_only_our_lines(down.stdout + down.stderr)

    after = _inventory(env)
    assert after["stacks"] == before["stacks"]
    assert after["components"] == before["components"]
    cloudformation = _aws(env, "cloudformation")
    live = [
        s["StackName"]
        for s in cloudformation.list_stacks()["StackSummaries"]  # type: ignore[attr-defined]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert STACK not in live
    assert config.bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # type: ignore[attr-defined]
    repositories = ecr.describe_repositories()["repositories"]  # type: ignore[attr-defined]
    assert config.repository_name not in [r["repositoryName"] for r in repositories]
    names = [s["Name"] for s in secrets.list_secrets()["SecretList"]]  # type: ignore[attr-defined]
    assert not [n for n in names if n.startswith("lc-test/")]


def _start_long_execution(sagemaker: object, config: StackConfig, image: str) -> str:
    """A pipeline of this stack (by its name prefix) whose one step sleeps until it is stopped.

    Half an hour: a refused `down` and a ZenML inventory take over a minute on a loaded machine,
    and the test stops the execution itself.
    """
    definition = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "sleep",
                "Type": "Processing",
                "Arguments": {
                    "ProcessingResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": "ml.t3.medium",
                            "VolumeSizeInGB": 30,
                        }
                    },
                    "AppSpecification": {
                        "ImageUri": image,
                        "ContainerEntrypoint": ["python", "-c", "import time; time.sleep(1800)"],
                    },
                    "RoleArn": config.execution_role_arn,
                },
            }
        ],
    }
    name = f"{config.pipeline_name_prefix}long-run"
    sagemaker.create_pipeline(  # type: ignore[attr-defined]
        PipelineName=name, PipelineDefinition=json.dumps(definition), RoleArn=config.execution_role_arn
    )
    return str(sagemaker.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"])  # type: ignore[attr-defined]


def test_down_without_config_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    done = _cli(env, "down", "--config", str(tmp_path / "missing.json"))
    assert done.returncode != 0
    assert "no stack config at" in done.stderr and "Traceback" not in done.stderr
