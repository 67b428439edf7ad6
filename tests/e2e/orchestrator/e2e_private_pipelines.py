"""The diamond of the private-stack e2e test, run as a user would: `python e2e_private_pipelines.py`.

No settings at all: the stack registered by `sagemaker-stack up` decides the network and the keys,
and ZenML builds the image on the stack's CodeBuild project. The last line printed is JSON: the
run's status, its steps' statuses and the SageMaker execution ARN.
"""

from __future__ import annotations

import json
import sys
import traceback

# The diamond's steps, from the script beside this one (ZenML uploads this folder for the steps).
from e2e_orchestrator_pipelines import double, join, load, square
from zenml import pipeline
from zenml.client import Client


@pipeline(enable_cache=False)
def private_diamond() -> None:
    numbers = load()
    join(double(numbers), square(numbers))


def main() -> None:
    error = None
    try:
        private_diamond()
    except Exception as caught:
        traceback.print_exc()
        error = f"{type(caught).__name__}: {caught}"
    run = Client().list_pipeline_runs(pipeline="private_diamond", sort_by="desc:created", size=1).items[0]
    result = {
        "status": run.status.value,
        "steps": {name: step_run.status.value for name, step_run in run.steps.items()},
        "execution_arn": str(run.run_metadata.get("orchestrator_run_id", "")),
        "total": run.steps["join"].outputs["total"][0].load() if "join" in run.steps else None,
        "error": error,
    }
    sys.stdout.flush()
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main()
