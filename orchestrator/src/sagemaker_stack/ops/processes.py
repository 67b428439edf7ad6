"""Run a child process and hand each line it prints to a callback as it comes.

The CLI wraps other tools (`cdk`, the example pipeline) whose output a user should see live, not
in one lump at the end, and whose last lines are what an error message needs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path


def stream(command: list[str], *, cwd: Path, env: Mapping[str, str], on_line: Callable[[str], None]) -> int:
    """Run `command` (stdout and stderr merged, no stdin); returns its exit code."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            on_line(line.rstrip())
        return process.wait()
