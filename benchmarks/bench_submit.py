"""Submission latency and AWS API calls per run: our orchestrator against ZenML's `sagemaker` one.

Both orchestrators submit no-op pipelines (a chain of 1, 10, 50 and 200 steps) asynchronously to the
same emulator, from the same ZenML server, with the same artifact store, container registry and
`DockerSettings(skip_build=True, parent_image=...)`. Latency is the wall time of the pipeline call
in the client process (compile, snapshot, code upload, submit; the call returns once the
SageMaker execution has started), each submission in a fresh process like a user's `python
run.py`. Runs alternate between the two sides (which goes first flips every repetition), and the
executions are stopped right after each submission so running steps do not load the machine.
A third stack, whose orchestrator does nothing (`_floor_orchestrator.py`), measures the floor:
ZenML's own work for any orchestrator. Latency minus that floor is each orchestrator's own time.
API calls are counted in the submitting process (botocore and aiobotocore clients): the emulator
keeps no request log.

    python benchmarks/bench_submit.py [--repetitions N] [--sizes 1,10,50,200] [--profile]
"""

from __future__ import annotations

import argparse
import io
import pstats
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import _client_env
from _common import Row, median, ratio, samples, say, seconds

if TYPE_CHECKING:
    from _harness import Harness

SIDES = ("ours", "theirs")
FLOOR = "floor"  # ZenML's own work: `_floor_orchestrator.py`, an orchestrator that does nothing
GOAL = 2.0  # ours at least 2x faster at 10 and 50 steps


def _calls_text(calls: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))


def run(harness: Harness, repetitions: int = 3, sizes: tuple[int, ...] = (1, 10, 50, 200)) -> list[Row]:
    latency: dict[tuple[str, int], list[float]] = {}
    calls: dict[tuple[str, int], list[dict[str, int]]] = {}
    for size in sizes:
        for index in range(repetitions):
            order = (*SIDES, FLOOR) if index % 2 == 0 else (FLOOR, *reversed(SIDES))
            for side in order:
                result = harness.client("submit", side, f"bench_{side}_{size}")
                harness.stop_executions()
                latency.setdefault((side, size), []).append(float(result["seconds"]))
                calls.setdefault((side, size), []).append({k: int(v) for k, v in result["calls"].items()})
                say(
                    f"submit {side} @{size} #{index + 1}: {result['seconds']:.2f} s, "
                    f"{sum(result['calls'].values())} API calls"
                )
    rows: list[Row] = []
    for size in sizes:
        ours, theirs, floor = (latency[(side, size)] for side in (*SIDES, FLOOR))
        value = ratio(median(ours), median(theirs))
        print(f"submit ours @{size} steps: {median(ours):.2f} s ({samples(ours)})")
        print(f"submit theirs @{size} steps: {median(theirs):.2f} s ({samples(theirs)})")
        print(f"submit floor @{size} steps: {median(floor):.2f} s ({samples(floor)})")
        print(f"submit ratio ours/theirs @{size} steps: {value:.2f}", flush=True)
        goal = size >= 10
        rows.append(
            Row(
                benchmark="submit",
                metric=f"submission latency @{size} steps, median of {repetitions}",
                ours=f"{seconds(median(ours))} ({samples(ours)})",
                reference=f"built-in `sagemaker`: {seconds(median(theirs))} ({samples(theirs)})",
                ratio=f"{value:.2f}",
                goal=f"<= {1 / GOAL:.2f} (2x faster)" if goal else "(no goal at 1 step)",
                met=(value <= 1 / GOAL) if goal else None,
            )
        )
        # What each orchestrator adds to ZenML's own work, and the best ratio any could reach.
        own_ours, own_theirs = median(ours) - median(floor), median(theirs) - median(floor)
        best = ratio(median(floor), median(theirs))
        own = ratio(own_ours, own_theirs)
        print(f"submit own-time ratio ours/theirs above the floor @{size} steps: {own:.2f}")
        print(f"submit best reachable ratio floor/theirs @{size} steps: {best:.2f}", flush=True)
        rows.append(
            Row(
                benchmark="submit",
                metric=f"orchestrator's own time @{size} steps: median latency minus ZenML's floor "
                f"({seconds(median(floor))}: {samples(floor)}; an orchestrator that does nothing). "
                f"Best ratio any orchestrator can reach: {best:.2f}",
                ours=seconds(own_ours),
                reference=f"built-in `sagemaker`: {seconds(own_theirs)}",
                ratio=f"{own:.2f}",
                goal="(none: explains the row above)",
                met=None,
            )
        )
    first = min(sizes)
    ours_first = median([float(sum(run.values())) for run in calls[("ours", first)]])
    for size in sizes:
        per_run = {side: [sum(run.values()) for run in calls[(side, size)]] for side in SIDES}
        ours_calls, theirs_calls = (
            median([float(n) for n in per_run["ours"]]),
            median([float(n) for n in per_run["theirs"]]),
        )
        print(f"api calls per run ours/theirs @{size} steps: {ours_calls:g} / {theirs_calls:g}", flush=True)
        # The calls of the last run of each side, by operation, so the table shows what they are.
        rows.append(
            Row(
                benchmark="api calls",
                metric=f"AWS API calls per run @{size} steps (median)",
                ours=f"{ours_calls:g} (last run: {_calls_text(calls[('ours', size)][-1])})",
                reference=f"built-in `sagemaker`: {theirs_calls:g} "
                f"(last run: {_calls_text(calls[('theirs', size)][-1])})",
                ratio=f"{ratio(ours_calls, theirs_calls):.2f}",
                goal=f"constant in steps (= {ours_first:g} at {first} step)",
                met=ours_calls == ours_first,
            )
        )
    pipelines = _pipeline_counts(harness)
    print(
        f"sagemaker pipelines left after the runs: ours {pipelines['ours']}, theirs {pipelines['theirs']}",
        flush=True,
    )
    rows.append(
        Row(
            benchmark="api calls",
            metric=f"SageMaker pipelines left after {repetitions} runs of each of "
            f"{len(sizes)} ZenML pipelines",
            ours=str(pipelines["ours"]),
            reference=f"built-in `sagemaker`: {pipelines['theirs']}",
            ratio=f"{ratio(pipelines['ours'], pipelines['theirs']):.2f}",
            goal="one per ZenML pipeline",
            met=pipelines["ours"] == len(sizes),
        )
    )
    return rows


def _pipeline_counts(harness: Harness) -> Counter[str]:
    sagemaker = harness.emulator.client("sagemaker")
    counts: Counter[str] = Counter({side: 0 for side in SIDES})
    for page in sagemaker.get_paginator("list_pipelines").paginate():
        for summary in page["PipelineSummaries"]:
            for side in SIDES:
                if f"bench-{side}-" in summary["PipelineName"] or f"bench_{side}_" in summary["PipelineName"]:
                    counts[side] += 1
    return counts


def profile(harness: Harness, side: str = "ours", size: int = 50, top: int = 25) -> str:
    """cProfile of one submission: the functions with the most cumulative time, as text."""
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as temporary:
        path = Path(temporary) / "submit.prof"
        harness.env["BENCH_PROFILE"] = str(path)
        try:
            result = harness.client("submit", side, f"bench_{side}_{size}")
        finally:
            harness.env.pop("BENCH_PROFILE", None)
        harness.stop_executions()
        text = io.StringIO()
        stats = pstats.Stats(str(path), stream=text)
        stats.sort_stats("cumulative").print_stats(top)
        # And the orchestrator's own code paths, which the import-heavy top entries can hide.
        stats.print_stats(r"sagemaker_stack|integrations/aws|sagemaker/workflow|code_utils", top)
    header = f"cProfile of one `{side}` submission @{size} steps ({result['seconds']:.2f} s wall)\n"
    return header + _trim(text.getvalue())


def _trim(report: str) -> str:
    """Paths shortened to the package, so the profile reads in a table."""
    return report.replace(str(Path(sys.executable).parent.parent / "lib"), "<venv>/lib")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50,200")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one submit per side")
    _client_env.add_option(parser)
    args = parser.parse_args()
    from _harness import Harness

    with Harness(client_python=args.client_python) as harness:
        run(harness, args.repetitions, tuple(int(size) for size in args.sizes.split(",")))
        if args.profile:
            for side in SIDES:
                print(profile(harness, side))


if __name__ == "__main__":
    main()
