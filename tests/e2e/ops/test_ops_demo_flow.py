"""`sagemaker-stack demo` (what `make demo` runs) end to end, as a newcomer would see it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_stack.ops.demo import DEMO_STATE

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[3]


def test_demo_deploys_runs_reports_and_tears_down() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ZENML_"))}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "sagemaker-stack"), "demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    # Each phase ran, through the real tools, and said what it did.
    assert "cdk deploy sagemaker-stack-demo" in output
    assert "created stack 'sagemaker-stack-demo'" in output
    assert "Succeeded: 5/5 steps done" in output
    assert ": completed" in output
    for step in ("load_data", "split_data", "train_logistic_regression", "train_decision_tree", "evaluate"):
        assert f"{step} " in output
    assert "accuracy of decision_tree" in output and "<- best" in output
    assert "artifacts: 6 in s3://" in output
    assert "destroyed" in output and "removed stack 'sagemaker-stack-demo'" in output

    # Reads well: no tracebacks, no warnings wall.
    assert "Traceback" not in output
    assert sum("warning" in line.lower() for line in output.splitlines()) <= 2, output

    # Nothing left running: the emulator's pid file points at no live process.
    pid_file = REPO / DEMO_STATE / "emulator" / "emulator.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().strip())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
