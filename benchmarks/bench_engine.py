"""The emulator engine's overhead: a pipeline through the engine against the same commands run plainly.

Two shapes: a chain of 10 steps, and a diamond (a -> b, c -> d). The floor is the same step
commands, with the same environment the engine gives them, run one after another by a plain
script (subprocess.run). For the chain the ratio engine/floor says what the engine adds per step
(scheduling, job records, log shipping, polling); for the diamond the engine's wall time is set
against its critical path, a + max(b, c) + d, taken from the floor run's per-step durations.

Step commands, in order of preference:
- `zenml`: the real ZenML step entrypoint commands of a no-op pipeline, submitted through our
  orchestrator to a local ZenML server and read back from the emulator (DescribePipeline):
  what a step really costs (Python start, ZenML import, store, code download, the step).
- `fallback`: each step runs `python -c "import zenml"` (Python start + ZenML import, about
  a quarter of a real step). Overhead ratios come out higher than with real steps, since the
  engine's fixed cost per step is divided by a smaller step.

    python benchmarks/bench_engine.py [--mode zenml|fallback] [--repetitions N]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import _client_env
from _common import Row, median, ratio, samples, say, seconds, stopwatch

from sagemaker_stack.local.images.container import container_command, container_environment, prepare_work_dir
from sagemaker_stack.local.images.store import ImageStore
from sagemaker_stack.local.process.emulator import Emulator
from tests.support.images import STEP_IMAGE, step_image

if TYPE_CHECKING:
    from _harness import Harness

ROLE_ARN = "arn:aws:iam::123456789012:role/bench-engine"
FALLBACK_CODE = "import zenml"
POLL_SECONDS = 0.1
#: The SageMaker execution variable a step's environment may reference; the floor fills it in.
EXECUTION_ARN_REFERENCE = {"Get": "Execution.PipelineExecutionArn"}


@dataclass(frozen=True)
class Step:
    """One step as the engine and the floor both run it."""

    name: str
    depends_on: tuple[str, ...]
    entrypoint: tuple[str, ...]
    arguments: tuple[Any, ...] = ()  # strings, or `Get` expressions in a real definition
    environment: dict[str, Any] = field(default_factory=dict)
    #: The step's full SageMaker step JSON when read back from a real definition (kept as is).
    raw: dict[str, Any] | None = None


@dataclass
class Case:
    """A pipeline to run both ways: its steps, declared parameters and this run's parameter values."""

    steps: list[Step]
    parameters: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Timing:
    wall: float
    per_step: dict[str, float]


def fallback_steps(shape: str) -> list[Step]:
    """No-op steps that cost a Python start and a ZenML import each."""
    entrypoint = ("python3", "-c", FALLBACK_CODE)
    if shape == "chain":
        names = [f"step-{index:02d}" for index in range(10)]
        return [Step(name, (names[i - 1],) if i else (), entrypoint) for i, name in enumerate(names)]
    return [
        Step("a", (), entrypoint),
        Step("b", ("a",), entrypoint),
        Step("c", ("a",), entrypoint),
        Step("d", ("b", "c"), entrypoint),
    ]


def step_json(step: Step) -> dict[str, Any]:
    if step.raw is not None:
        return step.raw
    arguments: dict[str, Any] = {
        "AppSpecification": {
            "ImageUri": STEP_IMAGE,
            "ContainerEntrypoint": list(step.entrypoint),
            **({"ContainerArguments": list(step.arguments)} if step.arguments else {}),
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 30}
        },
        "RoleArn": ROLE_ARN,
    }
    if step.environment:
        arguments["Environment"] = step.environment
    document: dict[str, Any] = {"Name": step.name, "Type": "Processing", "Arguments": arguments}
    if step.depends_on:
        document["DependsOn"] = list(step.depends_on)
    return document


def definition(case: Case) -> str:
    steps = [step_json(step) for step in case.steps]
    return json.dumps({"Version": "2020-12-01", "Parameters": case.parameters, "Steps": steps})


# -- through the engine ---------------------------------------------------------------------------


def run_engine(
    emulator: Emulator, pipeline_name: str, case: Case, poll_seconds: float = POLL_SECONDS
) -> Timing:
    """StartPipelineExecution to the status Succeeded, seen by a client polling every 0.1 s.

    Each poll is a request the emulator serves while steps run: a longer interval costs the
    machine less but adds up to one interval to the measured wall time.
    """
    sagemaker = emulator.client("sagemaker")
    document = definition(case)
    existing = sagemaker.list_pipelines(PipelineNamePrefix=pipeline_name)["PipelineSummaries"]
    if any(summary["PipelineName"] == pipeline_name for summary in existing):
        sagemaker.update_pipeline(PipelineName=pipeline_name, PipelineDefinition=document, RoleArn=ROLE_ARN)
    else:
        sagemaker.create_pipeline(PipelineName=pipeline_name, PipelineDefinition=document, RoleArn=ROLE_ARN)
    start = time.perf_counter()
    request: dict[str, Any] = {"PipelineName": pipeline_name}
    if case.values:
        request["PipelineParameters"] = [{"Name": key, "Value": value} for key, value in case.values.items()]
    arn = sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"]
    while True:
        status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if status not in ("Executing", "Stopping"):
            break
        time.sleep(poll_seconds)
    wall = time.perf_counter() - start
    listed = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn, MaxResults=100)
    per_step = {
        item["StepName"]: (item["EndTime"] - item["StartTime"]).total_seconds()
        for item in listed["PipelineExecutionSteps"]
        if "EndTime" in item
    }
    if status != "Succeeded":
        failures = {item["StepName"]: item.get("FailureReason") for item in listed["PipelineExecutionSteps"]}
        raise RuntimeError(f"the engine's execution of {pipeline_name} ended {status}: {failures}")
    return Timing(wall, per_step)


# -- the floor: the same commands, one after another -----------------------------------------------


def _value(value: Any, execution_arn: str, case: Case) -> str:
    """A step argument or environment value, with the `Get` expressions SageMaker would resolve."""
    if isinstance(value, str):
        return value
    if value == EXECUTION_ARN_REFERENCE:
        return execution_arn
    reference = value.get("Get", "") if isinstance(value, dict) else ""
    if reference.startswith("Parameters."):
        name = reference.split(".", 1)[1]
        if name in case.values:
            return case.values[name]
        for parameter in case.parameters:
            if parameter.get("Name") == name and "DefaultValue" in parameter:
                return str(parameter["DefaultValue"])
    raise ValueError(f"the floor cannot fill in the step value {value!r}")


def run_floor(emulator: Emulator, case: Case, work_root: Path) -> Timing:
    """Each step's command with the environment the engine would give it, sequentially."""
    execution_arn = (
        f"arn:aws:sagemaker:{emulator.region}:123456789012:pipeline/bench-floor/execution/"
        f"{uuid.uuid4().hex[:12]}"
    )
    per_step: dict[str, float] = {}
    store = ImageStore(emulator.image_store)
    image_id = store.find(STEP_IMAGE)  # every step here runs in the minimal step image
    if image_id is None:
        raise RuntimeError(f"{STEP_IMAGE} is not in the emulator's image store {store.root}")
    image = store.image(image_id)
    start = time.perf_counter()
    for step in case.steps:
        work_dir = work_root / f"{uuid.uuid4().hex[:8]}-{step.name}"
        prepare_work_dir(image, work_dir)
        environment = container_environment(
            {key: _value(value, execution_arn, case) for key, value in step.environment.items()},
            image=image,
            region=emulator.region,
            endpoint_url=emulator.endpoint_url,
            home=work_dir,
        )
        arguments = [_value(argument, execution_arn, case) for argument in step.arguments]
        specification = {"ContainerEntrypoint": list(step.entrypoint), "ContainerArguments": arguments}
        command = container_command("Processing", specification, image, work_dir)
        with stopwatch() as elapsed:
            completed = subprocess.run(
                command, cwd=work_dir, env=environment, capture_output=True, text=True, timeout=600
            )
        if completed.returncode != 0:
            raise RuntimeError(
                f"floor step {step.name} failed (exit {completed.returncode}): {completed.stdout[-3000:]}"
            )
        per_step[step.name] = elapsed[0]
    return Timing(time.perf_counter() - start, per_step)


# -- the comparison ------------------------------------------------------------------------------


def critical_path(timing: Timing, steps: list[Step]) -> float:
    """The longest dependency path through the DAG, with the floor's per-step durations."""
    finish: dict[str, float] = {}
    for step in steps:  # steps are listed in dependency order
        ready = max((finish[name] for name in step.depends_on), default=0.0)
        finish[step.name] = ready + timing.per_step[step.name]
    return max(finish.values())


def measure(
    emulator: Emulator,
    shapes: dict[str, Case],
    repetitions: int,
    label: str,
    poll_seconds: float = POLL_SECONDS,
) -> list[Row]:
    """Alternate engine and floor runs for every shape; print and return the ratios."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", label).strip("-")[:30]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-floor-") as temporary:
        for shape, case in shapes.items():
            engine: list[Timing] = []
            floor: list[Timing] = []
            for index in range(repetitions):
                engine.append(run_engine(emulator, f"bench-engine-{slug}-{shape}", case, poll_seconds))
                say(f"engine {shape} ({label}) #{index + 1}: {engine[-1].wall:.2f} s")
                floor.append(run_floor(emulator, case, Path(temporary)))
                say(f"floor {shape} ({label}) #{index + 1}: {floor[-1].wall:.2f} s")
            engine_wall = [timing.wall for timing in engine]
            floor_wall = [timing.wall for timing in floor]
            step_median = median([value for timing in floor for value in timing.per_step.values()])
            engine_step_median = median([value for timing in engine for value in timing.per_step.values()])
            # Where the engine's extra time goes: inside the step processes, or between them.
            print(
                f"{shape} ({label}): median step {engine_step_median:.2f} s in the engine "
                f"(StartTime..EndTime of ListPipelineExecutionSteps), {step_median:.2f} s in the floor",
                flush=True,
            )
            if shape == "chain":
                value = ratio(median(engine_wall), median(floor_wall))
                print(f"engine chain wall ({label}): {median(engine_wall):.2f} s ({samples(engine_wall)})")
                print(f"floor chain wall ({label}): {median(floor_wall):.2f} s ({samples(floor_wall)})")
                print(f"engine chain ratio (engine/sequential floor): {value:.2f}", flush=True)
                rows.append(
                    Row(
                        benchmark=f"engine ({label})",
                        metric=f"10-step chain wall time, median of {repetitions} "
                        f"(one step: {step_median:.2f} s)",
                        ours=f"{seconds(median(engine_wall))} ({samples(engine_wall)})",
                        reference=f"sequential floor: {seconds(median(floor_wall))} ({samples(floor_wall)})",
                        ratio=f"{value:.2f}",
                        goal="<= 1.10",
                        met=value <= 1.10,
                    )
                )
            else:
                paths = [critical_path(timing, case.steps) for timing in floor]
                value = ratio(median(engine_wall), median(paths))
                print(f"engine diamond wall ({label}): {median(engine_wall):.2f} s ({samples(engine_wall)})")
                print(f"diamond critical path ({label}): {median(paths):.2f} s ({samples(paths)})")
                print(f"diamond sequential floor ({label}): {median(floor_wall):.2f} s")
                print(f"engine diamond wall/critical path: {value:.2f}", flush=True)
                rows.append(
                    Row(
                        benchmark=f"engine ({label})",
                        metric=f"diamond wall time vs critical path a+max(b,c)+d, median of {repetitions}",
                        ours=f"{seconds(median(engine_wall))} ({samples(engine_wall)})",
                        reference=f"critical path: {seconds(median(paths))} ({samples(paths)}); "
                        f"sequential: {seconds(median(floor_wall))}",
                        ratio=f"{value:.2f}",
                        goal="<= 1.30 (2 cores)",
                        met=value <= 1.30,
                    )
                )
    return rows


def run_fallback(repetitions: int = 3, poll_seconds: float = POLL_SECONDS) -> list[Row]:
    """The engine with `python -c "import zenml"` steps on its own emulator."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-engine-") as temporary,
        Emulator(state_dir=Path(temporary) / "emulator") as emulator,
    ):
        step_image(emulator)
        shapes = {"chain": Case(fallback_steps("chain")), "diamond": Case(fallback_steps("diamond"))}
        return measure(
            emulator, shapes, repetitions, "fallback: python -c 'import zenml' steps", poll_seconds
        )


def run_zenml(harness: Harness, repetitions: int = 3) -> list[Row]:
    """The engine with real ZenML step entrypoints, from definitions our orchestrator submitted."""
    shapes: dict[str, Case] = {}
    for shape in ("chain", "diamond"):
        result = harness.client("submit", "ours", f"bench_engine_{shape}")
        harness.stop_executions()  # the submit started an execution: not the one we time
        execution_arn = str(result["metadata"]["orchestrator_run_id"])
        document = harness.definition_of(execution_arn)
        declared = list(document.get("Parameters") or [])
        # Our definitions read the ZenML snapshot id from a pipeline parameter that each run sets.
        values = {
            str(parameter["Name"]): str(result["snapshot_id"])
            for parameter in declared
            if parameter.get("Name") == "ZenMLSnapshotId" and result.get("snapshot_id")
        }
        shapes[shape] = Case(steps_from_definition(document), declared, values)
        say(f"read back the {shape} definition: {len(shapes[shape].steps)} steps, parameters {values}")
    return measure(harness.emulator, shapes, repetitions, "real ZenML step entrypoints")


def steps_from_definition(document: dict[str, Any]) -> list[Step]:
    """Steps of a real definition (read back from the emulator), kept verbatim for the engine."""
    steps: list[Step] = []
    for raw in document["Steps"]:
        arguments = raw["Arguments"]
        specification = arguments.get("AppSpecification") or arguments.get("AlgorithmSpecification") or {}
        steps.append(
            Step(
                name=raw["Name"],
                depends_on=tuple(raw.get("DependsOn") or ()),
                entrypoint=tuple(specification.get("ContainerEntrypoint") or ()),
                arguments=tuple(specification.get("ContainerArguments") or ()),
                environment=dict(arguments.get("Environment") or {}),
                raw=raw,
            )
        )
    return _dependency_order(steps)


def _dependency_order(steps: list[Step]) -> list[Step]:
    by_name = {step.name: step for step in steps}
    ordered: list[Step] = []
    seen: set[str] = set()

    def visit(step: Step) -> None:
        if step.name in seen:
            return
        seen.add(step.name)
        for name in step.depends_on:
            visit(by_name[name])
        ordered.append(step)

    for step in steps:
        visit(step)
    return ordered


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["zenml", "fallback"], default="zenml")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS)
    _client_env.add_option(parser)
    args = parser.parse_args()
    if args.mode == "fallback":
        run_fallback(args.repetitions, args.poll_seconds)
    else:
        from _harness import Harness

        with Harness(client_python=args.client_python) as harness:
            run_zenml(harness, args.repetitions)


if __name__ == "__main__":
    main()
