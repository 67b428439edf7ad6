"""`sagemaker-stack export`: write the StackConfig file from the deployed stack's outputs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sagemaker_stack.cli.common import user_errors
from sagemaker_stack.config import DEFAULT_CONFIG_FILE


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
@click.option(
    "--construct",
    help="Which sagemaker-stack construct of the stack, by its id or resource prefix (needed only "
    "when the stack holds several; see docs/stack.md, 'Use it in your own CDK app').",
)
@click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], help="AWS region of the stack.")
@click.option(
    "--endpoint-url",
    default=lambda: os.environ.get("AWS_ENDPOINT_URL"),
    help="The emulator the stack is in, recorded in the config for every later command "
    "(default: $AWS_ENDPOINT_URL, as `up` and `down`; none means AWS).",
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
    construct: str | None,
    region: str | None,
    endpoint_url: str | None,
    output: Path,
) -> None:
    """Write the StackConfig file from the deployed stack's outputs."""
    from sagemaker_stack.ops import outputs
    from sagemaker_stack.ops.cdk import default_stack_name
    from sagemaker_stack.ops.reachability import require_endpoint

    if outputs_file is None and not region:
        raise click.UsageError(
            "--region is needed to read the stack from CloudFormation "
            "(or set AWS_REGION, or pass --outputs-file)"
        )
    with user_errors():
        if outputs_file is not None:
            name = stack_name
            if name is None:
                # Prefer the app's own stack when the file holds several; else the only one.
                stacks = outputs.read_outputs_file(outputs_file)
                default = default_stack_name()
                name = default if default in stacks or len(stacks) != 1 else None
            config = outputs.config_from_outputs_file(
                outputs_file, stack_name=name, endpoint_url=endpoint_url, construct=construct
            )
        else:
            assert region is not None
            require_endpoint(endpoint_url)
            config = outputs.config_from_cloudformation(
                stack_name or default_stack_name(),
                region=region,
                endpoint_url=endpoint_url,
                construct=construct,
            )
        written = outputs.keep_local_fields(config, output).save(output)
    click.echo(f"Wrote the config of stack {config.stack_name!r} ({config.region}) to {written}")
