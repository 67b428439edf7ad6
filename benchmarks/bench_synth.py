"""`cdk synth` of our app against a bare CDK app with one bucket.

The bare app sets the floor: Node start-up, the cdk CLI, Python start-up and jsii loading
aws-cdk-lib cost the same for any CDK app. The ratio says what our constructs, settings
validation and cdk-nag add on top. After one unmeasured run of each, runs alternate (who goes
first flips every repetition) so that a machine slowing down or warming up affects both alike.

    python benchmarks/bench_synth.py [--repetitions N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, Row, bench_environment, median, ratio, samples, say, seconds, stopwatch

BARE_APP = '''"""A CDK app with one bucket: the floor of any `cdk synth`."""
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App()
stack = cdk.Stack(app, "BareStack")
s3.Bucket(stack, "Bucket")
app.synth()
'''


def write_bare_app(folder: Path) -> Path:
    """The bare app with its own cdk.json that runs it with this interpreter (the venv's)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bare_app.py").write_text(BARE_APP)
    (folder / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} bare_app.py"}))
    return folder


def synth_once(app_dir: Path, out_dir: Path) -> float:
    """Wall time of one `cdk synth -q -o out_dir` in app_dir; raises with the CLI's output on failure."""
    command = ["cdk", "synth", "-q", "--no-notices", "-o", str(out_dir)]
    with stopwatch() as elapsed:
        completed = subprocess.run(
            command, cwd=app_dir, env=bench_environment(), capture_output=True, text=True, timeout=600
        )
    if completed.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` in {app_dir} failed (exit {completed.returncode}):\n"
            f"{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
        )
    return elapsed[0]


def run(repetitions: int = 3) -> list[Row]:
    ours: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as temporary:
        root = Path(temporary)
        bare_dir = write_bare_app(root / "bare")
        # One unmeasured run of each first: the first synth after a while pays cold file caches.
        synth_once(REPO, root / "warm-ours")
        synth_once(bare_dir, root / "warm-bare")
        sides = {"ours": (REPO, ours), "bare": (bare_dir, bare)}
        for index in range(repetitions):
            # Who goes first flips every repetition, so a drift in machine load hits both alike.
            order = ("ours", "bare") if index % 2 == 0 else ("bare", "ours")
            for side in order:
                app_dir, times = sides[side]
                times.append(synth_once(app_dir, root / f"{side}-{index}"))
                say(f"synth {side} #{index + 1}: {times[-1]:.2f} s")
    synth_ratio = ratio(median(ours), median(bare))
    print(f"synth ours median: {median(ours):.2f} s ({samples(ours)})")
    print(f"synth bare median: {median(bare):.2f} s ({samples(bare)})")
    print(f"synth ratio ours/bare: {synth_ratio:.2f}", flush=True)
    return [
        Row(
            benchmark="synth",
            metric=f"`cdk synth` wall time, median of {repetitions}",
            ours=f"{seconds(median(ours))} ({samples(ours)})",
            reference=f"bare app, one bucket: {seconds(median(bare))} ({samples(bare)})",
            ratio=f"{synth_ratio:.2f}",
            goal="(no goal: reported)",
            met=None,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repetitions", type=int, default=3)
    run(parser.parse_args().repetitions)


if __name__ == "__main__":
    main()
