"""A pipeline on ZenML's local orchestrator whose one step runs on the sagemaker_stack_jobs step operator.

Run as a script in a subprocess (`python e2e_step_operator_pipelines.py <command>`) with the e2e
stack's ZenML client and emulator environment, like e2e_orchestrator_pipelines.py; each command
prints one JSON object on its last stdout line. The step operator's step runs as a SageMaker
processing job in the emulator; the other step runs in this process.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Annotated, Any

from zenml import pipeline, step
from zenml.config import DockerSettings

STEP_OPERATOR = "e2e-jobs"
STACK = "e2e-local-with-jobs"
#: ZenML's credential variables: the job gets none (its entrypoint gives ZenML the key in memory).
CREDENTIALS = ("ZENML_STORE_API_KEY", "ZENML_STORE_API_TOKEN", "ZENML_STORE_PASSWORD", "ZENML_STORE_USERNAME")


@step
def numbers() -> Annotated[list[int], "numbers"]:
    return [1, 2, 3, 4]


@step(step_operator=STEP_OPERATOR)
def remote_sum(values: list[int]) -> Annotated[dict[str, Any], "remote"]:
    """Runs in the job: what it computed, and what of ZenML's connection its environment holds."""
    return {
        "sum_of_squares": sum(value * value for value in values),
        "in_step_operator": os.environ.get("ZENML_STEP_OPERATOR"),
        "credential_variables": sorted(k for k in os.environ if k in CREDENTIALS),
    }


@pipeline(enable_cache=False)
def with_a_remote_step() -> None:
    remote_sum(numbers())


def setup() -> dict[str, Any]:
    """Our step operator beside ZenML's local orchestrator and the e2e S3 artifact store."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    from sagemaker_stack.flavor import STEP_OPERATOR_FLAVOR, STEP_OPERATOR_FLAVOR_SOURCE

    client = Client()
    if not client.list_flavors(name=STEP_OPERATOR_FLAVOR, type=StackComponentType.STEP_OPERATOR).items:
        client.create_flavor(
            source=STEP_OPERATOR_FLAVOR_SOURCE, component_type=StackComponentType.STEP_OPERATOR
        )
    client.create_stack_component(
        name=STEP_OPERATOR,
        flavor=STEP_OPERATOR_FLAVOR,
        component_type=StackComponentType.STEP_OPERATOR,
        configuration={
            "execution_role_arn": os.environ["E2E_ROLE_ARN"],
            "region": os.environ["E2E_REGION"],
            "bucket": os.environ["E2E_BUCKET"],
            "secret_arn": os.environ["E2E_SECRET_ARN"],
            "resource_prefix": "e2e",
            "endpoint_url": os.environ["E2E_ENDPOINT_URL"],
        },
    )
    stack = client.create_stack(
        name=STACK,
        components={
            StackComponentType.ORCHESTRATOR: "default",
            StackComponentType.ARTIFACT_STORE: "e2e-s3",
            StackComponentType.STEP_OPERATOR: STEP_OPERATOR,
        },
    )
    return {"stack_id": str(stack.id)}


def run() -> dict[str, Any]:
    """Run the pipeline on that stack; report the run, the remote step's output and its job."""
    from zenml.client import Client

    client = Client()
    previous = client.active_stack_model.id
    client.activate_stack(STACK)
    error = None
    try:
        docker = DockerSettings(skip_build=True, parent_image=os.environ["E2E_STEP_IMAGE"])
        with_a_remote_step.with_options(settings={"docker": docker})()
    except Exception as caught:
        traceback.print_exc()
        error = f"{type(caught).__name__}: {caught}"
    finally:
        client.activate_stack(previous)
    run = client.list_pipeline_runs(pipeline="with_a_remote_step", sort_by="desc:created", size=1).items[0]
    run = client.get_pipeline_run(run.id)
    remote = run.steps["remote_sum"]
    return {
        "error": error,
        "status": run.status.value,
        "steps": {name: step_run.status.value for name, step_run in run.steps.items()},
        "output": remote.outputs["remote"][0].load() if remote.status.value == "completed" else None,
        "metadata": {key: str(value) for key, value in remote.run_metadata.items()},
    }


def main(argv: list[str]) -> None:
    try:
        result = {"setup": setup, "run": run}[argv[0]]()
    except Exception as error:
        traceback.print_exc()
        result = {"fatal": f"{type(error).__name__}: {error}"}
    sys.stdout.flush()
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
