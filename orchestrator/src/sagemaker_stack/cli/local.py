"""`sagemaker-stack local start|stop|status|env|destroy`: the emulator and a ZenML server to stay in."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from sagemaker_stack.cli.common import user_errors
from sagemaker_stack.local.process.emulator import DEFAULT_REGION
from sagemaker_stack.ops.local_env import DEFAULT_STATE_DIR, ENV_STATE_DIR, UNSET, LocalEnvironment

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    envvar=ENV_STATE_DIR,
    help="Folder of the environment: the emulator's and the ZenML server's state, ports and logs "
    "(default: in the platform's data folder, outside your project).",
)
_port = click.IntRange(1, 65535)


@click.group()
def local() -> None:
    """A local environment: the AWS emulator and a ZenML server on 127.0.0.1, in the background."""


@local.command()
@_state_dir_option
@click.option(
    "--port", "emulator_port", type=_port, default=None, help="The emulator's port (default: its last)."
)
@click.option("--zenml-port", type=_port, default=None, help="The ZenML server's port (default: its last).")
@click.option(
    "--region", default=None, help=f"The emulator's region (default: its last, else {DEFAULT_REGION})."
)
@click.option(
    "--job-startup-seconds",
    type=float,
    default=None,
    help="Seconds every SageMaker job waits (InProgress, Starting) before its container runs, as AWS "
    "provisions instances: a model of AWS's start-up (default: its last, else 0: none).",
)
@click.option(
    "--job-startup-table",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='A JSON file of start-up seconds by instance type, e.g. {"ml.m5.large": 60, "ml.g5.xlarge": 240}; '
    "types it does not list wait --job-startup-seconds ({} removes it; default: its last).",
)
def start(
    state_dir: Path,
    emulator_port: int | None,
    zenml_port: int | None,
    region: str | None,
    job_startup_seconds: float | None,
    job_startup_table: Path | None,
) -> None:
    """Start what is not running (idempotent), on the ports it had, and say how to use it."""
    environment = LocalEnvironment(state_dir)
    with user_errors():
        environment.start(
            emulator_port=emulator_port,
            zenml_port=zenml_port,
            region=region,
            job_startup_seconds=job_startup_seconds,
            job_startup_table=job_startup_table,
            echo=click.echo,
        )
        lines = environment.dashboard_lines()
    for line in lines:
        click.echo(line)
    option = environment.state_dir_option()
    click.echo(f'point this shell at it:  eval "$(sagemaker-stack local env{option})"')
    click.echo("then deploy and register:  sagemaker-stack up   (and run any pipeline)")


@local.command()
@_state_dir_option
@click.option("--purge", is_flag=True, help="Also remove all its state (= `local destroy`).")
def stop(state_dir: Path, purge: bool) -> None:
    """Stop the emulator and the ZenML server; all state is kept for the next `start`."""
    environment = LocalEnvironment(state_dir)
    with user_errors():
        if purge:
            environment.destroy(echo=click.echo)
        else:
            environment.stop(echo=click.echo)


@local.command()
@_state_dir_option
def destroy(state_dir: Path) -> None:
    """Stop both and remove the environment's state folder (stacks, runs, artifacts: all of it)."""
    with user_errors():
        LocalEnvironment(state_dir).destroy(echo=click.echo)


@local.command()
@_state_dir_option
def status(state_dir: Path) -> None:
    """Say what runs, where, and whether it answers (exit code 1 unless both answer)."""
    environment = LocalEnvironment(state_dir)
    if not environment.exists():
        click.echo(
            f"no local environment in {environment.state_dir}: `sagemaker-stack local start` makes one"
        )
        raise SystemExit(1)
    click.echo(f"local environment in {environment.state_dir} (region {environment.region})")
    services = environment.services()
    for service in services:
        click.echo(f"  {service.name + ':':<14}{service.describe()}")
    if environment.job_startup.enabled:
        click.echo(
            f"  {'job start-up:':<14}{environment.job_startup.describe()} (modeled, see docs/emulator.md)"
        )
    if not all(service.answers for service in services):
        click.echo("  (state kept: `sagemaker-stack local start` resumes it)")
        raise SystemExit(1)
    with user_errors():
        problems, notes = environment.problems(), environment.notes()
        shell = _shell_problem(environment)
    for line in [*problems, *([shell] if shell else [])]:
        click.echo(f"  problem: {line}")
    for line in notes:
        click.echo(f"  note: {line}")
    for line in environment.dashboard_lines():
        click.echo(f"  {line}")
    if problems or shell:
        raise SystemExit(1)


def _shell_problem(environment: LocalEnvironment) -> str | None:
    """Whether the calling shell (if it points at this environment) pins another stack than `env`."""
    if os.environ.get(ENV_STATE_DIR) != str(environment.state_dir):
        return None
    stack = environment.client_check().stack_id
    if stack and os.environ.get("ZENML_ACTIVE_STACK_ID") != stack:
        option = environment.state_dir_option()
        return (
            f"this shell does not pin the environment's stack {environment.pinned_stack()!r}: "
            f'run `eval "$(sagemaker-stack local env{option})"` again'
        )
    return None


@local.command()
@_state_dir_option
def env(state_dir: Path) -> None:
    """Print the lines for `eval`: boto3, the AWS CLI (v1, v2), cdk and zenml use the environment."""
    environment = LocalEnvironment(state_dir)
    with user_errors():
        variables = environment.env()
        dashboard = environment.dashboard_lines()
    click.echo(f"unset {' '.join(UNSET)}")
    for name, value in variables.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    if "ZENML_ACTIVE_STACK_ID" not in variables:
        click.echo(
            "# no stack is registered yet: after `sagemaker-stack up`, eval this again to pin its stack"
        )
    for line in dashboard:
        click.echo(f"# {line}")
