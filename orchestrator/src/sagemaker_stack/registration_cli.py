"""`sagemaker-stack register` and `unregister`: the deployed stack in and out of ZenML."""

from __future__ import annotations

from pathlib import Path

import click

from sagemaker_stack.config import DEFAULT_CONFIG_FILE, ConfigError, StackConfig

_CONFIG_HELP = f"The StackConfig file `sagemaker-stack export` wrote (default: {DEFAULT_CONFIG_FILE})."


@click.command("register")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help=_CONFIG_HELP)
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
def register(
    config_file: Path | None,
    name: str | None,
    activate: bool,
    yaml_file: Path | None,
    server_url: str | None,
) -> None:
    """Register the deployed stack with ZenML (idempotent: running it again changes nothing).

    The steps log in to ZenML with the key of a service account made for this stack (creating one
    needs a ZenML admin). Without admin rights, create a service account yourself and put its API
    key in the SAGEMAKER_STACK_STEPS_API_KEY environment variable (never on the command line).
    """
    _quiet_libraries()
    from sagemaker_stack import registration

    config = _load(config_file)
    try:
        result = registration.register(
            config,
            name=name,
            activate=activate,
            server_url=server_url,
            echo=click.echo,
        )
        if yaml_file is not None:
            written = registration.write_stack_yaml(registration.plan_stack(config, name), yaml_file)
            click.echo(f"Wrote the stack for `zenml stack import` to {written}")
    except registration.RegistrationError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot write {yaml_file}: {error.strerror or error}") from None
    state = "registered" if result.changed else "already registered, nothing changed"
    active = " (active)" if result.activated else " (activate it with --set)"
    click.echo(f"ZenML stack {result.stack_name!r} {state}{active}")


@click.command("unregister")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help=_CONFIG_HELP)
@click.option(
    "--name", help="Name of the ZenML stack to remove (default: the AWS stack's name in the config)."
)
def unregister(config_file: Path | None, name: str | None) -> None:
    """Remove the ZenML stack, components and service account `register` made, and nothing else."""
    _quiet_libraries()
    from sagemaker_stack import registration

    config: StackConfig | None = None
    if config_file is not None or name is None or Path(DEFAULT_CONFIG_FILE).is_file():
        config = _load(config_file)
    stack_name = name or (config.stack_name if config else "")
    try:
        result = registration.unregister(stack_name, config=config, echo=click.echo)
    except registration.RegistrationError as error:
        raise click.ClickException(str(error)) from None
    if not result.removed:
        click.echo(
            f"Nothing of ZenML stack {stack_name!r} was registered by sagemaker-stack; nothing removed"
        )
    else:
        click.echo(f"ZenML stack {stack_name!r} unregistered")


def _quiet_libraries() -> None:
    """Our lines say what happened; ZenML's and botocore's info logs would repeat or bury them."""
    import logging
    import os

    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    logging.getLogger("botocore").setLevel(logging.WARNING)


def _load(config_file: Path | None) -> StackConfig:
    try:
        return StackConfig.load(config_file or DEFAULT_CONFIG_FILE)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
