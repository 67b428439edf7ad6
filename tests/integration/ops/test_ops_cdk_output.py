"""Our cdk commands run beside another cdk command in the same app folder.

The CLI locks its output folder for a whole command (a deploy holds a read lock on it for
minutes): a second command synthesizing into the same `cdk.out` fails with "Other CLIs ... are
currently reading from cdk.out". `up` of two stacks, or a `demo` beside a `deploy`, started from
one repository must both go on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sagemaker_stack.ops.cdk import run_cdk

REPO = Path(__file__).resolve().parents[3]


def test_a_cdk_command_goes_on_while_another_cli_reads_the_app_folders_cdk_out(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    for name in ("app.py", "cdk.json"):
        shutil.copy(REPO / name, app_dir / name)
    # What a running `cdk deploy` of this (live) process leaves in the folder: its read lock.
    busy = app_dir / "cdk.out"
    busy.mkdir()
    (busy / f"read.{os.getpid()}.1.lock").write_text(str(os.getpid()))
    lines: list[str] = []

    run_cdk(["synth", "--quiet"], app_dir=app_dir, env={}, echo=lines.append)  # raises CdkError if refused

    assert sorted(path.name for path in busy.iterdir()) == [f"read.{os.getpid()}.1.lock"]  # left alone
