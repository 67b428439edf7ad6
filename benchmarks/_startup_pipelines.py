"""The pipelines of the start-up benchmark (`bench_startup.py`) and the client action that runs one
to its end.

Three shapes, each once per variant (so SageMaker pipelines of the variants never mix):
- `chain`: 10 no-op steps, each after the one before;
- `example`: the example project's shape, with real (small) artifacts: load -> split -> two
  trainings in parallel -> evaluate;
- `diamond`: a -> (b, c) -> d, no-op steps.
Variants: `grouped` and `single` run on our stack (with `group_steps` on and off), `theirs` on
ZenML's built-in `sagemaker` orchestrator. Caching is off: every run executes every step.

The run is submitted asynchronously and followed in the emulator (DescribePipelineExecution every
quarter second), the same way for every orchestrator: the built-in one's synchronous wait polls
every 30 s, which would measure its polling, not SageMaker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Annotated, Any

from zenml import pipeline, step
from zenml.config import DockerSettings

SHAPES = ("chain", "example", "diamond")
VARIANTS = ("grouped", "single", "theirs")
#: The stack each variant runs on (`_zenml_client.STACKS`' names).
VARIANT_STACKS = {"grouped": "bench-ours", "single": "bench-ours", "theirs": "bench-theirs"}
POLL_SECONDS = 0.25
ENDED = ("Succeeded", "Failed", "Stopped")


@step(enable_cache=False)
def tick() -> None:
    """Nothing: the start-up benchmark measures what runs around a step, not the step."""


@step(enable_cache=False)
def load() -> Annotated[list[float], "rows"]:
    return [float(i % 17) for i in range(2000)]


@step(enable_cache=False)
def split(rows: list[float]) -> tuple[Annotated[list[float], "train"], Annotated[list[float], "test"]]:
    cut = len(rows) * 4 // 5
    return rows[:cut], rows[cut:]


@step(enable_cache=False)
def train_mean(train: list[float]) -> Annotated[float, "model"]:
    return sum(train) / len(train)


@step(enable_cache=False)
def train_median(train: list[float]) -> Annotated[float, "model"]:
    ordered = sorted(train)
    return ordered[len(ordered) // 2]


@step(enable_cache=False)
def evaluate(mean: float, median: float, test: list[float]) -> Annotated[dict[str, float], "errors"]:
    return {
        "mean": sum(abs(x - mean) for x in test) / len(test),
        "median": sum(abs(x - median) for x in test) / len(test),
    }


def _chain() -> None:
    for index in range(10):
        tick(id=f"tick_{index}", after=f"tick_{index - 1}" if index else None)


def _example() -> None:
    train, test = split(load())
    evaluate(train_mean(train), train_median(train), test)


def _diamond() -> None:
    tick(id="a")
    tick(id="b", after="a")
    tick(id="c", after="a")
    tick(id="d", after=["b", "c"])


_BODIES: dict[str, Callable[[], None]] = {"chain": _chain, "example": _example, "diamond": _diamond}


def _make(shape: str, variant: str) -> Any:
    body = _BODIES[shape]

    def run_shape() -> None:
        body()

    return pipeline(name=f"startup_{shape}_{variant}", enable_cache=False)(run_shape)


PIPELINES = {(shape, variant): _make(shape, variant) for shape in SHAPES for variant in VARIANTS}


class _StartCatcher:
    """Notes the ARN of the execution this process starts, whichever SDK starts it."""

    def __init__(self) -> None:
        self.arn: str | None = None

    def install(self) -> None:
        import botocore.client

        catcher = self
        original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009

        def noted(client: Any, operation_name: str, api_params: Any) -> Any:
            response = original(client, operation_name, api_params)
            if operation_name == "StartPipelineExecution" and isinstance(response, dict):
                catcher.arn = response.get("PipelineExecutionArn") or catcher.arn
            return response

        setattr(botocore.client.BaseClient, "_make_api_call", noted)  # noqa: B010


def run_to_end(shape: str, variant: str, timeout: float = 3600.0) -> dict[str, Any]:
    """Run one shape on one variant and follow it to its end: wall seconds, status, execution ARN."""
    import boto3
    from zenml.client import Client

    Client().activate_stack(VARIANT_STACKS[variant])
    orchestrator: dict[str, Any] = {"synchronous": False}
    if variant != "theirs":
        orchestrator["group_steps"] = variant == "grouped"
    configured = PIPELINES[(shape, variant)].with_options(
        settings={
            "docker": DockerSettings(skip_build=True, parent_image=os.environ["BENCH_STEP_IMAGE"]),
            "orchestrator": orchestrator,
        }
    )
    catcher = _StartCatcher()
    catcher.install()
    start = time.perf_counter()
    configured()
    submitted = time.perf_counter() - start
    if catcher.arn is None:
        raise RuntimeError(f"{shape} on {variant}: no StartPipelineExecution was seen")
    sagemaker = boto3.client(
        "sagemaker", endpoint_url=os.environ["BENCH_ENDPOINT_URL"], region_name=os.environ["BENCH_REGION"]
    )
    deadline = start + timeout
    status = "Executing"
    while time.perf_counter() < deadline:
        status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=catcher.arn)[
            "PipelineExecutionStatus"
        ]
        if status in ENDED:
            break
        time.sleep(POLL_SECONDS)
    return {
        "seconds": time.perf_counter() - start,
        "submit_seconds": submitted,
        "status": status,
        "execution_arn": catcher.arn,
    }
