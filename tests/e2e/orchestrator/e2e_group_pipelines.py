"""The step-group pipeline of the e2e tests, run as a user would:
`python e2e_group_pipelines.py run SEED ok|fail cache|nocache`.

load -> {double, square} -> join -> explode -> after share one job configuration: one SageMaker
step. `apart` reads join's total on another instance type: a SageMaker step of its own. Prints
one JSON object on its last stdout line: the run's status, each step's status, whether each has
its own log, the outputs loaded back, and the execution's SageMaker steps.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Annotated, Any

from e2e_orchestrator_pipelines import _describe, _docker, double, join, square
from zenml import get_step_context, pipeline, step

from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings

MARKER = "GROUP-MARKER"


def mark() -> None:
    """A line only this step's own log may hold (steps of a group share a process and stdout)."""
    print(f"{MARKER} {get_step_context().step_run.name}")


@step
def seeded(seed: int) -> Annotated[list[int], "numbers"]:
    mark()
    return list(range(seed, seed + 10))


@step
def explode(total: int, fail: bool) -> Annotated[int, "checked"]:
    mark()
    if fail:
        raise ValueError(f"deliberate failure in the middle of the group, after total {total}")
    return total


@step
def after(checked: int) -> Annotated[int, "final"]:
    mark()
    return checked + 1


@step(settings={"orchestrator": SagemakerPipelinesOrchestratorSettings(instance_type="ml.m5.xlarge")})
def apart(total: int) -> Annotated[int, "apart"]:
    mark()
    return -total


@pipeline
def grouped(seed: int = 0, fail: bool = False) -> None:
    total = join(double(seeded(seed)), square(seeded(seed)))
    after(explode(total, fail))
    apart(total)


def _markers(step_run: Any) -> list[str]:
    """The marker lines of the step run's own logs (ZenML's artifact log store)."""
    from zenml.client import Client
    from zenml.log_stores.artifact.artifact_log_store import _stream_logs_line_by_line

    store = Client().active_stack.artifact_store
    found: list[str] = []
    for logs in step_run.log_collection or []:
        if logs.uri:
            found.extend(
                line.split(MARKER, 1)[1].split('"')[0].strip()
                for line in _stream_logs_line_by_line(store, logs.uri)
                if MARKER in line
            )
    return sorted(set(found))


def run(seed: int, fail: bool, cache: bool) -> dict[str, Any]:
    from zenml.client import Client
    from zenml.utils.run_utils import refresh_run_status

    from sagemaker_stack.orchestrator.run_metadata import execution_arn_of

    error: BaseException | None = None
    settings = {
        "docker": _docker(),
        "orchestrator": SagemakerPipelinesOrchestratorSettings(synchronous=True, group_steps=True),
    }
    try:
        grouped.with_options(settings=settings, enable_cache=cache)(seed=seed, fail=fail)
    except Exception as caught:
        error = caught
    client = Client()
    run_id = client.list_pipeline_runs(pipeline="grouped", sort_by="desc:created", size=1).items[0].id
    refresh_run_status(client.get_pipeline_run(run_id), include_step_updates=True)
    run = client.get_pipeline_run(run_id)
    outputs = {
        name: {key: versions[0].load() for key, versions in step_run.outputs.items()}
        for name, step_run in run.steps.items()
        if step_run.status.value in ("completed", "cached")
    }
    arn = execution_arn_of(run)
    import boto3

    sagemaker = boto3.client(
        "sagemaker", endpoint_url=os.environ["E2E_ENDPOINT_URL"], region_name=os.environ["E2E_REGION"]
    )
    listed = (
        sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
        if arn
        else []
    )
    return {
        "status": run.status.value,
        "steps": {name: step_run.status.value for name, step_run in run.steps.items()},
        "markers": {name: _markers(step_run) for name, step_run in run.steps.items()},
        "outputs": outputs,
        "sagemaker_steps": {
            item["StepName"]: {
                "status": item["StepStatus"],
                "job": (item.get("Metadata") or {}).get("ProcessingJob", {}).get("Arn"),
            }
            for item in listed
        },
        "error": _describe(error) if error else None,
    }


def main(argv: list[str]) -> None:
    try:
        result = run(int(argv[1]), argv[2] == "fail", argv[3] == "cache")
    except Exception as error:
        traceback.print_exc()
        result = {"fatal": _describe(error)}
    sys.stdout.flush()
    print("\n" + json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
