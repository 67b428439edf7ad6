"""`sagemaker-stack emulator start|stop|status|env`."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from sagemaker_stack.cli.common import user_errors
from sagemaker_stack.local.process.emulator import DEFAULT_REGION, DEFAULT_STATE_DIR, Emulator, EmulatorError
from sagemaker_stack.local.sagemaker.startup import read_table

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    envvar="SAGEMAKER_STACK_EMULATOR_DIR",
    help="Folder for the emulator's saved state, pid, port, log and step work folders.",
)


@click.group()
def emulator() -> None:
    """Run the embedded local AWS emulator (moto on 127.0.0.1, with a SageMaker Pipelines engine)."""


@emulator.command()
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port on 127.0.0.1 (default: a free one)."
)
@_state_dir_option
@click.option("--region", default=DEFAULT_REGION, show_default=True)
@click.option(
    "--job-startup-seconds",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds every SageMaker job waits (InProgress, Starting) before its container runs, as AWS "
    "provisions instances: a model of AWS's start-up (docs/emulator.md).",
)
@click.option(
    "--job-startup-table",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='A JSON file of start-up seconds by instance type, e.g. {"ml.m5.large": 60, "ml.g5.xlarge": 240}; '
    "types it does not list wait --job-startup-seconds.",
)
def start(
    port: int | None, state_dir: Path, region: str, job_startup_seconds: float, job_startup_table: Path | None
) -> None:
    """Start the emulator in the background and print where it serves."""
    with user_errors():
        table = read_table(job_startup_table) if job_startup_table is not None else None
        server = Emulator(
            state_dir,
            port=port,
            region=region,
            job_startup_seconds=job_startup_seconds,
            job_startup_table=table,
        ).start(exit_with_parent=False)
    server.detach()
    click.echo(f"emulator serving at {server.endpoint_url} (pid {server.pid}, state in {server.state_dir})")
    if server.job_startup.enabled:
        click.echo(f"job start-up: {server.job_startup.describe()} (modeled, see docs/emulator.md)")
    if server.state_notice:
        click.echo(server.state_notice)
    click.echo(
        f'point AWS tools at it with: eval "$(sagemaker-stack emulator env --state-dir {server.state_dir})"'
    )


@emulator.command()
@_state_dir_option
def stop(state_dir: Path) -> None:
    """Stop the emulator, keeping its state (running executions end Failed, builds STOPPED)."""
    try:
        server = Emulator.attach(state_dir)
    except EmulatorError:
        click.echo(f"no emulator is running from {Path(state_dir).resolve()}")
        return
    pid = server.pid
    server.stop()
    click.echo(f"emulator stopped (pid {pid})")


@emulator.command()
@_state_dir_option
def status(state_dir: Path) -> None:
    """Say whether the emulator serves, and where (exit code 1 if it does not)."""
    try:
        server = Emulator.attach(state_dir)
    except EmulatorError as error:
        click.echo(str(error))
        raise SystemExit(1) from None
    click.echo(f"emulator serving at {server.endpoint_url} (pid {server.pid}, state in {server.state_dir})")
    if server.job_startup.enabled:
        click.echo(f"job start-up: {server.job_startup.describe()} (modeled, see docs/emulator.md)")
    try:
        saved = server.state_report()
    except EmulatorError:  # it stopped in between
        saved = {}
    if saved.get("error"):
        click.echo(f"state not saved: {saved['error']}")
    elif saved.get("saved_at"):
        click.echo(f"state saved at {saved['saved_at']}")


@emulator.command()
@_state_dir_option
@click.option(
    "--region", default=None, help="Region to export (default: the one the emulator was started with)."
)
def env(state_dir: Path, region: str | None) -> None:
    """Print `export` lines that point boto3, the AWS CLI and cdk at the emulator."""
    with user_errors():
        server = Emulator.attach(state_dir, region=region)
    # A profile or session token from the real AWS setup would otherwise mix in.
    click.echo("unset AWS_PROFILE AWS_SESSION_TOKEN")
    for name, value in server.env().items():
        click.echo(f"export {name}={shlex.quote(value)}")
