"""A real ZenML pipeline through the sagemaker_pipelines orchestrator, on the emulator.

Order matters and is deliberate (one stack for the session, ~5 s per step process): the diamond
runs to success, then runs again and is stopped in its first step (the second run must reuse the
SageMaker pipeline), then a pipeline with a failing step runs, once failing in the user's code
and once before ZenML starts; last, the definitions read back from the emulator are checked.
"""

from __future__ import annotations

import ast
import json
import re
import time
from typing import Any

import pytest

from tests.support.e2e_stack import BUCKET, E2EStack

DIAMOND_STEPS = {"load", "double", "square", "join"}
#: The watch's last line: what the run cost (run_cost.RunCost.summary).
COST_LINE = re.compile(
    r"SageMaker execution succeeded: (\d+) jobs?, (\d+) billed seconds, about \$[0-9.,]+ "
    r"\(estimate: on-demand us-east-1 list prices of 2026-12-01\)"
)


def _cost_by_step(metadata: dict[str, str]) -> dict[str, Any]:
    """The run's `cost_by_step` metadata (the report holds each value's str())."""
    value: dict[str, Any] = ast.literal_eval(metadata["cost_by_step"])
    return value


def _pipelines(stack: E2EStack) -> list[dict[str, Any]]:
    return list(stack.client("sagemaker").list_pipelines(PipelineNamePrefix="e2e-")["PipelineSummaries"])


def test_diamond_runs_to_success_with_artifacts_in_s3(e2e_stack: E2EStack) -> None:
    result = e2e_stack.zenml("run", "diamond")
    assert result["error"] is None, result["_output"][-4000:]
    assert result["status"] == "completed"
    assert result["steps"] == dict.fromkeys(DIAMOND_STEPS, "completed")
    # Progress was shown while waiting.
    assert "4/4 steps done" in result["_output"]
    metadata = result["metadata"]
    assert metadata["orchestrator_run_id"].startswith("arn:aws:sagemaker:us-east-1:")
    assert "console.aws.amazon.com/sagemaker" in metadata["orchestrator_url"]
    # Artifacts crossed process boundaries through the bucket, and so did the code.
    keys = [
        item["Key"]
        for page in e2e_stack.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for item in page.get("Contents", [])
    ]
    for name in ("numbers", "doubled", "squared", "total"):
        assert any(f"/{name}/" in key for key in keys), f"no artifact {name!r} in s3://{BUCKET}: {keys[:20]}"
    assert any("code_uploads" in key for key in keys)
    # What it cost: billed seconds and an estimate in the run's metadata, and the watch's last line.
    assert float(metadata["billed_seconds"]) > 0
    assert float(metadata["estimated_cost_usd"]) > 0
    assert "estimate" in metadata["cost_estimate"].lower()
    by_step = _cost_by_step(metadata)
    jobs = {name for step in by_step.values() for name in step["jobs"]}
    assert sum(step["billed_seconds"] for step in by_step.values()) == pytest.approx(
        float(metadata["billed_seconds"]), abs=0.01
    )
    assert all(step["estimated_cost_usd"] > 0 for step in by_step.values())
    line = COST_LINE.search(result["_output"])
    assert line is not None, result["_output"][-3000:]
    assert int(line.group(1)) == len(jobs) >= 1


def test_second_run_reuses_the_pipeline_and_a_stopped_run_ends_stopped(e2e_stack: E2EStack) -> None:
    result = e2e_stack.zenml("stop")
    assert result["status"] == "stopped", result["_output"][-4000:]
    assert result["steps"]["load"] == "stopped"
    sagemaker = e2e_stack.client("sagemaker")
    execution_arn = result["metadata"]["orchestrator_run_id"]
    # Stopping ends once the step's process is gone (SIGTERM, then SIGKILL after 5 s): wait for it.
    deadline = time.monotonic() + 120
    while True:
        status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        if status["PipelineExecutionStatus"] != "Stopping" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status["PipelineExecutionStatus"] == "Stopped"
    # Nobody watched it: a refresh (`zenml pipeline runs refresh`) that finds it ended records what
    # its stopped step billed.
    refreshed = e2e_stack.zenml("report", result["run_id"])
    assert float(refreshed["metadata"]["billed_seconds"]) > 0
    assert float(refreshed["metadata"]["estimated_cost_usd"]) > 0
    assert refreshed["metadata"]["cost_jobs_still_running"] == "[]"
    # The same SageMaker pipeline, updated in place, now has both runs' executions.
    pipelines = [item for item in _pipelines(e2e_stack) if "diamond" in item["PipelineName"]]
    assert len(pipelines) == 1
    name = pipelines[0]["PipelineName"]
    executions = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert len(executions) == 2


def test_failing_step_fails_the_run_and_is_named(e2e_stack: E2EStack) -> None:
    result = e2e_stack.zenml("run", "failing")
    assert result["status"] == "failed"
    assert result["steps"]["boom"] == "failed"
    error = result["error"] or ""
    assert "Step 'boom' failed" in error
    # The tail of the step's CloudWatch log is in the message, with the user's exception.
    assert "deliberate failure after reading 10 numbers" in error


def test_step_dying_before_zenml_starts_fails_the_run(e2e_stack: E2EStack) -> None:
    """The secret still holds the deploy-time placeholder: the entrypoint exits before ZenML runs.

    No step ever reports to ZenML, so only the SageMaker execution's status can end the run.
    """
    secrets = e2e_stack.client("secretsmanager")
    secrets.put_secret_value(SecretId=e2e_stack.secret_arn, SecretString="placeholder-set-at-deploy")
    try:
        result = e2e_stack.zenml("run", "failing")
    finally:
        secrets.put_secret_value(
            SecretId=e2e_stack.secret_arn, SecretString=e2e_stack.server.secret_payload()
        )
    assert result["status"] == "failed", result["_output"][-4000:]
    # The synchronous wait itself moved the run out of `provisioning`, from the execution's status.
    assert result["status_before_refresh"] == "failed"
    assert result["steps"] == {}
    error = result["error"] or ""
    assert "Step 'load' failed" in error
    assert "sagemaker-stack register" in error  # the entrypoint's own message, from the log tail
    assert "placeholder-set-at-deploy" not in result["_output"]


def test_definition_read_back_holds_no_secret(e2e_stack: E2EStack) -> None:
    sagemaker = e2e_stack.client("sagemaker")
    for summary in _pipelines(e2e_stack):
        definition = sagemaker.describe_pipeline(PipelineName=summary["PipelineName"])["PipelineDefinition"]
        assert e2e_stack.server.api_key not in definition
        assert e2e_stack.server.url not in definition
        for marker in ("ZENKEY_", "ZENML_STORE_API_TOKEN", "ZENML_STORE_API_KEY", "eyJ"):
            assert marker not in definition
        for step in json.loads(definition)["Steps"]:
            environment = step["Arguments"]["Environment"]
            assert environment["SAGEMAKER_STACK_SECRET_ARN"] == e2e_stack.secret_arn
            assert environment["SAGEMAKER_STACK_EXECUTION_ARN"] == {"Get": "Execution.PipelineExecutionArn"}
