"""ZenML client actions of the benchmarks, one process per action (like a user's shell).

`python benchmarks/_zenml_client.py setup` registers three stacks (ours: the `sagemaker_pipelines`
orchestrator; theirs: ZenML's built-in `sagemaker` orchestrator; floor: an orchestrator that does
nothing, `_floor_orchestrator.py`), with the same S3 artifact store on the emulator.
`... submit <ours|theirs|floor> <pipeline>` runs a no-op pipeline asynchronously on that stack
and reports how long the pipeline call took and which AWS API calls it made; for a dynamic
pipeline (`bench_dynamic_*`) also how long the orchestrator's `submit_dynamic_pipeline` took. ZenML keeps a
process-wide global configuration, so every action gets a fresh process, with the environment the
harness sets (ZenML server, emulator, `BENCH_*` values). Each command prints one JSON object on
its last stdout line.

ZenML uploads this file's folder (the source root of `__main__`) to the artifact store; the step
processes import the pipelines from that upload.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import time
import traceback
from typing import Annotated, Any

from zenml import pipeline, step
from zenml.config import DockerSettings, ResourceSettings

STACKS = {"ours": "bench-ours", "theirs": "bench-theirs", "floor": "bench-floor"}


@step(enable_cache=False)
def noop() -> None:
    """Nothing: the benchmarks measure what runs around a step, not the step."""


def _chain(steps: int) -> None:
    """`steps` no-op steps, each after the one before (by invocation id: a step without outputs
    returns nothing that `after=` could point at)."""
    for index in range(steps):
        noop(id=f"noop_{index}", after=f"noop_{index - 1}" if index else None)


# One pipeline per orchestrator and size: each side's first run pays ZenML's pipeline
# registration alike, and SageMaker pipelines of the two orchestrators never mix.
@pipeline(enable_cache=False)
def bench_ours_1() -> None:
    _chain(1)


@pipeline(enable_cache=False)
def bench_ours_10() -> None:
    _chain(10)


@pipeline(enable_cache=False)
def bench_ours_50() -> None:
    _chain(50)


@pipeline(enable_cache=False)
def bench_ours_200() -> None:
    _chain(200)


@pipeline(enable_cache=False)
def bench_theirs_1() -> None:
    _chain(1)


@pipeline(enable_cache=False)
def bench_theirs_10() -> None:
    _chain(10)


@pipeline(enable_cache=False)
def bench_theirs_50() -> None:
    _chain(50)


@pipeline(enable_cache=False)
def bench_theirs_200() -> None:
    _chain(200)


@pipeline(enable_cache=False)
def bench_floor_1() -> None:
    _chain(1)


@pipeline(enable_cache=False)
def bench_floor_10() -> None:
    _chain(10)


@pipeline(enable_cache=False)
def bench_floor_50() -> None:
    _chain(50)


@pipeline(enable_cache=False)
def bench_floor_200() -> None:
    _chain(200)


@pipeline(enable_cache=False)
def bench_engine_chain() -> None:
    _chain(10)


@pipeline(enable_cache=False)
def bench_engine_diamond() -> None:
    noop(id="a")
    noop(id="b", after="a")
    noop(id="c", after="a")
    noop(id="d", after=["b", "c"])


# -- a dynamic pipeline (`bench_dynamic.py`): the shape of the issue's, never run past its start --


@step(enable_cache=False)
def numbers_up_to(n: int) -> Annotated[list[int], "numbers"]:
    return list(range(1, n + 1))


@step(enable_cache=False)
def square_of(x: int) -> Annotated[int, "square"]:
    return x * x


@step(enable_cache=False, settings={"resources": ResourceSettings(cpu_count=2)})
def add_up(values: list[int]) -> Annotated[int, "total"]:
    """Its ResourceSettings make it an isolated step (a job of its own) on both orchestrators."""
    return sum(values)


def _fan_out() -> None:
    """A fan-out decided at run time (`.submit()` in a loop and `.map()`) and an isolated fan-in."""
    numbers = numbers_up_to(4)
    squares = [square_of.submit(x) for x in numbers.load()]
    add_up(squares)
    add_up(square_of.map(numbers))


@pipeline(dynamic=True, enable_cache=False)
def bench_dynamic_ours() -> None:
    _fan_out()


@pipeline(dynamic=True, enable_cache=False)
def bench_dynamic_theirs() -> None:
    _fan_out()


@pipeline(dynamic=True, enable_cache=False)
def bench_dynamic_floor() -> None:
    _fan_out()


PIPELINES = {
    name: value
    for name, value in globals().items()
    if name.startswith("bench_") and hasattr(value, "with_options")
}


def setup() -> dict[str, Any]:
    """The two custom flavors, one artifact store and the three orchestrators, as three stacks."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    for source in (
        "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor",
        "_floor_orchestrator.FloorOrchestratorFlavor",
    ):
        client.create_flavor(source=source, component_type=StackComponentType.ORCHESTRATOR)
    endpoint, region, bucket = (
        os.environ["BENCH_ENDPOINT_URL"],
        os.environ["BENCH_REGION"],
        os.environ["BENCH_BUCKET"],
    )
    artifact_store: dict[str, Any] = {
        "path": f"s3://{bucket}/zenml",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": region},
    }
    client.create_stack_component(
        name="bench-s3",
        flavor="s3",
        component_type=StackComponentType.ARTIFACT_STORE,
        configuration=artifact_store,
    )
    client.create_stack_component(
        name="bench-ours",
        flavor="sagemaker_pipelines",
        component_type=StackComponentType.ORCHESTRATOR,
        configuration={
            "execution_role_arn": os.environ["BENCH_ROLE_ARN"],
            "region": region,
            "bucket": bucket,
            "secret_arn": os.environ["BENCH_SECRET_ARN"],
            "resource_prefix": "bench",
            "endpoint_url": endpoint,
        },
    )
    client.create_stack_component(
        name="bench-theirs",
        flavor="sagemaker",
        component_type=StackComponentType.ORCHESTRATOR,
        configuration={
            "execution_role": os.environ["BENCH_ROLE_ARN"],
            "region": region,
            "bucket": bucket,
        },
    )
    client.create_stack_component(
        name="bench-floor",
        flavor="bench_floor",
        component_type=StackComponentType.ORCHESTRATOR,
        configuration={},
    )
    # The built-in orchestrator needs a container registry; every stack gets the same one, so the
    # stacks differ only in the orchestrator. With skip_build nothing is ever pushed to it.
    client.create_stack_component(
        name="bench-ecr",
        flavor="aws",
        component_type=StackComponentType.CONTAINER_REGISTRY,
        configuration={"uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "default_repository": "bench"},
    )
    ids: dict[str, str] = {}
    for side, orchestrator in STACKS.items():
        stack = client.create_stack(
            name=STACKS[side],
            components={
                StackComponentType.ORCHESTRATOR: orchestrator,
                StackComponentType.ARTIFACT_STORE: "bench-s3",
                StackComponentType.CONTAINER_REGISTRY: "bench-ecr",
            },
        )
        ids[side] = str(stack.id)
    return {"stacks": ids}


#: The call that stops what each of these started (a submission's run must not load the machine),
#: and the member naming it: an execution by the ARN the start returned, a job by the name it was
#: created with.
STOPS = {
    "StartPipelineExecution": ("stop_pipeline_execution", "PipelineExecutionArn"),
    "CreateProcessingJob": ("stop_processing_job", "ProcessingJobName"),
    "CreateTrainingJob": ("stop_training_job", "TrainingJobName"),
}


class ApiCallCounter:
    """Counts AWS API calls made by this process: botocore clients and aiobotocore (s3fs) clients.

    The emulator keeps no request log, so the count is taken where the calls are made; every
    call the submitting process makes goes through one of these two methods.

    It also keeps the started execution from loading the machine while the submit is still being
    timed: right after StartPipelineExecution returns it stops that execution (a call that is
    neither counted nor timed), and it asks for at most one parallel step, so that at most one
    step process starts before the stop lands, whichever orchestrator submitted. A dynamic
    pipeline's orchestration job (CreateProcessingJob / CreateTrainingJob) is stopped the same way.
    """

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.active = False
        self.untimed = 0.0  # seconds spent in our own stop calls, taken off the latency

    def _after_start(self, client: Any, operation_name: str, api_params: Any, response: Any) -> None:
        if operation_name not in STOPS or not isinstance(response, dict) or not isinstance(api_params, dict):
            return
        stop, key = STOPS[operation_name]
        target = response.get(key) or api_params.get(key)
        if not target:
            return
        start = time.perf_counter()
        active, self.active = self.active, False
        try:
            getattr(client, stop)(**{key: target})
        except Exception:  # it may have ended already
            pass
        finally:
            self.active = active
            self.untimed += time.perf_counter() - start

    def _before(self, client: Any, operation_name: str, api_params: Any) -> Any:
        if not self.active:
            return api_params
        self.calls[f"{client.meta.service_model.service_name}:{operation_name}"] += 1
        if operation_name == "StartPipelineExecution" and isinstance(api_params, dict):
            api_params = {**api_params, "ParallelismConfiguration": {"MaxParallelExecutionSteps": 1}}
        return api_params

    def install(self) -> None:
        import botocore.client

        counter = self
        original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009

        def counted(client: Any, operation_name: str, api_params: Any) -> Any:
            was_active = counter.active
            api_params = counter._before(client, operation_name, api_params)
            response = original(client, operation_name, api_params)
            if was_active:
                counter._after_start(client, operation_name, api_params, response)
            return response

        setattr(botocore.client.BaseClient, "_make_api_call", counted)  # noqa: B010
        try:
            import aiobotocore.client
        except ImportError:
            return
        original_async = getattr(aiobotocore.client.AioBaseClient, "_make_api_call")  # noqa: B009

        async def counted_async(client: Any, operation_name: str, api_params: Any) -> Any:
            if counter.active:
                counter.calls[f"{client.meta.service_model.service_name}:{operation_name}"] += 1
            return await original_async(client, operation_name, api_params)

        setattr(aiobotocore.client.AioBaseClient, "_make_api_call", counted_async)  # noqa: B010


def submit(side: str, name: str) -> dict[str, Any]:
    """Run pipeline `name` asynchronously on stack `side`; seconds and API calls of the call."""
    from zenml.client import Client

    Client().activate_stack(STACKS[side])
    counter = ApiCallCounter()
    counter.install()
    submit_seconds = _time_dynamic_submission(counter)
    configured = PIPELINES[name].with_options(
        # The minimal image the harness pushed to the emulated ECR (the steps never read this).
        settings={
            "docker": DockerSettings(skip_build=True, parent_image=os.environ["BENCH_STEP_IMAGE"]),
            "orchestrator": {"synchronous": False},
        }
    )
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = None
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()
    counter.active = True
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    configured()
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - start - counter.untimed
    counter.active = False
    if profiler is not None and profile_path:
        profiler.dump_stats(profile_path)
    run = Client().list_pipeline_runs(pipeline=name, sort_by="desc:created", size=1).items[0]
    return {
        "seconds": elapsed,
        "submit_dynamic_seconds": submit_seconds[0] if submit_seconds else None,
        "calls": dict(counter.calls),
        "run_id": str(run.id),
        "snapshot_id": str(run.snapshot.id) if run.snapshot else None,
        "metadata": {key: str(value) for key, value in run.run_metadata.items()},
    }


def _time_dynamic_submission(counter: ApiCallCounter) -> list[float]:
    """Times the orchestrator's `submit_dynamic_pipeline`, from its call to its return (the
    orchestration job created), without the counter's untimed stop call; the list gets the time.

    Wrapped on the orchestrator instance when ZenML runs it, the same for every flavor, so no
    orchestrator module is imported before the pipeline call (that would move import time out
    of the measured call).
    """
    from zenml.orchestrators.base_orchestrator import BaseOrchestrator

    box: list[float] = []
    original_run = BaseOrchestrator.run

    def run(self: BaseOrchestrator, *args: Any, **kwargs: Any) -> Any:
        submit_dynamic = self.submit_dynamic_pipeline

        def timed(*inner_args: Any, **inner_kwargs: Any) -> Any:
            untimed, start = counter.untimed, time.perf_counter()
            try:
                return submit_dynamic(*inner_args, **inner_kwargs)
            finally:
                box.append(time.perf_counter() - start - (counter.untimed - untimed))

        self.submit_dynamic_pipeline = timed  # type: ignore[method-assign]
        return original_run(self, *args, **kwargs)

    BaseOrchestrator.run = run  # type: ignore[method-assign]
    return box


def main(argv: list[str]) -> None:
    try:
        if argv[0] == "setup":
            result = setup()
        elif argv[0] == "submit":
            result = submit(argv[1], argv[2])
        elif argv[0] == "startup":
            from _startup_pipelines import run_to_end

            result = run_to_end(argv[1], argv[2])
        else:
            raise SystemExit(
                f"unknown command {argv[0]!r}: use setup, submit <ours|theirs|floor> <pipeline> "
                "or startup <shape> <variant>"
            )
    except Exception as error:
        traceback.print_exc()
        result = {"fatal": f"{type(error).__name__}: {error}"}
    sys.stdout.flush()
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
