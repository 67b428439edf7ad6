"""A ZenML dynamic pipeline on the sagemaker_pipelines orchestrator, on the emulator.

The pipeline function runs in an orchestration job (a standalone processing job running ZenML's
dynamic runner); its inline steps run there, and the step with ResourceSettings runs as its own
standalone job. Each job reads the ZenML credentials from the stack's secret: no job's request,
as DescribeProcessingJob returns it, holds the API key.
"""

from __future__ import annotations

import ast
import json
import time
from typing import Any

from sagemaker_stack.config import SecretKey
from tests.support.e2e_stack import E2EStack


def _api_key(stack: E2EStack) -> str:
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.secret_arn)["SecretString"]
    return str(json.loads(secret)[SecretKey.API_KEY])


def _processing_jobs(stack: E2EStack) -> set[str]:
    paginator = stack.client("sagemaker").get_paginator("list_processing_jobs")
    return {
        item["ProcessingJobName"] for page in paginator.paginate() for item in page["ProcessingJobSummaries"]
    }


def _describe(stack: E2EStack, name: str) -> dict[str, Any]:
    return dict(stack.client("sagemaker").describe_processing_job(ProcessingJobName=name))


def test_dynamic_pipeline_fans_out_joins_and_branches(e2e_stack: E2EStack) -> None:
    result = e2e_stack.zenml("run-dynamic", "4", timeout=900)
    assert result["error"] is None, result["_output"][-6000:]
    assert result["status"] == "completed"
    outputs = result["outputs"]
    # 1 + 4 + 9 + 16: through `.submit()` in a loop, and through `.map()` on an isolated job.
    assert outputs["add_up"] == 30
    assert outputs["add_up_isolated"] == 30
    assert outputs["verdict"] == "big"
    # Four squares each way: `square_of`, `square_of_2`, ... submitted, `map:<id>:<index>` mapped.
    squares = [value for name, value in outputs.items() if name.startswith(("square_of", "map:"))]
    assert sorted(squares) == sorted([1, 4, 9, 16] * 2), outputs
    assert all(status == "completed" for status in result["steps"].values()), result["steps"]

    # The step with ResourceSettings ran as its own standalone job, next to the orchestration job.
    orchestration_job = result["metadata"]["orchestration_job_name"]
    isolated_job = result["jobs"]["add_up_isolated"]
    assert set(result["jobs"]) == {"add_up_isolated"}
    assert {orchestration_job, isolated_job} <= _processing_jobs(e2e_stack)
    api_key = _api_key(e2e_stack)
    for name in (orchestration_job, isolated_job):
        described = _describe(e2e_stack, name)
        assert described["ProcessingJobStatus"] == "Completed"
        assert api_key not in json.dumps(described, default=str), f"job {name} holds the API key"
    assert (
        _describe(e2e_stack, isolated_job)["ProcessingResources"]["ClusterConfig"]["InstanceType"]
        != (_describe(e2e_stack, orchestration_job)["ProcessingResources"]["ClusterConfig"]["InstanceType"])
    )
    assert orchestration_job in result["metadata"]["orchestrator_url"]
    # What it cost: both jobs, each under what it ran for, and the watch's last line says it.
    cost_by_step = ast.literal_eval(result["metadata"]["cost_by_step"])
    assert set(cost_by_step) == {"orchestration job", "add_up_isolated"}
    assert set(cost_by_step["add_up_isolated"]["jobs"]) == {isolated_job}
    assert float(result["metadata"]["billed_seconds"]) > 0
    assert float(result["metadata"]["estimated_cost_usd"]) > 0
    assert "Dynamic pipeline run completed: 2 jobs, " in result["_output"]


def test_stopping_a_dynamic_run_stops_its_jobs(e2e_stack: E2EStack) -> None:
    started = e2e_stack.zenml("run-dynamic-and-stop", timeout=600)
    jobs = [started["orchestration_job"], started["jobs"]["add_up_isolated"]]
    deadline = time.monotonic() + 60
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {name: _describe(e2e_stack, name)["ProcessingJobStatus"] for name in jobs}
        if all(status == "Stopped" for status in statuses.values()):
            break
        time.sleep(1)
    assert statuses == dict.fromkeys(jobs, "Stopped")
    report = e2e_stack.zenml("report", started["run_id"])
    assert report["status"] == "stopped", report
