"""`sagemaker-stack demo --keep` leaves a local environment one can stay in; `demo --down` ends it.

One kept demo (what `make demo DEMO_ARGS=--keep` runs) is shared by the whole module, in order:
its printed exports work with the real AWS CLI and zenml; the dashboard, in a real headless
Chromium, shows the run with every step and its status; `local stop` + `local start` keep the
run, its artifacts, the execution and its step logs; a `kill -9` of the emulator during a step
fails that execution and its ZenML run while the client's watch rides out the outage without a
traceback; last, `demo --down` leaves no process and no port in use.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from sagemaker_stack.ops.demo import DEMO_STATE
from sagemaker_stack.ops.processes import AWS_AND_ZENML, environment_without
from tests.support.browser import chromium_page

REPO = Path(__file__).resolve().parents[3]
STATE = REPO / DEMO_STATE
CLIENT = Path(__file__).with_name("local_env_client.py")
BIN = Path(sys.executable).parent
CLI = str(BIN / "sagemaker-stack")
IRIS_STEPS = {"load_data", "split_data", "train_logistic_regression", "train_decision_tree", "evaluate"}


def _base_env() -> dict[str, str]:
    """The caller's environment without any AWS or ZenML setting: only what `local env` prints counts."""
    return environment_without(os.environ, (*AWS_AND_ZENML, "SAGEMAKER_STACK_"))


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], cwd=REPO, env=_base_env(), capture_output=True, text=True, timeout=timeout
    )


@dataclass
class KeptDemo:
    output: str
    env: dict[str, str]  # _base_env() + exactly what `local env` exported
    printed: str  # what `local env` printed

    def run(self, *command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command), cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def last_run(self, pipeline: str) -> dict[str, Any]:
        done = self.run(sys.executable, str(CLIENT), "last-run", pipeline)
        assert done.returncode == 0, done.stdout + done.stderr
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


def _exports(printed: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in printed.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="module")
def kept_demo() -> Iterator[KeptDemo]:
    _cli("demo", "--down")  # a kept demo of an earlier, interrupted test run
    done = _cli("demo", "--keep")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    printed = _cli("local", "env", "--state-dir", str(STATE)).stdout
    try:
        yield KeptDemo(output=output, env={**_base_env(), **_exports(printed)}, printed=printed)
    finally:
        if STATE.exists():
            _cli("demo", "--down")


def test_the_kept_demo_is_a_local_environment_whose_printed_exports_work(kept_demo: KeptDemo) -> None:
    # Five ZenML steps in three SageMaker steps: load and split, the two trainings (their bigger
    # instance), evaluate (step groups).
    assert "Succeeded: 3/3 steps done" in kept_demo.output
    # What the example cost: the watch's last line, and billed seconds and an estimate per
    # SageMaker step and in total in the run's metadata.
    assert re.search(r"succeeded: 3 jobs, \d+ billed seconds, about \$[0-9.]+ \(estimate", kept_demo.output)
    assert "Traceback" not in kept_demo.output
    assert f'eval "$(sagemaker-stack local env --state-dir {DEMO_STATE})"' in kept_demo.output
    assert "sagemaker-stack demo --down" in kept_demo.output
    status = _cli("local", "status", "--state-dir", str(STATE))
    assert status.returncode == 0, status.stdout
    assert re.search(r"emulator:\s+running at http://127\.0\.0\.1:\d+ \(pid \d+\), answers", status.stdout)
    assert re.search(
        r"ZenML server:\s+running at http://127\.0\.0\.1:\d+ \(pid \d+\), answers", status.stdout
    )

    # The AWS CLI (v1, as a CodeBuild image has it) needs AWS_DEFAULT_REGION and the endpoint.
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "ZENML_CONFIG_PATH"):
        assert name in kept_demo.env, kept_demo.printed
    listed = kept_demo.run(str(BIN / "aws"), "sagemaker", "list-pipelines")
    assert listed.returncode == 0, listed.stderr
    names = [item["PipelineName"] for item in json.loads(listed.stdout)["PipelineSummaries"]]
    assert any("iris-pipeline" in name for name in names), names
    runs = kept_demo.run(str(BIN / "zenml"), "pipeline", "runs", "list")
    assert runs.returncode == 0, runs.stdout + runs.stderr
    assert "iris_pipeline" in runs.stdout
    # ZenML listed the installed packages (`python -m uv pip freeze`) on the client and in the steps.
    assert "Failed to get list of installed Python packages" not in kept_demo.output
    last = kept_demo.last_run("iris_pipeline")
    assert last["cost"]["billed_seconds"] > 0 and last["cost"]["estimated_cost_usd"] > 0, last["cost"]
    assert len(last["cost"]["steps"]) == 3, last["cost"]
    packages = last["packages"]
    assert packages["client"] > 50 and packages["orchestrator"] > 50, packages
    # No secret is printed: the ZenML password stays in its mode-0600 file.
    password_file = STATE / "zenml" / "admin-password"
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert password_file.read_text().strip() not in kept_demo.printed + kept_demo.output


def test_the_dashboard_shows_the_last_run_with_every_step_and_its_status(kept_demo: KeptDemo) -> None:
    """Logged in with exactly what `local env` printed; no first-login survey on the way."""
    dashboard = re.search(r"# ZenML dashboard: (http://127\.0\.0\.1:\d+)", kept_demo.printed)
    login = re.search(r"log in as `(\w+)`, password: `cat ([^`]+)`", kept_demo.printed)
    assert dashboard and login, kept_demo.printed
    password = Path(login.group(2)).read_text().strip()
    run = kept_demo.last_run("iris_pipeline")
    with chromium_page() as page:
        page.goto(dashboard.group(1))
        page.get_by_label("Username").fill(login.group(1))
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Welcome back").wait_for(timeout=30_000)
        assert page.get_by_text("survey", exact=False).count() == 0
        page.goto(f"{dashboard.group(1)}/projects/default/runs")
        page.get_by_text("iris_pipeline-", exact=False).first.click()
        page.wait_for_url(re.compile(rf"/runs/{run['id']}"), timeout=30_000)
        for name in IRIS_STEPS:
            node = page.locator(f'.react-flow__node[data-id="step/{name}"]')
            node.wait_for(timeout=30_000)
            # The step's status badge: "success" is ZenML's completed.
            assert node.locator('[data-slot="badge"]').first.get_attribute("data-variant") == "success", name
        body = page.locator("body").inner_text()
    assert "Completed\n5" in body and "Failed\n0" in body
    assert "console.aws.amazon.com/sagemaker" in body  # the SageMaker execution's link
    assert "console.aws.amazon.com/cloudwatch" in body  # and its logs'


def test_stop_and_start_keep_the_run_its_artifacts_the_execution_and_its_logs(kept_demo: KeptDemo) -> None:
    before = kept_demo.last_run("iris_pipeline")
    sagemaker, logs = kept_demo.client("sagemaker"), kept_demo.client("logs")
    arn = before["execution_arn"]
    steps_before = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    streams_before = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs")["logStreams"]

    stopped = _cli("local", "stop", "--state-dir", str(STATE))
    assert stopped.returncode == 0 and "stopped the emulator" in stopped.stdout, stopped.stdout
    started = _cli("local", "start", "--state-dir", str(STATE))
    assert started.returncode == 0, started.stdout + started.stderr
    # The same ports: the printed exports still hold.
    assert kept_demo.env["AWS_ENDPOINT_URL"] in started.stdout

    after = kept_demo.last_run("iris_pipeline")
    assert after == before  # same status, steps and every artifact loaded back identical
    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == (
        "Succeeded"
    )
    steps_after = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps_after] == [
        (s["StepName"], s["StepStatus"]) for s in steps_before
    ]
    stream = streams_before[0]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=stream)["events"]
    assert events, f"the step log {stream} is empty after the restart"


def test_kill_9_during_a_step_fails_the_execution_and_the_run_and_the_watch_rides_it_out(
    kept_demo: KeptDemo,
) -> None:
    client = subprocess.Popen(
        [sys.executable, str(CLIENT), "slow"],
        cwd=CLIENT.parent,
        env={**kept_demo.env, "ZENML_LOGGING_VERBOSITY": "INFO", "SAGEMAKER_STACK_POLL_SECONDS": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sagemaker = kept_demo.client("sagemaker")
        arn = _wait_for_executing_step(sagemaker, "slow_sum", timeout=600)
        pid = int((STATE / "emulator" / "emulator.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        time.sleep(30)  # the outage the client's watch has to ride out
        started = _cli("local", "start", "--state-dir", str(STATE))
        assert started.returncode == 0, started.stdout + started.stderr
        output, _ = client.communicate(timeout=300)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 1, output[-4000:]
    assert "Traceback" not in output, output[-6000:]
    assert output.count("Lost contact with SageMaker") == 1, output[-4000:]
    assert output.count("Contact with SageMaker is back") == 1, output[-4000:]
    assert "ended Failed" in output
    execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert execution["PipelineExecutionStatus"] == "Failed"
    assert execution.get("FailureReason"), execution
    assert kept_demo.last_run("slow_pipeline")["status"] == "failed"


def _wait_for_executing_step(sagemaker: Any, step: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pipeline in sagemaker.list_pipelines()["PipelineSummaries"]:
            if "slow-pipeline" not in pipeline["PipelineName"]:
                continue
            for summary in sagemaker.list_pipeline_executions(PipelineName=pipeline["PipelineName"])[
                "PipelineExecutionSummaries"
            ]:
                arn = summary["PipelineExecutionArn"]
                steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)
                if any(
                    s["StepName"].startswith(step.replace("_", "-")) or s["StepName"].startswith(step)
                    for s in steps["PipelineExecutionSteps"]
                    if s["StepStatus"] == "Executing"
                ):
                    return str(arn)
        time.sleep(1)
    raise AssertionError(f"no execution of slow_pipeline reached step {step} within {timeout:.0f} s")


def test_demo_down_leaves_no_process_no_port_and_no_state(kept_demo: KeptDemo) -> None:
    recorded = json.loads((STATE / "local.json").read_text())
    pids = [
        int((STATE / "emulator" / "emulator.pid").read_text()),
        json.loads((STATE / "zenml" / "server.json").read_text())["pid"],
    ]
    done = _cli("demo", "--down")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "removed stack 'sagemaker-stack-demo'" in output
    assert not STATE.exists()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for port in (recorded["emulator_port"], recorded["zenml_port"]):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on {port}"
    again = _cli("demo", "--down")
    assert again.returncode == 0 and "No kept demo" in again.stdout
