"""One emulator, one ZenML server and three registered stacks (ours, theirs, the floor).

Set up the way the orchestrator's end-to-end tests do it: the AWS side (bucket, execution role,
the secret with the ZenML server URL and API key) is made with boto3 in the emulator, and the
ZenML client runs in fresh processes (`_zenml_client.py`) with only this server's and this
emulator's environment, in a user's client environment (`_client_env.py`).

ZenML's built-in `sagemaker` orchestrator runs with the sagemaker SDK's defaults. Its telemetry
(a GET to an AWS bucket after each instrumented call) fails at once here, with no network, and
costs nothing. `SAGEMAKER_TELEMETRY_DISABLED` does nothing in sagemaker 2.257.7, and the opt-out
the SDK documents (`TelemetryOptOut: true` in an SDK config file named by
`SAGEMAKER_USER_CONFIG_OVERRIDE`) is deliberately not used: with any config file the SDK
validates the whole file against its JSON schema on every config lookup, which made a 50-step
submission take 65-73 s instead of 6-10 s here. Users who opt out that way pay it; the benchmark
measures the default.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import _client_env
from _common import say

from sagemaker_stack.local.process.emulator import Emulator
from sagemaker_stack.ops.processes import environment_without
from sagemaker_stack.ops.zenml_server import LocalZenMLServer
from tests.support.images import step_image

CLIENT_SCRIPT = Path(__file__).with_name("_zenml_client.py")
REGION = "us-east-1"
BUCKET = "bench-artifacts"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class ClientError(RuntimeError):
    """A client action printed no result or reported a failure."""


class Harness:
    """Start with `with Harness() as harness:`; everything it started is stopped on exit."""

    def __init__(
        self, root: Path | None = None, client_python: Path | None = None, job_startup_seconds: float = 0.0
    ) -> None:
        """`client_python` runs the client actions; None syncs and uses `.bench-client-venv`.
        `job_startup_seconds` is the emulator's modeled start-up of every job (`bench_startup.py`)."""
        self._temporary = None if root else tempfile.TemporaryDirectory(prefix="bench-zenml-")
        self.client_python = client_python
        self.client_description = f"`{client_python}`" if client_python else _client_env.DESCRIPTION
        self.root = root or Path(self._temporary.name)  # type: ignore[union-attr]
        self.server = LocalZenMLServer(root=self.root / "zenml")
        self.emulator = Emulator(
            state_dir=self.root / "emulator", region=REGION, job_startup_seconds=job_startup_seconds
        )
        self.env: dict[str, str] = {}

    def __enter__(self) -> Harness:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self.client_python is None:
            self.client_python = _client_env.client_python()
        say("starting the emulator and a ZenML server")
        failure: list[BaseException] = []

        def start_server() -> None:
            try:
                self.server.start()
            except BaseException as error:
                failure.append(error)

        starter = threading.Thread(target=start_server)
        starter.start()  # the server takes ~13 s: start it while the emulator comes up
        try:
            self.emulator.start()
        finally:
            starter.join()
        if failure:
            raise failure[0]
        self.emulator.client("s3").create_bucket(Bucket=BUCKET)
        role_arn = self.emulator.client("iam").create_role(
            RoleName="bench-sagemaker-execution", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        secret_arn = self.emulator.client("secretsmanager").create_secret(
            Name="bench-zenml-credentials", SecretString=self.server.secret_payload()
        )["ARN"]
        image = step_image(self.emulator)
        # Nothing of the caller's ZenML or AWS setup leaks in: only this server and this emulator.
        env = environment_without(os.environ)
        env.update(self.server.client_env())
        env.update(self.emulator.env())
        env.update(
            {
                "BENCH_ENDPOINT_URL": self.emulator.endpoint_url,
                "BENCH_REGION": REGION,
                "BENCH_BUCKET": BUCKET,
                "BENCH_SECRET_ARN": secret_arn,
                "BENCH_ROLE_ARN": role_arn,
                "BENCH_STEP_IMAGE": image,
                "SAGEMAKER_TELEMETRY_DISABLED": "1",
                "ZENML_LOGGING_VERBOSITY": "WARN",
            }
        )
        self.env = env
        say("registering the stacks")
        self.client("setup")

    def stop(self) -> None:
        self.emulator.stop()
        self.server.stop()
        if self._temporary is not None:
            self._temporary.cleanup()

    # -- using it -------------------------------------------------------------------------------
    def client(self, *args: str, timeout: float = 600) -> dict[str, Any]:
        """Run a client action in a fresh process; its last stdout line is the JSON result."""
        completed = subprocess.run(
            [str(self.client_python or sys.executable), str(CLIENT_SCRIPT), *args],
            env=self.env,
            cwd=CLIENT_SCRIPT.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = [line for line in completed.stdout.splitlines() if line.strip()]
        try:
            result: dict[str, Any] = json.loads(lines[-1])
        except (IndexError, ValueError):
            raise ClientError(
                f"`{' '.join(args)}` printed no result (exit {completed.returncode}):\n"
                f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
            ) from None
        if "fatal" in result:
            raise ClientError(f"`{' '.join(args)}` failed: {result['fatal']}\n{completed.stderr[-5000:]}")
        return result

    def stop_executions(self, timeout: float = 60.0) -> int:
        """Stop every running SageMaker execution in the emulator and wait until they ended."""
        sagemaker = self.emulator.client("sagemaker")
        running: list[str] = []
        for page in sagemaker.get_paginator("list_pipelines").paginate():
            for summary in page["PipelineSummaries"]:
                executions = sagemaker.list_pipeline_executions(PipelineName=summary["PipelineName"])
                for execution in executions["PipelineExecutionSummaries"]:
                    if execution["PipelineExecutionStatus"] == "Executing":
                        arn = execution["PipelineExecutionArn"]
                        with contextlib.suppress(sagemaker.exceptions.ClientError):  # ended meanwhile
                            sagemaker.stop_pipeline_execution(PipelineExecutionArn=arn)
                        running.append(arn)
        deadline = time.monotonic() + timeout
        for arn in running:
            while time.monotonic() < deadline:
                status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
                if status["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
                    break
                time.sleep(0.2)
        return len(running)

    def stop_jobs(self, timeout: float = 60.0) -> int:
        """Stop every standalone processing or training job still going and wait until they ended
        (a dynamic pipeline's orchestration job, were the client's own stop to miss it)."""
        sagemaker = self.emulator.client("sagemaker")
        going: list[tuple[str, str]] = []
        for kind in ("Processing", "Training"):
            paginator = sagemaker.get_paginator(f"list_{kind.lower()}_jobs")
            for status in ("InProgress", "Stopping"):
                for page in paginator.paginate(StatusEquals=status):
                    for summary in page[f"{kind}JobSummaries"]:
                        name = summary[f"{kind}JobName"]
                        if status == "InProgress":
                            with contextlib.suppress(sagemaker.exceptions.ClientError):  # ended meanwhile
                                getattr(sagemaker, f"stop_{kind.lower()}_job")(**{f"{kind}JobName": name})
                        going.append((kind, name))
        deadline = time.monotonic() + timeout
        for kind, name in going:
            while time.monotonic() < deadline:
                job = getattr(sagemaker, f"describe_{kind.lower()}_job")(**{f"{kind}JobName": name})
                if job[f"{kind}JobStatus"] not in ("InProgress", "Stopping"):
                    break
                time.sleep(0.2)
        return len(going)

    def definition_of(self, execution_arn: str) -> dict[str, Any]:
        """The definition an orchestrator sent, read back from the emulator (DescribePipeline)."""
        sagemaker = self.emulator.client("sagemaker")
        name = execution_arn.split(":pipeline/", 1)[1].split("/", 1)[0]
        document: dict[str, Any] = json.loads(
            sagemaker.describe_pipeline(PipelineName=name)["PipelineDefinition"]
        )
        return document
