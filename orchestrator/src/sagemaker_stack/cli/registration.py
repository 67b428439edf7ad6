"""`sagemaker-stack register` and `unregister`: the deployed stack in and out of ZenML."""

from __future__ import annotations

from pathlib import Path

import click

from sagemaker_stack.cli.common import config_option, config_path, load_config, quiet_libraries, user_errors
from sagemaker_stack.config import StackConfig


@click.command("register")
@config_option()
@click.option(
    "--name", help="Name of the ZenML stack (default: the AWS stack's name); components are named after it."
)
@click.option("--set", "activate", is_flag=True, help="Make it the active ZenML stack.")
@click.option(
    "--yaml",
    "yaml_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the stack as a file `zenml stack import` accepts.",
)
@click.option(
    "--server-url",
    help="ZenML server URL the pipeline steps use (default: the server this client is logged in to).",
)
@click.option(
    "--connector",
    help="A ZenML AWS service connector to link to the orchestrator, step operator and image builder: "
    "their AWS calls then use its credentials (default: boto3's default chain, or links made before).",
)
def register(
    config_file: Path | None,
    name: str | None,
    activate: bool,
    yaml_file: Path | None,
    server_url: str | None,
    connector: str | None,
) -> None:
    """Register the deployed stack with ZenML (idempotent: running it again changes nothing).

    The steps log in to ZenML with the key of a service account made for this stack (creating one
    needs a ZenML admin). Without admin rights, create a service account yourself and put its API
    key in the SAGEMAKER_STACK_STEPS_API_KEY environment variable (never on the command line).
    """
    quiet_libraries()
    from sagemaker_stack.ops.registration import plan, store

    config = load_config(config_file)
    with user_errors(config):
        result = store.register(
            config, name=name, activate=activate, server_url=server_url, echo=click.echo, connector=connector
        )
        if yaml_file is not None:
            written = plan.write_stack_yaml(plan.plan_stack(config, name), yaml_file)
            click.echo(f"Wrote the stack for `zenml stack import` to {written}")
    state = "registered" if result.changed else "already registered, nothing changed"
    active = " (active)" if result.activated else " (activate it with --set)"
    click.echo(f"ZenML stack {result.stack_name!r} {state}{active}")


@click.command("unregister")
@config_option()
@click.option(
    "--name", help="Name of the ZenML stack to remove (default: the AWS stack's name in the config)."
)
def unregister(config_file: Path | None, name: str | None) -> None:
    """Remove the ZenML stack, components and service account `register` made, and nothing else."""
    quiet_libraries()
    from sagemaker_stack.ops.registration import store

    config: StackConfig | None = None
    if config_file is not None or name is None or config_path(None).is_file():
        with user_errors():  # not load_config: unregistering needs no AWS (the secret is best effort)
            config = StackConfig.load(config_path(config_file))
    stack_name = name or (config.stack_name if config else "")
    with user_errors(config):
        result = store.unregister(stack_name, config=config, echo=click.echo)
    if not result.removed:
        click.echo(
            f"Nothing of ZenML stack {stack_name!r} was registered by sagemaker-stack; nothing removed"
        )
    else:
        click.echo(f"ZenML stack {stack_name!r} unregistered")
