"""`sagemaker-stack demo`: the whole product on this machine (or, with --aws, on AWS)."""

from __future__ import annotations

from pathlib import Path

import click

from sagemaker_stack.cli.common import app_dir_option, user_errors


def _echo(line: str, heading: bool) -> None:
    click.secho(line, bold=heading)


@click.command()
@app_dir_option("Folder with cdk.json, app.py and examples/ (the repository root).")
@click.option(
    "--keep",
    is_flag=True,
    help="Leave it all running to explore: a local environment (it prints how to reach it).",
)
@click.option(
    "--down",
    is_flag=True,
    help="Tear a kept demo down: stack, registration, emulator, server and state.",
)
@click.option("--aws", "on_aws", is_flag=True, help="Target AWS (your credentials and ZenML server) instead.")
def demo(app_dir: Path, keep: bool, down: bool, on_aws: bool) -> None:
    """Run the whole product: emulator, ZenML server, cdk deploy, a real pipeline, teardown."""
    from sagemaker_stack.ops import demo as demo_ops

    if down and (keep or on_aws):
        raise click.UsageError("--down tears down the kept local demo: use it alone")
    with user_errors():
        if down:
            demo_ops.run_demo_down(app_dir, _echo)
        elif on_aws:
            demo_ops.run_demo_on_aws(app_dir, keep, _echo)
        else:
            demo_ops.run_demo(app_dir, keep, _echo)
