"""Pipelines and ZenML client actions for the orchestrator's end-to-end tests.

Run as a script in a subprocess (`python e2e_orchestrator_pipelines.py <command>`), with the
ZenML client environment of the test's server and the emulator's AWS environment: ZenML keeps a
process-wide global configuration, so every client action gets a fresh process, exactly like a
user's shell. Each command prints one JSON object on its last stdout line.

ZenML uploads this file's folder (the source root of `__main__`) to the artifact store; the
steps import their code from that upload, not from the test tree.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Annotated, Any

from zenml import pipeline, step
from zenml.config import DockerSettings, ResourceSettings

from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings


def _docker() -> DockerSettings:
    # The minimal image the e2e stack pushed to the emulated ECR (the steps never read this).
    return DockerSettings(skip_build=True, parent_image=os.environ["E2E_STEP_IMAGE"])


def _settings(synchronous: bool) -> dict[str, Any]:
    return {
        "docker": _docker(),
        # One job per step: these tests name, stop and fail steps one by one. Step groups have
        # their own test (test_e2e_step_groups.py).
        "orchestrator": SagemakerPipelinesOrchestratorSettings(synchronous=synchronous, group_steps=False),
    }


# -- steps: small, but every value crosses S3 between processes --------------------------------


@step
def load(pause: int = 0) -> Annotated[list[int], "numbers"]:
    time.sleep(pause)  # a run to stop pauses here
    return list(range(10))


@step
def double(numbers: list[int]) -> Annotated[list[int], "doubled"]:
    return [2 * n for n in numbers]


@step
def square(numbers: list[int]) -> Annotated[list[int], "squared"]:
    return [n * n for n in numbers]


@step
def join(doubled: list[int], squared: list[int]) -> Annotated[int, "total"]:
    return sum(doubled) + sum(squared)


@step
def boom(numbers: list[int]) -> int:
    raise ValueError(f"deliberate failure after reading {len(numbers)} numbers")


@pipeline(enable_cache=False)
def diamond(pause: int = 0) -> None:
    numbers = load(pause=pause)
    join(double(numbers), square(numbers))


@pipeline(enable_cache=False)
def watched(pause: int = 0) -> None:
    """The diamond under a name of its own: the outage test's runs add no execution to `diamond`'s
    SageMaker pipeline, whose executions the orchestrator tests count (one stack per session)."""
    numbers = load(pause=pause)
    join(double(numbers), square(numbers))


@pipeline(enable_cache=False)
def failing() -> None:
    boom(load())


@pipeline(enable_cache=False)
def single() -> None:
    load()


def _report_channels(inputs: Path, output: Path) -> None:
    """Write `files.json` into `output`: every file under `inputs` with its text (the data settings).

    The step reads only the container paths SageMaker (and the built-in flavor) use: nothing is
    written when the step has no input channels.
    """
    if not inputs.is_dir():
        return
    files = {
        path.relative_to(inputs).as_posix(): path.read_text() for path in inputs.rglob("*") if path.is_file()
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "files.json").write_text(json.dumps(files, sort_keys=True))


@step
def echo_setting() -> Annotated[str, "setting"]:
    """What the step's process sees of the `environment` setting LONG_SETTING (600 characters)."""
    _report_channels(Path("/opt/ml/processing/input/data"), Path("/opt/ml/processing/output/data/report"))
    return os.environ.get("LONG_SETTING", "<unset>")


@step
def fit(setting: str) -> Annotated[int, "length"]:
    _report_channels(Path("/opt/ml/input/data"), Path("/opt/ml/model"))  # the model: model.tar.gz
    return len(setting)


@pipeline(enable_cache=False)
def configured() -> None:
    """Configured by a YAML file with the built-in flavor's settings (see test_e2e_orchestrator_settings)."""
    fit(echo_setting())


@step
def echo_value() -> Annotated[str, "value"]:
    """The `environment` setting RUN_VALUE as the step's process sees it."""
    return os.environ.get("RUN_VALUE", "<unset>")


@pipeline(enable_cache=False)
def valued() -> None:
    """One pipeline that concurrent runs start, each with its own RUN_VALUE."""
    echo_value()


# -- a dynamic pipeline: steps decided while it runs ---------------------------------------------


@step
def numbers_up_to(n: int) -> Annotated[list[int], "numbers"]:
    return list(range(1, n + 1))


@step
def square_of(x: int) -> Annotated[int, "square"]:
    return x * x


@step
def add_up(values: list[int]) -> Annotated[int, "total"]:
    return sum(values)


@step(settings={"resources": ResourceSettings(cpu_count=2)})
def add_up_isolated(values: list[int], pause: int = 0) -> Annotated[int, "isolated_total"]:
    """Its ResourceSettings make it an isolated step: a standalone SageMaker job of its own."""
    time.sleep(pause)  # a run to stop pauses here
    return sum(values)


@step
def verdict(label: str) -> Annotated[str, "verdict"]:
    return label


@pipeline(dynamic=True, enable_cache=False)
def fan_out(n: int = 4, pause: int = 0) -> None:
    """A fan-out decided at run time (`.submit()` in a loop and `.map()`), fan-ins, a branch."""
    numbers = numbers_up_to(n)
    squares = [square_of.submit(x) for x in numbers.load()]
    mapped = square_of.map(numbers)
    total = add_up(squares)
    add_up_isolated(mapped, pause=pause)
    if total.load() > 20:
        verdict("big")
    else:
        verdict("small")


PIPELINES = {
    "fan_out": fan_out,
    "diamond": diamond,
    "failing": failing,
    "single": single,
    "configured": configured,
    "valued": valued,
}


# -- client actions --------------------------------------------------------------------------


def setup() -> dict[str, Any]:
    """Register the flavor, an S3 artifact store on the emulator, our orchestrator and a stack."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    client = Client()
    source = "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor"
    client.create_flavor(source=source, component_type=StackComponentType.ORCHESTRATOR)
    endpoint, region = os.environ["E2E_ENDPOINT_URL"], os.environ["E2E_REGION"]
    artifact_store: dict[str, Any] = {
        "path": f"s3://{os.environ['E2E_BUCKET']}/zenml",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": region},
    }
    client.create_stack_component(
        name="e2e-s3",
        flavor="s3",
        component_type=StackComponentType.ARTIFACT_STORE,
        configuration=artifact_store,
    )
    orchestrator: dict[str, Any] = {
        "execution_role_arn": os.environ["E2E_ROLE_ARN"],
        "region": region,
        "bucket": os.environ["E2E_BUCKET"],
        "secret_arn": os.environ["E2E_SECRET_ARN"],
        "resource_prefix": "e2e",
        "endpoint_url": endpoint,
        # None when the test's stack has no scheduler role (schedules are then refused).
        "scheduler_role_arn": os.environ.get("E2E_SCHEDULER_ROLE_ARN") or None,
    }
    client.create_stack_component(
        name="e2e-sagemaker",
        flavor="sagemaker_pipelines",
        component_type=StackComponentType.ORCHESTRATOR,
        configuration=orchestrator,
    )
    stack = client.create_stack(
        name="e2e-stack",
        components={
            StackComponentType.ORCHESTRATOR: "e2e-sagemaker",
            StackComponentType.ARTIFACT_STORE: "e2e-s3",
        },
    )
    client.activate_stack(stack.id)
    return {"stack_id": str(stack.id)}


def _run_report(run_id: Any, error: BaseException | None = None) -> dict[str, Any]:
    from zenml.client import Client
    from zenml.utils.run_utils import refresh_run_status

    run = Client().get_pipeline_run(run_id)
    # What ZenML knew before anyone asked SageMaker again (the orchestrator's own doing).
    status_before_refresh = run.status.value
    run = refresh_run_status(run, include_step_updates=True)
    run = Client().get_pipeline_run(run.id)
    metadata = {key: str(value) for key, value in run.run_metadata.items()}
    return {
        "run_id": str(run.id),
        "snapshot_id": str(run.snapshot.id) if run.snapshot else None,
        "status": run.status.value,
        "status_before_refresh": status_before_refresh,
        "steps": {name: step_run.status.value for name, step_run in run.steps.items()},
        "stack": run.stack.name if run.stack else None,
        "metadata": metadata,
        "error": _describe(error) if error else None,
    }


def _describe(error: BaseException) -> str:
    """The error and what caused it (ZenML wraps a monitoring failure in RunMonitoringError)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    # Exception chains can loop (a context pointing back): stop at the first repeat.
    while current is not None and id(current) not in seen and len(parts) < 10:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        nested = getattr(current, "original_exception", None)
        current = nested if isinstance(nested, BaseException) else (current.__cause__ or current.__context__)
    return "\n".join(parts)


def _latest_run_id(name: str) -> Any:
    from zenml.client import Client

    return Client().list_pipeline_runs(pipeline=name, sort_by="desc:created", size=1).items[0].id


def run(name: str, synchronous: bool = True) -> dict[str, Any]:
    """Run a pipeline; report the ZenML run (status refreshed from SageMaker) and any error."""
    error: BaseException | None = None
    try:
        PIPELINES[name].with_options(settings=_settings(synchronous))()
    except Exception as caught:
        error = caught
    return _run_report(_latest_run_id(name), error)


def run_through(endpoint_url: str, pause: int) -> dict[str, Any]:
    """`watched` (a diamond) whose first step takes `pause` seconds, the client reaching SageMaker at
    `endpoint_url`.

    Only the orchestrator's endpoint changes (the client's SageMaker calls and the watch); the
    steps and the artifact store keep reaching the emulator itself.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType

    def point_at(url: str) -> None:
        Client().update_stack_component(
            "e2e-sagemaker", StackComponentType.ORCHESTRATOR, configuration={"endpoint_url": url}
        )

    point_at(endpoint_url)
    error: BaseException | None = None
    try:
        watched.with_options(settings=_settings(True))(pause=pause)
    except Exception as caught:
        error = caught
    finally:  # the session's other tests reach the emulator directly again
        point_at(os.environ["E2E_ENDPOINT_URL"])
    return _run_report(_latest_run_id("watched"), error)


def run_config(name: str, config_path: str) -> dict[str, Any]:
    """Run a pipeline configured by a YAML file (`settings: orchestrator:` ...), as a user would."""
    error: BaseException | None = None
    try:
        PIPELINES[name].with_options(config_path=config_path, settings={"docker": _docker()})()
    except Exception as caught:
        error = caught
    if error is not None and "cannot run on SageMaker Pipelines" in str(error):
        return {"error": _describe(error)}  # refused before any AWS call: nothing ran
    run_id = _latest_run_id(name)
    report = _run_report(run_id, error)
    from zenml.client import Client

    run = Client().get_pipeline_run(run_id)
    if "echo_setting" in run.steps and run.steps["echo_setting"].status.value == "completed":
        report["setting"] = run.steps["echo_setting"].outputs["setting"][0].load()
    return report


def run_with_value(value: str) -> dict[str, Any]:
    """Run `valued` with RUN_VALUE=`value` in the step's `environment`; report what the step saw."""
    from zenml.client import Client

    settings = {
        "docker": _docker(),
        "orchestrator": SagemakerPipelinesOrchestratorSettings(environment={"RUN_VALUE": value}),
    }
    error: BaseException | None = None
    run_id = None
    try:
        run_id = valued.with_options(settings=settings, run_name=f"valued-{value}")().id  # type: ignore[union-attr]
    except Exception as caught:
        error = caught
        traceback.print_exc()
    if run_id is None:  # the run was refused or failed before ZenML returned it: find it, if any
        found = Client().list_pipeline_runs(name=f"valued-{value}").items
        if not found:
            return {"fatal": _describe(error) if error else "the pipeline call returned no run"}
        run_id = found[0].id
    report = _run_report(run_id, error)
    step = Client().get_pipeline_run(run_id).steps.get("echo_value")
    if step is not None and step.status.value == "completed":
        report["value"] = step.outputs["value"][0].load()
    return report


def run_and_stop() -> dict[str, Any]:
    """Start `diamond` without waiting, stop it while its first step pauses, wait until it ended."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.utils.run_utils import refresh_run_status, stop_run

    diamond.with_options(settings=_settings(synchronous=False))(pause=300)
    run_id = _latest_run_id("diamond")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        current = Client().get_pipeline_run(run_id)
        if "load" in current.steps and current.steps["load"].status == ExecutionStatus.RUNNING:
            break
        time.sleep(1)
    else:
        return {**_run_report(run_id), "error": "the load step never started"}
    stop_run(Client().get_pipeline_run(run_id), graceful=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = refresh_run_status(Client().get_pipeline_run(run_id), include_step_updates=True)
        if current.status.is_finished:
            break
        time.sleep(1)
    return _run_report(run_id)


def run_dynamic(n: int) -> dict[str, Any]:
    """Run `fan_out`; report the run, each step's single output and each isolated step's job."""
    from zenml.client import Client

    error: BaseException | None = None
    try:
        fan_out.with_options(settings=_settings(True))(n=n)
    except Exception as caught:
        error = caught
    run_id = _latest_run_id("fan_out")
    report = _run_report(run_id, error)
    run = Client().get_pipeline_run(run_id)
    report["outputs"] = {
        name: step_run.outputs[next(iter(step_run.outputs))][0].load()
        for name, step_run in run.steps.items()
        if step_run.status.value == "completed" and len(step_run.outputs) == 1
    }
    report["jobs"] = {
        name: str(step_run.run_metadata["sagemaker_job_name"])
        for name, step_run in run.steps.items()
        if "sagemaker_job_name" in step_run.run_metadata
    }
    return report


def run_dynamic_and_stop() -> dict[str, Any]:
    """Start `fan_out` without waiting, stop it while its isolated step pauses; report the jobs."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.utils.run_utils import stop_run

    fan_out.with_options(settings=_settings(synchronous=False))(n=2, pause=300)
    run_id = _latest_run_id("fan_out")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        step_run = Client().get_pipeline_run(run_id).steps.get("add_up_isolated")
        if step_run is not None and step_run.status == ExecutionStatus.RUNNING:
            break
        time.sleep(1)
    else:
        return {**_run_report(run_id), "error": "the isolated step never started"}
    run = Client().get_pipeline_run(run_id)
    stop_run(run, graceful=False)
    return {
        "run_id": str(run_id),
        "orchestration_job": str(run.run_metadata["orchestration_job_name"]),
        "jobs": {"add_up_isolated": str(step_run.run_metadata["sagemaker_job_name"])},
    }


def schedule(name: str, cron: str) -> dict[str, Any]:
    """Schedule a pipeline with a cron expression; report the ZenML schedule and its snapshot."""
    from uuid import uuid4

    from zenml.client import Client
    from zenml.config.schedule import Schedule

    schedule_name = f"e2e-{name}-{uuid4().hex[:8]}"
    PIPELINES[name].with_options(
        settings=_settings(synchronous=False), schedule=Schedule(name=schedule_name, cron_expression=cron)
    )()
    client = Client()
    stored = client.get_schedule(schedule_name)
    snapshots = client.list_snapshots(
        schedule_id=stored.id, named_only=False, sort_by="desc:created", size=1
    ).items
    return {
        "schedule_id": str(stored.id),
        "schedule_name": schedule_name,
        "snapshot_id": str(snapshots[0].id) if snapshots else None,
    }


def delete_schedule(schedule_id: str) -> dict[str, Any]:
    """ZenML's own schedule deletion, which calls the orchestrator's `delete_schedule`."""
    from zenml.client import Client

    Client().delete_schedule(schedule_id)
    return {"deleted": schedule_id}


def main(argv: list[str]) -> None:
    command = argv[0]
    try:
        if command == "setup":
            result = setup()
        elif command == "run":
            result = run(argv[1], synchronous=argv[2:] != ["--async"])
        elif command == "run-through":
            result = run_through(argv[1], int(argv[2]))
        elif command == "run-config":
            result = run_config(argv[1], argv[2])
        elif command == "run-with-value":
            result = run_with_value(argv[1])
        elif command == "run-dynamic":
            result = run_dynamic(int(argv[1]))
        elif command == "run-dynamic-and-stop":
            result = run_dynamic_and_stop()
        elif command == "stop":
            result = run_and_stop()
        elif command == "report":
            result = _run_report(argv[1])
        elif command == "schedule":
            result = schedule(argv[1], argv[2])
        elif command == "delete-schedule":
            result = delete_schedule(argv[1])
        else:
            raise SystemExit(f"unknown command {command!r}")
    except Exception as error:
        traceback.print_exc()
        result = {"fatal": _describe(error)}
    sys.stdout.flush()
    print("\n" + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
