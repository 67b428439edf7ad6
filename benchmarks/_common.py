"""Helpers shared by the benchmark scripts: timing, medians, ratios, machine facts, results.

Benchmarks are not tests: they print numbers and never fail on them. Each script returns a list
of `Row`s (one measured quantity, ours against its reference) and prints every ratio on its own
line, so `make bench` output can be read or grepped; `run_all.py` turns the rows into the table in
BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Steps need an image in the emulated ECR: the benchmarks push the tests' minimal step image
# (tests.support.images), so the repository's root must be importable.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@dataclass
class Row:
    """One measured quantity: ours against the reference, with the goal the issue sets."""

    benchmark: str
    metric: str
    ours: str
    reference: str
    ratio: str
    goal: str
    met: bool | None  # None: no goal, or could not be measured

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def samples(values: list[float]) -> str:
    """The individual runs, so a reader sees the spread behind a median."""
    return ", ".join(f"{value:.2f}" for value in values)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as elapsed:` ... `elapsed[0]` is the wall time in seconds afterwards."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only results."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_environment() -> dict[str, str]:
    """The caller's environment with the venv first on PATH (the cdk CLI finds Node there).

    The CDK CLI's notices and telemetry would try the network; both are turned off.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


def machine_facts() -> dict[str, str]:
    """What BENCHMARKS.md reports about the machine: cores, memory, CPU model, Python."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = subprocess.run(["free", "-g"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        memory = "unknown"
    return {
        "nproc": str(os.cpu_count() or "unknown"),
        "cpu": cpu,
        "free -g": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_rows(path: Path, rows: list[Row]) -> None:
    path.write_text(json.dumps([row.as_dict() for row in rows], indent=2))
