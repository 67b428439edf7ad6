"""Child processes: the environment they start with, and each line they print as it comes.

The CLI wraps other tools (`cdk`, the example pipeline) whose output a user should see live, not
in one lump at the end, and whose last lines are what an error message needs.

A child meant for another AWS account or endpoint, or another ZenML server, must not inherit the
caller's: `AWS_PROFILE`, `AWS_ENDPOINT_URL` or `ZENML_STORE_URL` would point it elsewhere, and a
variable the caller merely has would be taken over silently. `environment_without` is the one
filter for that, used by the CLI, the tests and the benchmarks alike.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

#: The variables that point a process at an AWS account and endpoint, and at a ZenML server and
#: client configuration.
AWS_AND_ZENML: Final = ("AWS_", "ZENML_")


def environment_without(
    environ: Mapping[str, str], prefixes: tuple[str, ...] = AWS_AND_ZENML
) -> dict[str, str]:
    """A copy of `environ` without the variables whose names start with one of `prefixes`."""
    return {name: value for name, value in environ.items() if not name.startswith(prefixes)}


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
