"""`sagemaker-stack export`: write the StackConfig file from the deployed stack's outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import click

from sagemaker_stack.config import DEFAULT_CONFIG_FILE, ConfigError

#: Used when neither --stack-name nor cdk.json's context says otherwise.
DEFAULT_STACK_NAME: Final = "sagemaker-stack"


def default_stack_name(app_dir: Path | None = None) -> str:
    """The stack name the CDK app in `app_dir` (default: cwd) deploys: cdk.json context `stack_name`."""
    cdk_json = (app_dir or Path.cwd()) / "cdk.json"
    try:
        context = json.loads(cdk_json.read_text()).get("context", {})
    except (OSError, ValueError, AttributeError):
        return DEFAULT_STACK_NAME
    name = context.get("stack_name") if isinstance(context, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_STACK_NAME


@click.command("export")
@click.option(
    "--outputs-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A `cdk deploy -O` outputs file. Without it, the outputs are read from CloudFormation.",
)
@click.option(
    "--stack-name",
    help="The deployed stack's name (default: cdk.json's `stack_name` context, else sagemaker-stack).",
)
@click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], help="AWS region of the stack.")
@click.option(
    "--endpoint-url",
    help="AWS endpoint to use and to record in the config (the local emulator only).",
)
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_FILE,
    show_default=True,
    help="Where to write the StackConfig file (mode 0600).",
)
def export(
    outputs_file: Path | None,
    stack_name: str | None,
    region: str | None,
    endpoint_url: str | None,
    output: Path,
) -> None:
    """Write the StackConfig file from the deployed stack's outputs."""
    from sagemaker_stack import outputs

    try:
        if outputs_file is not None:
            name = stack_name
            if name is None:
                # Prefer the app's own stack when the file holds several; else the only one.
                stacks = outputs.read_outputs_file(outputs_file)
                default = default_stack_name()
                name = default if default in stacks or len(stacks) != 1 else None
            config = outputs.config_from_outputs_file(
                outputs_file, stack_name=name, endpoint_url=endpoint_url
            )
        else:
            if not region:
                raise click.UsageError(
                    "--region is needed to read the stack from CloudFormation "
                    "(or set AWS_REGION, or pass --outputs-file)"
                )
            config = outputs.config_from_cloudformation(
                stack_name or default_stack_name(), region=region, endpoint_url=endpoint_url
            )
        written = config.save(output)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from None
    click.echo(f"Wrote the config of stack {config.stack_name!r} ({config.region}) to {written}")
