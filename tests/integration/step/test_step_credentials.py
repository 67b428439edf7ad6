"""A step's ZenML login against a real server: the API key works, ZenML logs in again with it
when its token is gone, and neither the environment nor a child process ever holds it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sagemaker_stack.ops.processes import environment_without
from sagemaker_stack.ops.zenml_server import LocalZenMLServer

STEP = """
import os, subprocess, sys
from sagemaker_stack.step.entrypoint import configure_zenml_environment, give_zenml_the_key

url, key = sys.argv[1], sys.stdin.read().strip()
configure_zenml_environment(os.environ, url)
give_zenml_the_key(url, key)
from zenml.client import Client
from zenml.login.credentials_store import get_credentials_store

store = Client().zen_store
print("user", store.get_user().name)
# The token is gone (expired, as after an hour): ZenML logs in again with the key it holds.
store._api_token = None
get_credentials_store().clear_token(url)
store.get_or_generate_api_token()
print("again", store.get_user().name)
child = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
print("key in os.environ:", key in os.environ.values(), "in a child:", key in child)
"""


def test_a_step_logs_in_again_with_its_key_and_no_child_inherits_it(
    tmp_path: Path, zenml_server: LocalZenMLServer
) -> None:
    server = zenml_server
    env = environment_without(os.environ, ("ZENML_",))
    done = subprocess.run(
        [sys.executable, "-c", STEP, server.url],
        input=server.api_key,
        env={**env, "ZENML_CONFIG_PATH": str(tmp_path / "step-config")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "user sagemaker-stack" in done.stdout and "again sagemaker-stack" in done.stdout, done.stdout
    assert "key in os.environ: False in a child: False" in done.stdout
    assert server.api_key not in done.stdout + done.stderr
