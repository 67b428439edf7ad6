"""The emulator's saved state: size and time of a snapshot, and what saving costs requests.

The state: our stack (the real app's synthesized template, created with CloudFormation) and
1,000 objects of 10 KiB in its bucket, versioned. Measured from the server's own report of each
save (`Emulator.state_report()`): the snapshot file and blob bytes against the objects' content,
the pause (pickling, while changes are held off) and the write (blobs and file, while requests
go on). Then requests while saving: a reader's HeadObject latencies with nothing changing (no
saves) against the same reader while a writer puts an object every 50 ms (a save every second);
the writer's own load is in that ratio too, the longest pause is the upper bound of the stall.
Last, a start that restores this state against a start with none.

    python benchmarks/bench_snapshot.py [--objects N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, Row, bench_environment, ratio, say, stopwatch

from sagemaker_stack.local.process.emulator import Emulator

OBJECT_BYTES = 10 * 1024


def _template(out_dir: Path) -> str:
    command = ["cdk", "synth", "-q", "--no-notices", "-o", str(out_dir)]
    completed = subprocess.run(
        command, cwd=REPO, env=bench_environment(), capture_output=True, text=True, timeout=600
    )
    if completed.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed:\n{completed.stderr[-3000:]}")
    manifest = json.loads((out_dir / "manifest.json").read_text())
    stack = next(
        name for name, item in manifest["artifacts"].items() if item["type"] == "aws:cloudformation:stack"
    )
    return (out_dir / f"{stack}.template.json").read_text()


def _deploy(emulator: Emulator, template: str) -> str:
    """The stack, created from the template; the name of its artifact bucket."""
    emulator.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
    cloudformation = emulator.client("cloudformation")
    cloudformation.create_stack(
        StackName="bench-stack", TemplateBody=template, Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    resources = cloudformation.list_stack_resources(StackName="bench-stack")["StackResourceSummaries"]
    return next(item["PhysicalResourceId"] for item in resources if item["ResourceType"] == "AWS::S3::Bucket")


def _next_save(emulator: Emulator, after: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = emulator.state_report()
        if report["saves"] > after:
            return report
        time.sleep(0.1)
    raise RuntimeError(f"no save within {timeout} s: {emulator.state_report()}")


def _latencies(
    emulator: Emulator, bucket: str, seconds: float, writing: bool
) -> tuple[list[float], list[float]]:
    """Reader latencies (s) for `seconds`, and the pauses of the saves made meanwhile."""
    reader, writer = emulator.client("s3"), emulator.client("s3")
    reader.head_object(Bucket=bucket, Key="objects/0")
    stop = threading.Event()

    def write() -> None:
        count = 0
        while not stop.wait(0.05):
            writer.put_object(Bucket=bucket, Key=f"written/{count % 20}", Body=b"x" * 100)
            count += 1

    thread = threading.Thread(target=write, daemon=True)
    if writing:
        thread.start()
    pauses: list[float] = []
    seen = emulator.state_report()["saves"]
    times: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with stopwatch() as elapsed:
            reader.head_object(Bucket=bucket, Key=f"objects/{len(times) % 1000}")
        times.append(elapsed[0])
        if len(times) % 50 == 0:
            report = emulator.state_report()
            if report["saves"] != seen:
                seen = report["saves"]
                pauses.append(report["pause_seconds"])
    stop.set()
    if writing:
        thread.join()
    return times, pauses


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def run(objects: int = 1000, seconds: float = 20.0) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as temporary:
        root = Path(temporary)
        say("synthesizing the app's template")
        template = _template(root / "cdk.out")
        with stopwatch() as empty_start:
            emulator = Emulator(root / "emulator").start()
        try:
            bucket = _deploy(emulator, template)
            s3 = emulator.client("s3")
            say(f"putting {objects} objects of {OBJECT_BYTES // 1024} KiB into {bucket}")
            for index in range(objects):
                s3.put_object(Bucket=bucket, Key=f"objects/{index}", Body=os.urandom(OBJECT_BYTES))
            time.sleep(3)  # the saves that wrote the new objects' blobs, as they came, are over
            saved = emulator.state_report()
            s3.put_object_tagging(
                Bucket=bucket, Key="objects/0", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
            )
            again = _next_save(emulator, saved["saves"])
            blobs = sum(path.stat().st_size for path in (root / "emulator" / "state" / "blobs").iterdir())
            content = objects * OBJECT_BYTES
            rows.append(
                Row(
                    "snapshot",
                    f"saved state, stack + {objects} objects",
                    f"{again['bytes'] / 1024:.0f} KiB file + {blobs / 2**20:.1f} MiB blobs",
                    f"{content / 2**20:.1f} MiB of object content",
                    f"{ratio(again['bytes'] + blobs, content):.2f}x",
                    "",
                    None,
                )
            )
            rows.append(
                Row(
                    "snapshot",
                    f"a save of stack + {objects} objects: pickling (changes held off)",
                    _ms(again["pause_seconds"]),
                    f"writing it out (requests go on): {_ms(again['write_seconds'])}",
                    "",
                    "",
                    None,
                )
            )
            say(f"reading for {seconds:.0f} s with nothing changing, then while writing (a save a second)")
            quiet, _ = _latencies(emulator, bucket, seconds, writing=False)
            busy, pauses = _latencies(emulator, bucket, seconds, writing=True)
            rows.append(
                Row(
                    "snapshot",
                    "HeadObject p99 while saving every second",
                    f"{_ms(_p99(busy))} (longest pause {_ms(max(pauses, default=0.0))}, {len(pauses)} saves)",
                    f"{_ms(_p99(quiet))} with no change to save",
                    f"{ratio(_p99(busy), _p99(quiet)):.2f}x",
                    "",
                    None,
                )
            )
        finally:
            emulator.stop()
        with stopwatch() as restoring:
            emulator = Emulator(root / "emulator").start()
        emulator.stop()
        rows.append(
            Row(
                "snapshot",
                f"start restoring stack + {objects} objects",
                f"{restoring[0]:.2f} s",
                f"{empty_start[0]:.2f} s with no saved state",
                f"{ratio(restoring[0], empty_start[0]):.2f}x",
                "",
                None,
            )
        )
    for row in rows:
        print(
            f"{row.benchmark}: {row.metric}: {row.ours} vs {row.reference} ({row.ratio or '-'})", flush=True
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each latency phase")
    args = parser.parse_args()
    run(args.objects, args.seconds)


if __name__ == "__main__":
    main()
