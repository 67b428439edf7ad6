"""`sagemaker-stack up` and `sagemaker-stack down`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sagemaker_stack.cli.common import (
    app_dir_option,
    config_option,
    config_path,
    quiet_libraries,
    user_errors,
)

_NAME = click.option("--name", "zenml_stack_name", help="ZenML stack name (default: the CDK stack name).")


def _context(pairs: tuple[str, ...]) -> dict[str, str]:
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="-c/--context")
        context[key] = value
    return context


@click.command()
@app_dir_option()
@config_option("The StackConfig file to write (default: sagemaker-stack.json).")
@_NAME
@click.option(
    "--stack-name", default=None, help="CloudFormation stack name (default: cdk.json's stack_name)."
)
@click.option(
    "-c", "--context", "context_pairs", multiple=True, help="CDK context key=value (see docs/stack.md)."
)
@click.option(
    "--endpoint-url",
    default=lambda: os.environ.get("AWS_ENDPOINT_URL"),
    help="Deploy to the emulator at this URL (default: $AWS_ENDPOINT_URL; none means AWS).",
)
@click.option("--region", default=lambda: os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION")))
@click.option(
    "--local",
    is_flag=True,
    help="Deploy to the local environment and register with its ZenML server (`sagemaker-stack "
    "local`; $SAGEMAKER_STACK_LOCAL_DIR, else its default folder; started if not running). "
    "Chosen by itself when no AWS credentials are configured.",
)
@click.option("--set/--no-set", "activate", default=True, show_default=True, help="Make it the active stack.")
def up(
    app_dir: Path,
    config_file: Path | None,
    zenml_stack_name: str | None,
    stack_name: str | None,
    context_pairs: tuple[str, ...],
    endpoint_url: str | None,
    region: str | None,
    local: bool,
    activate: bool,
) -> None:
    """Deploy the stack, export its config and register it with ZenML."""
    quiet_libraries()
    from sagemaker_stack.ops import lifecycle
    from sagemaker_stack.ops.cdk import default_stack_name
    from sagemaker_stack.ops.target import Target, aws_credentials_available, emulator_target

    context = _context(context_pairs)
    with user_errors():
        if endpoint_url and not local:
            target = emulator_target(endpoint_url, region or "us-east-1")
        elif not local and aws_credentials_available():
            if not region:
                raise click.ClickException("no AWS region configured: pass --region or set AWS_REGION")
            target = Target(region=region)
        else:
            if not local:
                click.echo("No AWS credentials configured: deploying to the local environment instead.")
            endpoint_url, region = _local_environment(app_dir, region)
            target = emulator_target(endpoint_url, region)
        lifecycle.up(
            target,
            app_dir=app_dir,
            context=context,
            config_path=config_path(config_file),
            stack_name=stack_name or default_stack_name(app_dir),
            zenml_stack_name=zenml_stack_name,
            activate=activate,
            echo=click.echo,
        )


@click.command()
@app_dir_option()
@config_option("The StackConfig file to read (default: sagemaker-stack.json).")
@_NAME
@click.option(
    "--force",
    is_flag=True,
    help="Go on while runs of this stack are executing: stop them first (their ZenML runs end stopped).",
)
@click.option(
    "--stack-name",
    default=None,
    help="Without a config file: the CloudFormation stack to take down (default: cdk.json's stack_name).",
)
@click.option(
    "--endpoint-url",
    default=lambda: os.environ.get("AWS_ENDPOINT_URL"),
    help="Without a config file: the emulator the stack is in (default: $AWS_ENDPOINT_URL; none means AWS).",
)
@click.option("--region", default=lambda: os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION")))
def down(
    app_dir: Path,
    config_file: Path | None,
    zenml_stack_name: str | None,
    force: bool,
    stack_name: str | None,
    endpoint_url: str | None,
    region: str | None,
) -> None:
    """Stop runs (--force), unregister from ZenML, delete schedules and pipelines, empty
    (retain_data=false) and destroy the stack."""
    quiet_libraries()
    from sagemaker_stack.ops import lifecycle
    from sagemaker_stack.ops.target import Target, emulator_target

    with user_errors():
        target = None
        if endpoint_url:
            target = emulator_target(endpoint_url, region or "us-east-1")
        elif region:
            target = Target(region=region)
        lifecycle.down(
            config_path(config_file),
            app_dir=app_dir,
            force=force,
            zenml_stack_name=zenml_stack_name,
            echo=click.echo,
            stack_name=stack_name,
            target=target,
        )


def _local_environment(app_dir: Path, region: str | None) -> tuple[str, str]:
    """Start the local environment if need be and point this process at it, as `local env` would.

    The registration that follows then reaches its ZenML server (the client folder logged in as
    its admin), exactly as after `eval "$(sagemaker-stack local env)"`.
    """
    from sagemaker_stack.ops.local_env import DEFAULT_STATE_DIR, LocalEnvironment

    environment = LocalEnvironment.from_environment(app_dir / DEFAULT_STATE_DIR)
    environment.start(region=region, echo=lambda line: click.echo(f"    {line}"))
    env = environment.activate_in_process()
    click.echo(
        f'Using the local environment in {environment.state_dir} (`eval "$(sagemaker-stack local env)"`).'
    )
    return env["AWS_ENDPOINT_URL"], env["AWS_REGION"]
