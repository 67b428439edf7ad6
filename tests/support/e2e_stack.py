"""The end-to-end stack of the orchestrator tests: emulator, ZenML server, registered components.

The AWS side (bucket, secret, role, the step image in ECR) is made directly with boto3 and the
emulator's docker stand-in: deploying the CDK stack is another test's job. The secret holds the
ZenML server URL and the service account's API key, exactly what `sagemaker-stack register` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.processes import environment_without
from sagemaker_stack.ops.zenml_server import LocalZenMLServer

SCRIPT = Path(__file__).resolve().parents[1] / "e2e" / "orchestrator" / "e2e_orchestrator_pipelines.py"
REGION = "us-east-1"
BUCKET = "e2e-orchestrator-artifacts"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
#: The role EventBridge Scheduler assumes to start the stack's pipelines (the stack's scheduler role).
SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@dataclass
class E2EStack:
    """What the tests need to drive the ZenML client and look into the emulator."""

    emulator: Emulator
    server: LocalZenMLServer
    env: dict[str, str]
    secret_arn: str
    scheduler_role_arn: str = ""
    stack_id: str = ""  # the registered stack's id, once `setup` has run

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    def zenml(
        self, *args: str, timeout: float = 420, script: Path = SCRIPT, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Run a client command of a pipelines script (by default the orchestrator's); its last
        stdout line is JSON. `env`: variables on top of the stack's."""
        completed = subprocess.run(
            [sys.executable, str(script), *args],
            env={**self.env, **(env or {})},
            cwd=script.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = [line for line in completed.stdout.splitlines() if line.strip()]
        try:
            result: dict[str, Any] = json.loads(lines[-1])
        except (IndexError, ValueError):
            raise AssertionError(
                f"`{' '.join(args)}` printed no result (exit {completed.returncode}):\n"
                f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
            ) from None
        result["_output"] = completed.stdout + completed.stderr
        if "fatal" in result:
            raise AssertionError(f"`{' '.join(args)}` failed: {result['fatal']}\n{result['_output'][-5000:]}")
        return result


def client_environment(
    server: LocalZenMLServer,
    emulator: Emulator,
    secret_arn: str,
    role_arn: str,
    scheduler_role_arn: str = "",
    step_image: str = "",
) -> dict[str, str]:
    # Nothing of the caller's ZenML or AWS setup leaks in: only this server and this emulator.
    env = environment_without(os.environ)
    env.update(server.client_env())
    env.update(emulator.env())
    env.update(
        {
            "E2E_ENDPOINT_URL": emulator.endpoint_url,
            "E2E_REGION": REGION,
            "E2E_BUCKET": BUCKET,
            "E2E_SECRET_ARN": secret_arn,
            "E2E_ROLE_ARN": role_arn,
            "E2E_SCHEDULER_ROLE_ARN": scheduler_role_arn,
            "E2E_STEP_IMAGE": step_image,
            "SAGEMAKER_STACK_POLL_SECONDS": "1",
            "ZENML_LOGGING_VERBOSITY": "INFO",
        }
    )
    return env
