"""The `sagemaker-stack` command: click only, one module per command group.

Each subcommand is imported lazily, so that `sagemaker-stack --help` stays fast and the `[local]`
extra stays optional; the work itself is in `sagemaker_stack.ops` (and `local` for the emulator).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: subcommand name -> ("module:attribute" of a click command or group, one line of help).
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "export": (
        "sagemaker_stack.cli.export:export",
        "Write the StackConfig file from the deployed stack's outputs.",
    ),
    "emulator": ("sagemaker_stack.cli.emulator:emulator", "Run the embedded local AWS emulator."),
    "local": (
        "sagemaker_stack.cli.local:local",
        "A local environment to stay in: the emulator and a ZenML server, in the background.",
    ),
    "image": (
        "sagemaker_stack.cli.images:image",
        "Build the stack's base image on its CodeBuild project.",
    ),
    "register": ("sagemaker_stack.cli.registration:register", "Register the deployed stack with ZenML."),
    "unregister": (
        "sagemaker_stack.cli.registration:unregister",
        "Remove what `register` made in ZenML.",
    ),
    "up": ("sagemaker_stack.cli.lifecycle:up", "Deploy, export and register in one go."),
    "down": (
        "sagemaker_stack.cli.lifecycle:down",
        "Stop runs (--force), unregister, empty (retain_data=false) and destroy.",
    ),
    "demo": (
        "sagemaker_stack.cli.demo:demo",
        "Run everything locally: emulator, ZenML server, deploy, a pipeline.",
    ),
    "schedules": (
        "sagemaker_stack.cli.schedules:schedules",
        "List or delete the stack's EventBridge schedules, orphans included.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise click.ClickException(
                f"`{cmd_name}` is not available: {error}. Install sagemaker-stack[local] for the emulator."
            ) from None
        command: Any = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(_SUBCOMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
def main() -> None:
    """Deploy, register and run ZenML pipelines on Amazon SageMaker Pipelines."""
