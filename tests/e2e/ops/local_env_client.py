"""ZenML client actions of the local environment's end-to-end tests, run as a user would run them.

`python local_env_client.py last-run PIPELINE`: the pipeline's last run as JSON on the last line
(status, each step's status, the execution ARN, and every output artifact loaded back, as a
digest of its pickle). `python local_env_client.py slow`: runs a pipeline whose second step
sleeps, synchronously, like `python any_pipeline.py`; a failed run ends with its message.
`python local_env_client.py quick`: the same for a one-step pipeline. `python local_env_client.py
runs PIPELINE`: each run's status and stack as JSON on the last line.

Run with nothing but the variables `sagemaker-stack local env` prints: ZenML's configuration
is the logged-in client folder it names.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import time
from typing import Annotated

from zenml import pipeline, step


@step
def numbers() -> Annotated[list[int], "numbers"]:
    return list(range(5))


@step
def slow_sum(values: list[int]) -> Annotated[int, "total"]:
    time.sleep(90)  # the test kills the emulator while this sleeps
    return sum(values)


# Each step its own job: the test kills the emulator while slow_sum's job runs.
@pipeline(enable_cache=False, settings={"orchestrator": {"group_steps": False}})
def slow_pipeline() -> None:
    slow_sum(numbers())


@pipeline(enable_cache=False)
def quick_pipeline() -> None:
    numbers()


def runs(name: str) -> list[dict[str, str]]:
    from zenml.client import Client

    found = Client().list_pipeline_runs(pipeline_name=name, size=100, hydrate=True)
    return [{"status": run.status.value, "stack": run.stack.name if run.stack else ""} for run in found.items]


def last_run(name: str) -> dict[str, object]:
    from zenml.client import Client

    run = Client().get_pipeline(name).last_run
    artifacts = {}
    for step_name, step_run in run.steps.items():
        for output, versions in step_run.outputs.items():
            value = versions[0].load()
            artifacts[f"{step_name}.{output}"] = hashlib.sha256(pickle.dumps(value)).hexdigest()[:16]
    return {
        "id": str(run.id),
        "status": run.status.value,
        "steps": {step_name: step_run.status.value for step_name, step_run in run.steps.items()},
        "execution_arn": run.run_metadata.get("pipeline_execution_arn"),
        "artifacts": artifacts,
        "packages": _packages(str(run.id)),
        # What the run cost (run_cost_record): totals, and the SageMaker steps it was broken down by.
        "cost": {
            "billed_seconds": run.run_metadata.get("billed_seconds"),
            "estimated_cost_usd": run.run_metadata.get("estimated_cost_usd"),
            "steps": sorted(dict(run.run_metadata.get("cost_by_step") or {})),
        },
    }


def _packages(run_id: str) -> dict[str, int]:
    """How many packages ZenML recorded (`pip freeze`) on the client and in the steps; 0: none.

    The server leaves them out of a run unless asked, as the dashboard's Environment tab does.
    """
    from zenml.client import Client

    body = Client().zen_store.get(f"/runs/{run_id}", params={"include_python_packages": True})
    metadata = (body.get("metadata") if isinstance(body, dict) else None) or {}
    return {
        side: len(str((metadata.get(f"{side}_environment") or {}).get("python_packages", "")).split())
        for side in ("client", "orchestrator")
    }


def main(argv: list[str]) -> int:
    if argv[0] == "last-run":
        print(json.dumps(last_run(argv[1])))
        return 0
    if argv[0] == "runs":
        print(json.dumps(runs(argv[1])))
        return 0
    try:
        quick_pipeline() if argv[0] == "quick" else slow_pipeline()
    except Exception as error:  # what a user's script shows: the message, not ZenML's frames
        print(f"run failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
