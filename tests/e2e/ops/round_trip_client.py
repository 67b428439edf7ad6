"""ZenML client actions of the down/up round-trip test, run as a user runs them.

- `run`: runs `round_trip` (two steps) synchronously; prints the run's id and status.
- `load RUN_ID`: loads every output artifact of the run (`.load()`); prints their values.
- `start-slow`: submits `round_trip_slow` (a step that sleeps) without waiting; prints its run id.
- `status RUN_ID`: the run's status.

The last line printed is JSON.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

from zenml import pipeline, step

from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings


@step
def numbers() -> Annotated[list[int], "numbers"]:
    return list(range(10))


@step
def total(values: list[int]) -> Annotated[int, "total"]:
    return sum(values)


@step
def sleepy(values: list[int]) -> Annotated[int, "slow_total"]:
    time.sleep(600)  # `down --force` stops it long before
    return sum(values)


@pipeline(enable_cache=False)
def round_trip() -> None:
    total(numbers())


@pipeline(
    enable_cache=False,
    settings={"orchestrator": SagemakerPipelinesOrchestratorSettings(synchronous=False)},
)
def round_trip_slow() -> None:
    sleepy(numbers())


def _run(name: str) -> Any:
    from zenml.client import Client

    return Client().get_pipeline_run(name)


def main(argv: list[str]) -> dict[str, Any]:
    if argv[0] == "run":
        run = round_trip()
        return {"id": str(run.id), "status": _run(str(run.id)).status.value}
    if argv[0] == "start-slow":
        run = round_trip_slow()
        return {"id": str(run.id), "status": _run(str(run.id)).status.value}
    run = _run(argv[1])
    if argv[0] == "status":
        return {"status": run.status.value}
    values = {
        f"{name}.{output}": versions[0].load()
        for name, step_run in run.steps.items()
        for output, versions in step_run.outputs.items()
    }
    return {"artifacts": values}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
