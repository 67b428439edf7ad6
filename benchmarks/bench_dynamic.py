"""Submission of a dynamic pipeline: our orchestrator against ZenML's `sagemaker` one.

The same harness, stacks and client as `bench_submit.py` (one emulator, one ZenML server, the
same artifact store, container registry and `DockerSettings(skip_build=True, parent_image=...)`),
for one `@pipeline(dynamic=True)` of the issue's shape (a step whose output is `.load()`ed, a
fan-out by `.submit()` and `.map()`, an isolated fan-in with its own ResourceSettings). A dynamic
submission creates one orchestration job (a standalone SageMaker job running ZenML's dynamic
runner) and returns; the pipeline's body runs inside that job, so it is not part of submitting.

Two times per submission, each in a fresh client process:
- the pipeline call, as `bench_submit.py` takes it (compile, snapshot, code upload, submit);
- the orchestrator's own part: the call to its `submit_dynamic_pipeline` until it returns with
  the orchestration job created.
The floor stack (`_floor_orchestrator.py`, whose `submit_dynamic_pipeline` does nothing) gives
ZenML's own work. The orchestration job is stopped right after its Create call (untimed,
uncounted), and the harness waits for it to end, so no job loads the machine during the next
submission. Runs alternate between the sides; which goes first flips every repetition.

    python benchmarks/bench_dynamic.py [--repetitions N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import _client_env
from _common import Row, median, ratio, samples, say, seconds
from bench_submit import FLOOR, SIDES

if TYPE_CHECKING:
    from _harness import Harness


def _calls_text(calls: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))


def run(harness: Harness, repetitions: int = 3) -> list[Row]:
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in (*SIDES, FLOOR)}
    for index in range(repetitions):
        order = (*SIDES, FLOOR) if index % 2 == 0 else (FLOOR, *reversed(SIDES))
        for side in order:
            result = harness.client("submit", side, f"bench_dynamic_{side}")
            harness.stop_jobs()
            results[side].append(result)
            say(
                f"dynamic submit {side} #{index + 1}: {result['seconds']:.2f} s, of which "
                f"submit_dynamic_pipeline {result['submit_dynamic_seconds']:.2f} s, "
                f"{sum(result['calls'].values())} API calls"
            )
    latency = {side: [float(r["seconds"]) for r in runs] for side, runs in results.items()}
    own = {side: [float(r["submit_dynamic_seconds"]) for r in runs] for side, runs in results.items()}
    ours, theirs, floor = (latency[side] for side in (*SIDES, FLOOR))
    value = ratio(median(ours), median(theirs))
    own_value = ratio(median(own["ours"]), median(own["theirs"]))
    print(f"dynamic submit ours: {median(ours):.2f} s ({samples(ours)})")
    print(f"dynamic submit theirs: {median(theirs):.2f} s ({samples(theirs)})")
    print(f"dynamic submit floor: {median(floor):.2f} s ({samples(floor)})")
    print(f"dynamic submit ratio ours/theirs: {value:.2f}")
    print(f"dynamic submit_dynamic_pipeline ratio ours/theirs: {own_value:.2f}", flush=True)
    calls = {side: [sum(r["calls"].values()) for r in results[side]] for side in SIDES}
    ours_calls, theirs_calls = (median([float(n) for n in calls[side]]) for side in SIDES)
    print(f"dynamic api calls per run ours/theirs: {ours_calls:g} / {theirs_calls:g}", flush=True)
    return [
        Row(
            benchmark="dynamic",
            metric=f"dynamic pipeline: latency of the pipeline call, median of {repetitions} "
            f"(ZenML's floor: {seconds(median(floor))}: {samples(floor)})",
            ours=f"{seconds(median(ours))} ({samples(ours)})",
            reference=f"built-in `sagemaker`: {seconds(median(theirs))} ({samples(theirs)})",
            ratio=f"{value:.2f}",
            goal="(none set)",
            met=None,
        ),
        Row(
            benchmark="dynamic",
            metric="dynamic pipeline: `submit_dynamic_pipeline`, its call to its return with the "
            f"orchestration job created, median of {repetitions}",
            ours=f"{seconds(median(own['ours']))} ({samples(own['ours'])})",
            reference=f"built-in `sagemaker`: {seconds(median(own['theirs']))} ({samples(own['theirs'])})",
            ratio=f"{own_value:.2f}",
            goal="(none set)",
            met=None,
        ),
        Row(
            benchmark="dynamic",
            metric="dynamic pipeline: AWS API calls per submission (median)",
            ours=f"{ours_calls:g} (last run: {_calls_text(results['ours'][-1]['calls'])})",
            reference=f"built-in `sagemaker`: {theirs_calls:g} "
            f"(last run: {_calls_text(results['theirs'][-1]['calls'])})",
            ratio=f"{ratio(ours_calls, theirs_calls):.2f}",
            goal="(none set)",
            met=None,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=3)
    _client_env.add_option(parser)
    args = parser.parse_args()
    from _harness import Harness

    with Harness(client_python=args.client_python) as harness:
        run(harness, args.repetitions)


if __name__ == "__main__":
    main()
