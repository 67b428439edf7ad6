"""A stack deployed as a user deploys it: `sagemaker-stack up` on a fresh emulator and ZenML server.

The e2e modules that need a stack of their own (images, private networking) share this, so each
deploys through the same CLI, in the same clean environment (nothing of the caller's AWS or ZenML
set-up leaks in).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from sagemaker_stack.config import StackConfig
from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.processes import environment_without
from sagemaker_stack.ops.zenml_server import LocalZenMLServer

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "sagemaker-stack")


def user_env(emulator: Emulator, server: LocalZenMLServer, client_dir: Path) -> dict[str, str]:
    """This process's environment without its AWS_ and ZENML_ variables, pointed at both."""
    clean = environment_without(os.environ)
    return {**clean, **emulator.env(), **server.admin_env(client_dir), "ZENML_ANALYTICS_OPT_IN": "false"}


def run(env: Mapping[str, str], *command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=900)


@dataclass
class Deployed:
    env: dict[str, str]
    config: StackConfig
    config_path: Path
    up_output: str

    def aws(self, service: str) -> Any:
        return client_of(self.env, service)


def client_of(env: dict[str, str], service: str) -> Any:
    """A boto3 client for `service` with the endpoint, region and keys of a user's environment."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


@contextmanager
def deployed_with_up(root: Path, stack: str, *context: str) -> Iterator[Deployed]:
    """`up --stack-name stack -c retain_data=false -c <context>...`; the emulator and server end after."""
    with Emulator(state_dir=root / "emulator") as emulator, LocalZenMLServer(root=root / "zenml") as server:
        env = user_env(emulator, server, root / "client")
        config_path = root / "stack.json"
        pairs = [item for pair in ("retain_data=false", *context) for item in ("-c", pair)]
        up = run(env, CLI, "up", "--config", str(config_path), "--stack-name", stack, *pairs)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield Deployed(env, StackConfig.load(config_path), config_path, up.stdout)
